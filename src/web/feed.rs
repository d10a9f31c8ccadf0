//! A resident's feed, settings and push registration.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Auth};
use super::requests::RequestView;
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

/// Published requests whose area holds your home, newest first. Reading it records nothing.
#[utoipa::path(get, path = "/api/v1/feed", tag = "residents", params(FeedQuery),
    responses((status = 200, body = FeedView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody, description = "invalid_cursor")))]
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> Result<axum::Json<FeedView>, ApiError> {
    let page = state.app.feed(&who, q.cursor.as_deref()).await?;
    let now = state.app.now();
    Ok(axum::Json(FeedView {
        items: page
            .items
            .into_iter()
            .map(|d| RequestView::new(d, now))
            .collect(),
        next_cursor: page.next_cursor,
    }))
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
