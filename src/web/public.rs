//! Share links: `/r/{public_id}` (a page) and `/api/v1/public/requests/{public_id}` (JSON),
//! for anyone with the link. They show the request and how to reach the investigator, and
//! nothing about who else saw it or commented.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiPath;
use super::pages::{self, Layout, PageError};
use crate::domain::request::{Contact, is_open};
use crate::store::RequestRecord;

/// A shared request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicRequest {
    /// The share id.
    pub public_id: String,
    /// The request's id (for commenting when signed in).
    pub id: String,
    /// Always "Community Request".
    pub label: &'static str,
    /// The agency that asks.
    pub agency_name: String,
    /// The incident type.
    pub incident_type: String,
    /// The details.
    pub details: String,
    /// Start of the footage wanted.
    pub footage_start: DateTime<Utc>,
    /// End of the footage wanted.
    pub footage_end: DateTime<Utc>,
    /// Who to contact.
    pub investigator: Contact,
    /// `tel:` link for the investigator.
    pub tel_link: String,
    /// `mailto:` link for the investigator.
    pub mailto_link: String,
    /// GeoJSON Polygon.
    #[schema(value_type = Object)]
    pub area: serde_json::Value,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Clips are accepted until then.
    pub response_deadline: Option<DateTime<Utc>>,
    /// Whether clips are still accepted.
    pub open_for_responses: bool,
}

fn tel_link(phone: &str) -> String {
    let digits: String = phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    format!("tel:{digits}")
}

fn public_view(r: RequestRecord, public_id: String, now: DateTime<Utc>) -> PublicRequest {
    let c = r.content;
    PublicRequest {
        public_id,
        id: r.id,
        label: "Community Request",
        agency_name: r.agency_name,
        incident_type: c.incident_type,
        details: c.details,
        footage_start: c.footage_start,
        footage_end: c.footage_end,
        tel_link: tel_link(&c.contact_phone),
        mailto_link: format!("mailto:{}", c.contact_email),
        investigator: Contact {
            name: c.contact_name,
            phone: c.contact_phone,
            email: c.contact_email,
        },
        area: c.area,
        published_at: r.published_at,
        open_for_responses: r.response_deadline.is_some_and(|d| is_open(d, now)),
        response_deadline: r.response_deadline,
    }
}

/// An error for a page route: a page for a browser, our JSON error shape for anyone else (API
/// clients and tests that read `error.code`).
fn page_error(e: impl Into<ApiError>, headers: &HeaderMap) -> Response {
    let e: ApiError = e.into();
    if pages::render::wants_html(headers) {
        PageError::from(e).into_response()
    } else {
        e.into_response()
    }
}

#[derive(Serialize)]
struct UnsubscribeView<'a> {
    token: &'a str,
}

/// One-click unsubscribe (RFC 8058): turns the resident's community-request emails off.
#[utoipa::path(post, path = "/api/v1/unsubscribe/{token}", tag = "public", params(("token" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = ErrorBody)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(token): ApiPath<String>,
) -> Response {
    if let Err(e) = state.app.unsubscribe_email(&token).await {
        return page_error(e, &headers);
    }
    let layout = Layout::public(&state, &headers, "Unsubscribed", "");
    pages::render(
        "unsubscribed.html",
        &layout,
        UnsubscribeView { token: &token },
    )
    .into_response()
}

/// The unsubscribe page: a GET changes nothing (mail scanners follow links), its button does.
/// A link this server did not issue answers 404 here already, not only after the button.
#[utoipa::path(get, path = "/api/v1/unsubscribe/{token}", tag = "public", params(("token" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = ErrorBody)))]
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(token): ApiPath<String>,
) -> Response {
    if let Err(e) = state.app.unsubscribe_target(&token).await {
        return page_error(e, &headers);
    }
    let layout = Layout::public(&state, &headers, "Unsubscribe", "");
    pages::render(
        "unsubscribe.html",
        &layout,
        UnsubscribeView { token: &token },
    )
    .into_response()
}

/// A published request by its share link.
#[utoipa::path(get, path = "/api/v1/public/requests/{public_id}", tag = "public", params(("public_id" = String, Path)),
    responses((status = 200, body = PublicRequest), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(public_id): ApiPath<String>,
) -> Result<axum::Json<PublicRequest>, ApiError> {
    let record = state.app.shared_request(&public_id).await?;
    Ok(axum::Json(public_view(record, public_id, state.app.now())))
}

#[derive(Serialize)]
struct SharePage {
    request: PublicRequest,
    /// The area as GeoJSON text, for the map script (a `data-` attribute).
    area_json: String,
    /// The link to copy.
    share_url: String,
}

/// The share page: the request, its area on a map, and `tel:` and `mailto:` links to the
/// investigator. Public: it does not look the session up, so it shows everyone the same and
/// records nothing about who opened it. Only the session cookie's presence adds a button,
/// "Open in Canvass", to `GET /r/{public_id}/open` (the resident pages), which does look it up.
#[utoipa::path(get, path = "/r/{public_id}", tag = "public", params(("public_id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = ErrorBody)))]
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(public_id): ApiPath<String>,
) -> Response {
    let record = match state.app.shared_request(&public_id).await {
        Ok(r) => r,
        Err(e) => return page_error(e, &headers),
    };
    let share_url = format!("{}/r/{public_id}", state.app.settings.public_url);
    let v = public_view(record, public_id, state.app.now());
    let title = format!(
        "{}: Community Request from {}",
        pages::render::humanize(&v.incident_type),
        v.agency_name
    );
    let layout = Layout::public(&state, &headers, &title, "");
    let view = SharePage {
        area_json: v.area.to_string(),
        share_url,
        request: v,
    };
    pages::render("share.html", &layout, view).into_response()
}
