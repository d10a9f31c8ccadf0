//! Sharing and evidence: "Choose videos to share" (`/requests/{id}/shareable-recordings`),
//! submissions (`/requests/{id}/submissions`, `/me/submissions`), and the agency's evidence
//! (`/evidence/{id}`, its bytes and its chain of custody).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::ranges::{bytes_error, bytes_response};
use crate::app::evidence::{
    ContentRequest, CustodyLog, EvidenceContent, EvidenceDetail, Receipt, Shareable, ShareableList,
    SubmissionDetail,
};
use crate::domain::custody::CustodyEvent;
use crate::domain::evidence::download_filename;
use crate::domain::request::is_open;
use crate::store::{EvidenceRecord, SubmissionRecord};

/// How a resident reached the request.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ViaQuery {
    /// The share link's id, for a resident who arrived by it.
    pub via: Option<String>,
}

/// One of the resident's recordings that may answer the request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShareableRecordingView {
    /// The recording's id.
    pub id: String,
    /// The camera's id.
    pub device_id: String,
    /// The camera's name.
    pub device_name: String,
    /// When recording started.
    pub started_at: DateTime<Utc>,
    /// When recording ended.
    pub ended_at: DateTime<Utc>,
    /// Length in milliseconds, when known.
    pub duration_ms: Option<i64>,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// MIME type.
    pub content_type: String,
    /// The name it was uploaded under.
    pub filename: Option<String>,
    /// Already shared with this request; it cannot be shared again.
    pub already_shared: bool,
}

impl From<Shareable> for ShareableRecordingView {
    fn from(s: Shareable) -> Self {
        let r = s.recording;
        Self {
            id: r.id,
            device_id: r.device_id,
            device_name: r.device_name,
            started_at: r.started_at,
            ended_at: r.ended_at,
            duration_ms: r.duration_ms.and_then(|d| i64::try_from(d).ok()),
            size: r.size,
            sha256: r.sha256,
            content_type: r.content_type,
            filename: r.filename,
            already_shared: s.already_shared,
        }
    }
}

/// "Choose videos to share": what the resident may share with one request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShareableView {
    /// The request.
    pub request_id: String,
    /// The agency that asks.
    pub agency_name: String,
    /// Start of the footage wanted.
    pub footage_start: DateTime<Utc>,
    /// End of the footage wanted.
    pub footage_end: DateTime<Utc>,
    /// Videos are accepted until then.
    pub response_window_closes_at: Option<DateTime<Utc>>,
    /// Whether videos are still accepted.
    pub open_for_responses: bool,
    /// What sharing sends and to whom, in plain words; sharing means accepting it.
    pub consent_notice: String,
    /// The resident's own recordings that overlap the timeframe, from their cameras inside the
    /// area, oldest first.
    pub recordings: Vec<ShareableRecordingView>,
}

/// Videos to share with a request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionBody {
    /// 1 to 20 ids of your own recordings, each listed once.
    #[schema(value_type = Vec<String>)]
    pub recording_ids: Option<Value>,
    /// Must be `true`: you accept the consent notice (your name, home address and email go to
    /// the investigator with the videos; the agency keeps a copy).
    #[schema(value_type = bool)]
    pub consent: Option<Value>,
}

/// One shared clip, as its sharer sees it right after sharing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SharedItemView {
    /// The agency's evidence id.
    pub evidence_id: String,
    /// The recording it was copied from.
    pub recording_id: String,
    /// Hex SHA-256 of the bytes received.
    pub sha256: String,
    /// Bytes received.
    pub size: u64,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// A submission, as its sharer sees it right after sharing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubmissionCreated {
    /// The submission's id.
    pub id: String,
    /// The request answered.
    pub request_id: String,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// The clips.
    pub items: Vec<SharedItemView>,
    /// Keep this: it lets you check later that what the agency holds is what you sent.
    pub receipt: Receipt,
}

/// One event of a chain of custody, exactly as hashed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustodyEventView {
    /// The evidence item.
    pub evidence_id: String,
    /// Position in the chain: 0, 1, 2, …
    pub seq: u64,
    /// `received`, `hash_verified`, `viewed`, `downloaded`, `exported` or `integrity_checked`.
    pub kind: String,
    /// The account that acted; absent for the system.
    pub actor_id: Option<String>,
    /// Who, in words.
    pub actor: String,
    /// When (RFC 3339, microseconds, as hashed).
    pub at: String,
    /// Where the action came from.
    pub source_ip: Option<String>,
    /// Why.
    pub reason: String,
    /// Specifics (hash, size, range, outcome).
    #[schema(value_type = Object)]
    pub detail: Value,
    /// Hex SHA-256 of the previous event (for the first, of the chain's anchor).
    pub prev_hash: String,
    /// Hex SHA-256 of this event.
    pub hash: String,
}

