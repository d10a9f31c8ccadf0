//! `/api/v1/recordings`: a resident's own recordings, their playback (with byte ranges, so
//! players can seek) and their deletion.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, Auth};
use super::ranges::{bytes_error, bytes_response};
use crate::store::RecordingRecord;

/// One of your recordings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordingView {
    /// Its id (the id of the upload it came from).
    pub id: String,
    /// The camera it is from.
    pub device_id: String,
    /// The camera's name.
    pub device_name: String,
    /// SHA-256 of the bytes (lowercase hex), computed as they arrived.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type, from the container (`video/mp4`, `video/webm`, …).
    pub content_type: String,
    /// The file name the camera or browser gave, if any (display only).
    pub filename: Option<String>,
    /// When the recording starts, as the upload said.
    pub started_at: DateTime<Utc>,
    /// When it ends, as the upload said.
    pub ended_at: DateTime<Utc>,
    /// The duration in the file's own header (MP4/QuickTime), when it has one.
    pub duration_ms: Option<u64>,
    /// The creation time in the file's own header (MP4/QuickTime), when it has one.
    pub media_created_at: Option<DateTime<Utc>>,
    /// When the upload finished.
    pub created_at: DateTime<Utc>,
}

impl From<&RecordingRecord> for RecordingView {
    fn from(r: &RecordingRecord) -> Self {
        Self {
            id: r.id.clone(),
            device_id: r.device_id.clone(),
            device_name: r.device_name.clone(),
            sha256: r.sha256.clone(),
            size: r.size,
            content_type: r.content_type.clone(),
            filename: r.filename.clone(),
            started_at: r.started_at,
            ended_at: r.ended_at,
            duration_ms: r.duration_ms,
            media_created_at: r.media_created_at,
            created_at: r.created_at,
        }
    }
}

/// Your recordings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordingList {
    /// Newest first (by when they start).
    pub items: Vec<RecordingView>,
}

/// Your recordings, newest first.
#[utoipa::path(get, path = "/api/v1/recordings", tag = "residents",
    responses((status = 200, body = RecordingList), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<axum::Json<RecordingList>, ApiError> {
    let items = state.app.recordings(&who).await?;
    Ok(axum::Json(RecordingList {
        items: items.iter().map(RecordingView::from).collect(),
    }))
}

/// One of your recordings.
#[utoipa::path(get, path = "/api/v1/recordings/{id}", tag = "residents", params(("id" = String, Path)),
    responses((status = 200, body = RecordingView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<RecordingView>, ApiError> {
    Ok(axum::Json(RecordingView::from(
        &state.app.recording(&who, &id).await?,
    )))
}

/// Plays one of your recordings back: the bytes, whole or one `Range` (206; 416 when it lies
/// past the end).
#[utoipa::path(get, path = "/api/v1/recordings/{id}/content", tag = "residents",
    params(("id" = String, Path), ("Range" = Option<String>, Header, description = "One byte range, `bytes=start-end`")),
    responses((status = 200, description = "The whole recording", content_type = "video/*", body = Vec<u8>),
        (status = 206, description = "The range asked for", content_type = "video/*", body = Vec<u8>),
        (status = 404, body = ErrorBody), (status = 416, body = ErrorBody, description = "range_not_satisfiable")))]
pub async fn content(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Response {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let content = match state.app.recording_content(&who, &id, range).await {
        Ok(c) => c,
        Err(e) => return bytes_error(e),
    };
    bytes_response(
        &content.record.content_type,
        content.record.size,
        content.range,
        Body::from_stream(content.body),
    )
}

/// Deletes one of your recordings and its bytes. Clips already shared from it stay with the
/// agency: they are a separate copy.
#[utoipa::path(delete, path = "/api/v1/recordings/{id}", tag = "residents", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_recording(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
