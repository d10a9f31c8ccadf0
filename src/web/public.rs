//! Share links: `/r/{public_id}` (a page) and `/api/v1/public/requests/{public_id}` (JSON),
//! for anyone with the link. They show the request and how to reach the investigator, and
//! nothing about who else saw it or commented.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiPath;
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

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One-click unsubscribe (RFC 8058): turns the resident's community-request emails off.
#[utoipa::path(post, path = "/api/v1/unsubscribe/{token}", tag = "public", params(("token" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = ErrorBody)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, ApiError> {
    state.app.unsubscribe_email(&token).await?;
    Ok(html_page(
        "Unsubscribed",
        "<p>You will get no more emails about Community Requests. You can turn them back on in your settings.</p>",
    ))
}

/// The unsubscribe page: a GET changes nothing (mail scanners follow links), its button does.
/// A link this server did not issue answers 404 here already, not only after the button.
#[utoipa::path(get, path = "/api/v1/unsubscribe/{token}", tag = "public", params(("token" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = ErrorBody)))]
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, ApiError> {
    state.app.unsubscribe_target(&token).await?;
    let body = format!(
        "<p>Stop emails about Community Requests?</p>\n<form method=\"post\" action=\"/api/v1/unsubscribe/{}\">         <button type=\"submit\">Unsubscribe</button></form>",
        escape_html(&token)
    );
    Ok(html_page("Unsubscribe", &body))
}

fn html_page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title></head>\n<body>\n<main>\n{body}\n</main>\n</body></html>\n",
        escape_html(title)
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
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

/// The share page: the request, and `tel:` and `mailto:` links to the investigator.
#[utoipa::path(get, path = "/r/{public_id}", tag = "public", params(("public_id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = ErrorBody)))]
pub async fn page(
    State(state): State<AppState>,
    ApiPath(public_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let record = state.app.shared_request(&public_id).await?;
    let v = public_view(record, public_id, state.app.now());
    let status = if v.open_for_responses {
        format!(
            "Open for shared footage until {}.",
            v.response_deadline
                .map(|d| d.format("%B %-d, %Y").to_string())
                .unwrap_or_default()
        )
    } else {
        "Closed: no new footage is accepted, but you can still contact the investigator.".to_owned()
    };
    let e = escape_html;
    let body = format!(
        "<p><strong>Community Request</strong> from {agency}</p>\n<h1>{incident}</h1>\n\
         <p>Footage wanted from {start} to {end} (UTC).</p>\n<p>{details}</p>\n<p>{status}</p>\n\
         <h2>Contact the investigator</h2>\n<p>{name}<br>\
         <a href=\"{tel}\">{phone}</a><br><a href=\"{mailto}\">{email}</a></p>",
        agency = e(&v.agency_name),
        incident = e(&v.incident_type.replace('_', " ")),
        start = v.footage_start.format("%Y-%m-%d %H:%M"),
        end = v.footage_end.format("%Y-%m-%d %H:%M"),
        details = e(&v.details),
        status = e(&status),
        name = e(&v.investigator.name),
        tel = e(&v.tel_link),
        phone = e(&v.investigator.phone),
        mailto = e(&v.mailto_link),
        email = e(&v.investigator.email),
    );
    Ok(html_page(
        &format!("Community Request from {}", v.agency_name),
        &body,
    ))
}