impl From<CustodyEvent> for CustodyEventView {
    fn from(e: CustodyEvent) -> Self {
        Self {
            evidence_id: e.evidence_id,
            seq: e.seq,
            kind: e.kind.as_str().to_owned(),
            actor_id: e.actor_id,
            actor: e.actor,
            at: e.at,
            source_ip: e.source_ip,
            reason: e.reason,
            detail: e.detail,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// The request a resident's submission answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubmittedToView {
    /// The request's id.
    pub id: String,
    /// Its public id (share link).
    pub public_id: Option<String>,
    /// The agency's name.
    pub agency_name: String,
    /// The incident type.
    pub incident_type: String,
}

/// One clip a resident shared, with its custody events that the resident may see.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyItemView {
    /// The agency's evidence id.
    pub evidence_id: String,
    /// The recording it was copied from (it may since have been deleted).
    pub recording_id: String,
    /// Hex SHA-256 of the bytes received.
    pub sha256: String,
    /// Bytes received.
    pub size: u64,
    /// MIME type.
    pub content_type: String,
    /// The name it was uploaded under.
    pub filename: Option<String>,
    /// When recording started.
    pub started_at: DateTime<Utc>,
    /// When recording ended.
    pub ended_at: DateTime<Utc>,
    /// When the agency received it.
    pub received_at: DateTime<Utc>,
    /// Its receipt in the chain of custody (`received` events only).
    pub custody: Vec<CustodyEventView>,
}

/// What a resident shared with one request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MySubmissionView {
    /// The submission's id.
    pub id: String,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// The request answered.
    pub request: SubmittedToView,
    /// The clips.
    pub items: Vec<MyItemView>,
    /// The receipt.
    pub receipt: Receipt,
}

impl From<SubmissionDetail> for MySubmissionView {
    fn from(d: SubmissionDetail) -> Self {
        let receipt = d.receipt();
        Self {
            id: d.submission.id,
            created_at: d.submission.created_at,
            request: SubmittedToView {
                id: d.request.id,
                public_id: d.request.public_id,
                agency_name: d.request.agency_name,
                incident_type: d.request.content.incident_type,
            },
            items: d
                .items
                .into_iter()
                .map(|(i, events)| MyItemView {
                    evidence_id: i.id,
                    recording_id: i.recording_id,
                    sha256: i.sha256,
                    size: i.size,
                    content_type: i.content_type,
                    filename: i.filename,
                    started_at: i.started_at,
                    ended_at: i.ended_at,
                    received_at: i.created_at,
                    custody: events.into_iter().map(Into::into).collect(),
                })
                .collect(),
            receipt,
        }
    }
}

/// Who shared, as they were when they shared.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubmitterView {
    /// Their display name.
    pub display_name: String,
    /// Their home address.
    pub home_address: String,
    /// Their email.
    pub email: String,
}

impl From<&SubmissionRecord> for SubmitterView {
    fn from(s: &SubmissionRecord) -> Self {
        Self {
            display_name: s.display_name.clone(),
            home_address: s.home_address.clone(),
            email: s.email.clone(),
        }
    }
}

/// The camera a clip came from, as it was when shared.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    /// Its name.
    pub name: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// A clip, as the agency sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EvidenceItemView {
    /// The evidence id.
    pub evidence_id: String,
    /// Hex SHA-256 of the bytes, verified on receipt.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    /// MIME type.
    pub content_type: String,
    /// The name it was uploaded under.
    pub filename: Option<String>,
    /// When recording started.
    pub started_at: DateTime<Utc>,
    /// When recording ended.
    pub ended_at: DateTime<Utc>,
    /// Length in milliseconds, when known.
    pub duration_ms: Option<i64>,
    /// The creation time the file states, when it states one.
    pub media_created_at: Option<DateTime<Utc>>,
    /// The camera.
    pub device: DeviceView,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

impl From<EvidenceRecord> for EvidenceItemView {
    fn from(i: EvidenceRecord) -> Self {
        Self {
            evidence_id: i.id,
            sha256: i.sha256,
            size: i.size,
            content_type: i.content_type,
            filename: i.filename,
            started_at: i.started_at,
            ended_at: i.ended_at,
            duration_ms: i.duration_ms,
            media_created_at: i.media_created_at,
            device: DeviceView {
                name: i.device_name,
                lat: i.device_lat,
                lon: i.device_lon,
            },
            received_at: i.created_at,
        }
    }
}

