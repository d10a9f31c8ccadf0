//! A resident's feed, settings and push registration.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Auth};
use super::requests::RequestView;
use crate::app::AppError;
use crate::app::residents::FeedItem;
use crate::domain::request::is_open;
use crate::store::ResidentSettings;

/// Paging through the feed.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// One page of the feed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedView {
    /// Published requests whose area holds your home, newest first.
    pub items: Vec<RequestView>,
    /// Pass as `cursor` for the next page; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// How a resident hears about requests.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Community Requests at all: off empties the feed and stops every notification.
    pub community_requests: bool,
    /// Web Push notifications.
    pub push: bool,
    /// Email notifications.
    pub email: bool,
}

impl From<ResidentSettings> for SettingsBody {
    fn from(s: ResidentSettings) -> Self {
        Self {
            community_requests: s.community_requests,
            push: s.push,
            email: s.email,
        }
    }
}

/// A registered browser.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PushRegistration {
    /// The subscription's id.
    pub id: String,
}

/// Feed items as JSON, by request id, without the two fields that can change (the agency's
/// name and whether it is still open): a published request never changes, so its item is
/// rendered once and each read writes only those two fields.
pub type RenderedItems = quick_cache::sync::Cache<String, Arc<str>>;

/// How many rendered items [`RenderedItems`] keeps (a few KB each).
pub const RENDERED_ITEMS: usize = 4_096;

/// An item as `RequestView` renders it for a resident, less `agency_name` and
/// `open_for_responses`: a JSON object's text.
fn render_item(item: &FeedItem, now: DateTime<Utc>) -> Result<Arc<str>, ApiError> {
    let view = RequestView::new(item.detail(), now);
    let mut value = serde_json::to_value(view).map_err(internal)?;
    let fields = value
        .as_object_mut()
        .ok_or_else(|| internal("a request does not render as an object"))?;
    fields.remove("agency_name");
    fields.remove("open_for_responses");
    Ok(Arc::from(serde_json::to_string(&value).map_err(internal)?))
}

/// A failure to render: through the one error mapping, which logs it and answers 500.
fn internal(e: impl std::fmt::Display) -> ApiError {
    AppError::Internal(anyhow::anyhow!("feed item: {e}")).into()
}

/// Published requests whose area holds your home, newest first. Reading it records nothing.
#[utoipa::path(get, path = "/api/v1/feed", tag = "residents", params(FeedQuery),
    responses((status = 200, body = FeedView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody, description = "invalid_cursor")))]
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> Result<Response, ApiError> {
    let page = state.app.feed(&who, q.cursor.as_deref()).await?;
    let now = state.app.now();
    // A `FeedView`, written from the rendered items.
    let mut body = String::with_capacity(2048 * page.items.len() + 256);
    body.push_str("{\"items\":[");
    for (i, item) in page.items.iter().enumerate() {
        let rest = state
            .feed_items
            .get_or_insert_with(item.request.id.as_str(), || render_item(item, now))?;
        let open = item
            .request
            .response_deadline
            .is_some_and(|deadline| is_open(deadline, now));
        if i > 0 {
            body.push(',');
        }
        body.push_str("{\"agency_name\":");
        body.push_str(&serde_json::to_string(&item.agency_name).map_err(internal)?);
        body.push_str(",\"open_for_responses\":");
        body.push_str(if open { "true" } else { "false" });
        // The rendered object without its opening brace; it always has other fields.
        body.push(',');
        body.push_str(rest.get(1..).unwrap_or_default());
    }
    body.push(']');
    if let Some(cursor) = &page.next_cursor {
        body.push_str(",\"next_cursor\":");
        body.push_str(&serde_json::to_string(cursor).map_err(internal)?);
    }
    body.push('}');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Your notification settings.
#[utoipa::path(get, path = "/api/v1/me/settings", tag = "residents",
    responses((status = 200, body = SettingsBody), (status = 403, body = ErrorBody)))]
pub async fn get_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<axum::Json<SettingsBody>, ApiError> {
    Ok(axum::Json(state.app.settings(&who).await?.into()))
}

/// Changes your settings. Turning something off also cancels what is queued for you.
#[utoipa::path(put, path = "/api/v1/me/settings", tag = "residents", request_body = SettingsBody,
    responses((status = 200, body = SettingsBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(body): ApiJson<SettingsBody>,
) -> Result<axum::Json<SettingsBody>, ApiError> {
    let s = ResidentSettings {
        community_requests: body.community_requests,
        push: body.push,
        email: body.email,
    };
    Ok(axum::Json(state.app.update_settings(&who, s).await?.into()))
}

/// The key a browser subscribes with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PushKey {
    /// The VAPID public key (65-byte uncompressed P-256 point, base64url): the
    /// `applicationServerKey` for `pushManager.subscribe`.
    pub public_key: String,
}

/// The Web Push (VAPID) public key browsers subscribe with.
#[utoipa::path(get, path = "/api/v1/push/key", tag = "residents", responses((status = 200, body = PushKey)))]
pub async fn push_key(State(state): State<AppState>) -> axum::Json<PushKey> {
    axum::Json(PushKey {
        public_key: state.push_public_key.as_str().to_owned(),
    })
}

/// Registers this browser for Web Push (the browser's PushSubscription JSON).
#[utoipa::path(post, path = "/api/v1/me/push-subscriptions", tag = "residents", request_body = Object,
    responses((status = 201, body = PushRegistration), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody, description = "invalid_subscription")))]
pub async fn add_push_subscription(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<(StatusCode, axum::Json<PushRegistration>), ApiError> {
    let id = state.app.add_push_subscription(&who, &body).await?;
    Ok((StatusCode::CREATED, axum::Json(PushRegistration { id })))
}
