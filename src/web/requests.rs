//! `/api/v1/requests`: community requests, as the agency, platform staff and residents see them.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::app::requests::{Audience, RequestDetail};
use crate::domain::request::{Contact, Draft, Suspect, is_open};
use crate::store::RequestEvent;

/// A community request as an investigator writes it. Every field is checked, and one 422
/// `invalid_request` lists every problem by field.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// One of the incident types (package_theft, vehicle_break_in, …).
    pub incident_type: Option<String>,
    /// What happened and what footage would help; at most 2,000 characters.
    pub details: Option<String>,
    /// Start of the footage wanted (RFC 3339 with a zone).
    pub footage_start: Option<String>,
    /// End of the footage wanted; 15 minutes to 12 hours after the start, in the past.
    pub footage_end: Option<String>,
    /// Who residents contact.
    pub investigator: Option<Contact>,
    /// GeoJSON Polygon inside the agency's jurisdiction, 0.025 to 0.5 square miles.
    #[schema(value_type = Object)]
    pub area: Option<serde_json::Value>,
    /// The agency's case number, unique within the agency.
    pub investigation_code: Option<String>,
    /// An ongoing threat to physical safety (lifts the victim-privacy guideline).
    #[serde(default)]
    pub ongoing_threat: bool,
    /// Suspects; general descriptors need at least two distinctive features.
    #[serde(default)]
    pub suspects: Vec<Suspect>,
}

impl From<RequestBody> for Draft {
    fn from(b: RequestBody) -> Self {
        // Missing fields become empty ones, so the domain reports them with the rest.
        Draft {
            incident_type: b.incident_type.unwrap_or_default(),
            details: b.details.unwrap_or_default(),
            footage_start: b.footage_start.unwrap_or_default(),
            footage_end: b.footage_end.unwrap_or_default(),
            investigator: b.investigator.unwrap_or(Contact {
                name: String::new(),
                phone: String::new(),
                email: String::new(),
            }),
            area: b.area.unwrap_or(serde_json::Value::Null),
            investigation_code: b.investigation_code.unwrap_or_default(),
            ongoing_threat: b.ongoing_threat,
            suspects: b.suspects,
        }
    }
}

/// A moderation decision as the agency sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModerationView {
    /// `approved` or `rejected`.
    pub decision: String,
    /// Guideline codes.
    pub reasons: Vec<String>,
    /// The moderator's note.
    pub note: Option<String>,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// A community request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    /// Its id.
    pub id: String,
    /// Always "Community Request": how the post is labelled to residents.
    pub label: &'static str,
    /// The agency that asks.
    pub agency_id: String,
    /// The agency's name.
    pub agency_name: String,
    /// `pending_review`, `rejected`, `withdrawn` or `published`.
    pub status: String,
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
    /// GeoJSON Polygon.
    #[schema(value_type = Object)]
    pub area: serde_json::Value,
    /// The area's geodesic size in square miles.
    pub area_sq_mi: f64,
    /// The agency's case number.
    pub investigation_code: String,
    /// An ongoing threat to physical safety.
    pub ongoing_threat: bool,
    /// Suspects.
    #[schema(value_type = Vec<Object>)]
    pub suspects: serde_json::Value,
    /// When it was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// Clips are accepted until then (60 days after publication).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_deadline: Option<DateTime<Utc>>,
    /// Whether clips are still accepted (published requests only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_for_responses: Option<bool>,
    /// The share link's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_id: Option<String>,
    /// Its leaf in the transparency log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<i64>,
    /// 1, plus one per revision (agency and staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// The automated pre-screen's findings (agency and staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub findings: Option<serde_json::Value>,
    /// The latest moderation decision (agency and staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<ModerationView>,
    /// When it was submitted (agency and staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