/// One submission, as the agency sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgencySubmissionView {
    /// The submission's id.
    pub id: String,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// Who shared, as they were then.
    pub submitter: SubmitterView,
    /// The clips.
    pub items: Vec<EvidenceItemView>,
}

/// One clip with where it came from, for the agency.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EvidenceView {
    /// The clip.
    #[serde(flatten)]
    pub item: EvidenceItemView,
    /// The recording it was copied from (it may since have been deleted).
    pub recording_id: String,
    /// The request it answers.
    pub request_id: String,
    /// The request's public id.
    pub request_public_id: Option<String>,
    /// The agency's case number.
    pub investigation_code: String,
    /// The submission it came in.
    pub submission_id: String,
    /// Who shared, as they were then.
    pub submitter: SubmitterView,
    /// The notice the resident accepted, word for word.
    pub consent_text: String,
}

impl From<EvidenceDetail> for EvidenceView {
    fn from(d: EvidenceDetail) -> Self {
        Self {
            recording_id: d.item.recording_id.clone(),
            request_id: d.item.request_id.clone(),
            request_public_id: d.request.public_id,
            investigation_code: d.request.content.investigation_code,
            submission_id: d.submission.id.clone(),
            submitter: (&d.submission).into(),
            consent_text: d.submission.consent_text,
            item: d.item.into(),
        }
    }
}

/// A clip's chain of custody.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustodyView {
    /// The clip.
    pub evidence_id: String,
    /// Whether every event links to the one before and hashes to its `hash`.
    pub chain_valid: bool,
    /// Where the chain breaks, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_error: Option<String>,
    /// The events, in order.
    pub events: Vec<CustodyEventView>,
}

impl From<CustodyLog> for CustodyView {
    fn from(c: CustodyLog) -> Self {
        Self {
            evidence_id: c.evidence_id,
            chain_valid: c.verified.is_ok(),
            chain_error: c.verified.err().map(|e| e.to_string()),
            events: c.events.into_iter().map(Into::into).collect(),
        }
    }
}

/// Playback or download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Play in the page (the default).
    Inline,
    /// Save as a file.
    Attachment,
}

/// How an investigator opens a clip.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContentQuery {
    /// `attachment` to download (recorded as `downloaded`); otherwise playback (`viewed`).
    pub disposition: Option<Disposition>,
    /// Why, in at most 500 characters; it goes into the chain of custody.
    pub reason: Option<String>,
}

/// "Choose videos to share" (residents): your own recordings that overlap the request's
/// timeframe, from your cameras inside its area, with the consent notice to accept.
#[utoipa::path(get, path = "/api/v1/requests/{id}/shareable-recordings", tag = "evidence", params(("id" = String, Path), ViaQuery),
    responses((status = 200, body = ShareableView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn shareable(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ViaQuery>,
) -> Result<axum::Json<ShareableView>, ApiError> {
    let ShareableList {
        request,
        consent_notice,
        recordings,
    } = state
        .app
        .shareable_recordings(&who, &id, q.via.as_deref())
        .await?;
    let now = state.app.now();
    Ok(axum::Json(ShareableView {
        request_id: request.id,
        agency_name: request.agency_name,
        footage_start: request.content.footage_start,
        footage_end: request.content.footage_end,
        response_window_closes_at: request.response_deadline,
        open_for_responses: request.response_deadline.is_some_and(|d| is_open(d, now)),
        consent_notice,
        recordings: recordings.into_iter().map(Into::into).collect(),
    }))
}

/// Shares recordings with a request (residents). The agency receives a verified copy of each
/// clip with your name, home address and email. Checked in this order: the request (404), its
/// response window (410 `response_window_closed`), consent (422 `consent_required`), the
/// selection (422 `invalid_input`), ownership (404), eligibility (422
/// `recording_not_eligible`), and earlier shares (409 `already_shared`).
#[utoipa::path(post, path = "/api/v1/requests/{id}/submissions", tag = "evidence", params(("id" = String, Path), ViaQuery),
    request_body = SubmissionBody,
    responses((status = 201, body = SubmissionCreated), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "already_shared"),
        (status = 410, body = ErrorBody, description = "response_window_closed"),
        (status = 422, body = ErrorBody, description = "consent_required, invalid_input or recording_not_eligible")))]
pub async fn create_submission(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ViaQuery>,
    ApiJson(body): ApiJson<SubmissionBody>,
) -> Result<(StatusCode, axum::Json<SubmissionCreated>), ApiError> {
    let detail = state
        .app
        .share_recordings(
            &who,
            &id,
            q.via.as_deref(),
            body.recording_ids.as_ref(),
            body.consent.as_ref(),
        )
        .await?;
    let receipt = detail.receipt();
    Ok((
        StatusCode::CREATED,
        axum::Json(SubmissionCreated {
            id: detail.submission.id,
            request_id: detail.request.id,
            created_at: detail.submission.created_at,
            items: detail
                .items
                .into_iter()
                .map(|(i, _)| SharedItemView {
                    evidence_id: i.id,
                    recording_id: i.recording_id,
                    sha256: i.sha256,
                    size: i.size,
                    received_at: i.created_at,
                })
                .collect(),
            receipt,
        }),
    ))
}

/// A request's submissions (its agency only): each with the submitter's name, home address and
/// email as they were when they shared, and the clips.
#[utoipa::path(get, path = "/api/v1/requests/{id}/submissions", tag = "evidence", params(("id" = String, Path)),
    responses((status = 200, body = Vec<AgencySubmissionView>), (status = 404, body = ErrorBody)))]
pub async fn list_submissions(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<Vec<AgencySubmissionView>>, ApiError> {
    let list = state.app.request_submissions(&who, &id).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|d| AgencySubmissionView {
                id: d.submission.id.clone(),
                created_at: d.submission.created_at,
                submitter: (&d.submission).into(),
                items: d.items.into_iter().map(|(i, _)| i.into()).collect(),
            })
            .collect(),
    ))
}

/// What you shared (residents), newest first: the request, the clips with their hashes, the
/// `received` custody events, and your receipts.
#[utoipa::path(get, path = "/api/v1/me/submissions", tag = "evidence",
    responses((status = 200, body = Vec<MySubmissionView>), (status = 403, body = ErrorBody)))]
pub async fn my_submissions(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<axum::Json<Vec<MySubmissionView>>, ApiError> {
    let list = state.app.my_submissions(&who).await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}

/// One clip's details (the request's agency only): the request, the submission and the
/// submitter as they were when they shared. Reading details adds no custody event (the same
/// details are in the submissions list); opening the bytes (`/content`) does.
#[utoipa::path(get, path = "/api/v1/evidence/{id}", tag = "evidence", params(("id" = String, Path)),
    responses((status = 200, body = EvidenceView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<EvidenceView>, ApiError> {
    Ok(axum::Json(state.app.evidence(&who, &id).await?.into()))
}

/// A clip's bytes (the request's agency only), streamed. One `Range` answers 206; a range past
/// the end answers 416 `range_not_satisfiable`. Each access is a custody event with who, from
/// where and why: `downloaded` with `?disposition=attachment` (every time), else `viewed` (once
/// per account and clip in 10 minutes, since a video element plays through many range
/// requests).
#[utoipa::path(get, path = "/api/v1/evidence/{id}/content", tag = "evidence", params(("id" = String, Path), ContentQuery),
    responses((status = 200, description = "the whole clip", content_type = "application/octet-stream"),
        (status = 206, description = "one range of the clip", content_type = "application/octet-stream"),
        (status = 404, body = ErrorBody), (status = 416, body = ErrorBody, description = "range_not_satisfiable"),
        (status = 422, body = ErrorBody, description = "invalid_input (the reason)")))]
pub async fn content(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ContentQuery>,
    headers: HeaderMap,
) -> Response {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let download = q.disposition == Some(Disposition::Attachment);
    let answer = state
        .app
        .evidence_content(
            &who,
            &id,
            ContentRequest {
                range,
                download,
                reason: q.reason.as_deref(),
            },
        )
        .await;
    let EvidenceContent { item, range, body } = match answer {
        Ok(c) => c,
        Err(e) => return bytes_error(e),
    };
    let mut response = bytes_response(
        &item.content_type,
        item.size,
        range,
        Body::from_stream(body),
    );
    if download {
        let name = download_filename(&item.id, item.filename.as_deref(), &item.content_type);
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, v);
        }
    }
    response
}

/// A clip's chain of custody (the request's agency only), with whether it verifies.
#[utoipa::path(get, path = "/api/v1/evidence/{id}/custody", tag = "evidence", params(("id" = String, Path)),
    responses((status = 200, body = CustodyView), (status = 404, body = ErrorBody)))]
pub async fn custody(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<CustodyView>, ApiError> {
    Ok(axum::Json(state.app.custody(&who, &id).await?.into()))
}