impl RequestView {
    /// Renders what the audience may see.
    pub fn new(d: RequestDetail, now: DateTime<Utc>) -> Self {
        let r = d.record;
        let c = r.content;
        let inside = d.audience != Audience::Resident;
        Self {
            id: r.id,
            label: "Community Request",
            agency_id: r.agency_id,
            agency_name: r.agency_name,
            open_for_responses: r.response_deadline.map(|deadline| is_open(deadline, now)),
            status: r.status,
            incident_type: c.incident_type,
            details: c.details,
            footage_start: c.footage_start,
            footage_end: c.footage_end,
            investigator: Contact {
                name: c.contact_name,
                phone: c.contact_phone,
                email: c.contact_email,
            },
            area: c.area,
            area_sq_mi: c.area_sq_mi,
            investigation_code: c.investigation_code,
            ongoing_threat: c.ongoing_threat,
            suspects: c.suspects,
            published_at: r.published_at,
            response_deadline: r.response_deadline,
            public_id: r.public_id,
            log_index: r.log_index,
            revision: inside.then_some(r.revision),
            findings: inside.then_some(r.findings),
            moderation: d.decision.filter(|_| inside).map(|e| ModerationView {
                decision: e.kind,
                reasons: e.reasons,
                note: e.note,
                decided_at: e.at,
            }),
            created_at: inside.then_some(r.created_at),
        }
    }
}

/// One entry of a request's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (an account id).
    pub actor_id: String,
    /// `submitted`, `revised`, `approved`, `rejected` or `withdrawn`.
    pub kind: String,
    /// The revision it concerns.
    pub revision: i64,
    /// Guideline codes, for decisions.
    pub reasons: Vec<String>,
    /// The moderator's note, for decisions.
    pub note: Option<String>,
    /// The content as submitted or revised.
    #[schema(value_type = Option<Object>)]
    pub snapshot: Option<serde_json::Value>,
}

impl From<RequestEvent> for HistoryEntry {
    fn from(e: RequestEvent) -> Self {
        Self {
            at: e.at,
            actor_id: e.actor_id,
            kind: e.kind,
            revision: e.revision,
            reasons: e.reasons,
            note: e.note,
            snapshot: e.snapshot,
        }
    }
}

/// Creates a community request (investigators of a verified agency with an evidence account).
/// It waits for a moderator; the answer carries the automated findings.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = RequestBody,
    responses((status = 201, body = RequestView), (status = 403, body = ErrorBody, description = "forbidden, agency_not_verified or evidence_account_required"),
        (status = 409, body = ErrorBody, description = "duplicate_investigation_code"),
        (status = 422, body = ErrorBody, description = "invalid_request, outside_jurisdiction or suspect_description_too_general")))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<(StatusCode, axum::Json<RequestView>), ApiError> {
    let detail = state.app.create_request(&who, body.into()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(RequestView::new(detail, state.app.now())),
    ))
}

/// Requests: the caller's agency's, or all of them for moderators and admins; newest first.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests",
    responses((status = 200, body = Vec<RequestView>), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<axum::Json<Vec<RequestView>>, ApiError> {
    let now = state.app.now();
    let list = state.app.list_requests(&who).await?;
    Ok(axum::Json(
        list.into_iter().map(|d| RequestView::new(d, now)).collect(),
    ))
}

/// How a resident reached a request.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ViaQuery {
    /// The share link's id, for a resident who arrived by it.
    pub via: Option<String>,
}

/// One request: for its agency, platform staff, residents whose home is in its area, and
/// residents who arrived by its share link (`?via=PUBLIC_ID`).
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", params(("id" = String, Path), ViaQuery),
    responses((status = 200, body = RequestView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ViaQuery>,
) -> Result<axum::Json<RequestView>, ApiError> {
    let detail = state
        .app
        .request_detail(&who, &id, q.via.as_deref())
        .await?;
    Ok(axum::Json(RequestView::new(detail, state.app.now())))
}

/// Revises a pending or rejected request and sends it back to moderation. Once published:
/// 409 `request_immutable`, for everyone.
#[utoipa::path(put, path = "/api/v1/requests/{id}", tag = "requests", params(("id" = String, Path)), request_body = RequestBody,
    responses((status = 200, body = RequestView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "request_immutable or request_withdrawn"), (status = 422, body = ErrorBody)))]
pub async fn revise(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<axum::Json<RequestView>, ApiError> {
    let detail = state.app.revise_request(&who, &id, body.into()).await?;
    Ok(axum::Json(RequestView::new(detail, state.app.now())))
}

/// Withdraws a request before publication. Once published: 409 `request_immutable`.
#[utoipa::path(delete, path = "/api/v1/requests/{id}", tag = "requests", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.app.withdraw_request(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every submission, revision, decision and withdrawal of a request (agency and staff).
#[utoipa::path(get, path = "/api/v1/requests/{id}/history", tag = "requests", params(("id" = String, Path)),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<Vec<HistoryEntry>>, ApiError> {
    let events = state.app.request_history(&who, &id).await?;
    Ok(axum::Json(events.into_iter().map(Into::into).collect()))
}
