//! `/api/v1/recordings`: a resident's own recordings, their playback (with byte ranges, so
//! players can seek) and their deletion.

use std::ops::Range;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, Auth};
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

/// What a `Range` header asks of a representation of `size` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAsk {
    /// No usable `Range`: send everything (200).
    Whole,
    /// One satisfiable range: send it (206).
    Part(Range<u64>),
    /// A range that lies past the end: 416.
    Unsatisfiable,
}

/// Reads a `Range` header (RFC 9110 §14.2) against `size` bytes. Only a single `bytes` range
/// is served; several ranges, another unit, or a malformed header are ignored (the whole
/// representation is sent), as the RFC allows.
pub fn parse_range(value: Option<&HeaderValue>, size: u64) -> RangeAsk {
    let Some(spec) = value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return RangeAsk::Whole;
    };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAsk::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            None => RangeAsk::Whole,
            // A suffix of nothing, or of an empty representation, selects no byte.
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if size == 0 => RangeAsk::Unsatisfiable,
            Some(n) => RangeAsk::Part(size.saturating_sub(n)..size),
        },
        (start, end) => {
            let Some(start) = number(start) else {
                return RangeAsk::Whole;
            };
            let end = if end.is_empty() {
                None
            } else {
                match number(end) {
                    Some(e) if e >= start => Some(e),
                    _ => return RangeAsk::Whole,
                }
            };
            if start >= size {
                return RangeAsk::Unsatisfiable;
            }
            let end = end.map_or(size, |e| e.saturating_add(1).min(size));
            RangeAsk::Part(start..end)
        }
    }
}

/// Answers a byte-range-capable `GET` of `size` bytes of `content_type`: 200 with everything,
/// 206 with one range, or 416 with `Content-Range: bytes */size`. `open` gives the bytes of a
/// range as a body stream.
pub fn ranged_response(
    headers: &HeaderMap,
    size: u64,
    content_type: &str,
    open: impl FnOnce(Range<u64>) -> Body,
) -> Response {
    let ask = parse_range(headers.get(header::RANGE), size);
    let (status, range) = match ask {
        RangeAsk::Whole => (StatusCode::OK, 0..size),
        RangeAsk::Part(r) => (StatusCode::PARTIAL_CONTENT, r),
        RangeAsk::Unsatisfiable => {
            let mut r = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the range asked for lies outside the {size} bytes there are"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r.headers_mut()
                .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return r;
        }
    };
    let len = range.end - range.start;
    let content_range = (status == StatusCode::PARTIAL_CONTENT).then(|| {
        format!(
            "bytes {}-{}/{size}",
            range.start,
            range.end.saturating_sub(1)
        )
    });
    let mut r = Response::new(open(range));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(v) = content_range.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_RANGE, v);
    }
    r
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
) -> Result<Response, ApiError> {
    let (record, bytes) = state.app.recording_content(&who, &id).await?;
    Ok(ranged_response(
        &headers,
        record.size,
        &record.content_type,
        |range| Body::from_stream(bytes.stream(range)),
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(v: &str, size: u64) -> RangeAsk {
        parse_range(Some(&HeaderValue::from_str(v).unwrap()), size)
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range(None, 10), RangeAsk::Whole);
        assert_eq!(ask("bytes=0-4", 10), RangeAsk::Part(0..5));
        assert_eq!(ask("bytes=5-", 10), RangeAsk::Part(5..10));
        assert_eq!(ask("bytes=5-100", 10), RangeAsk::Part(5..10));
        assert_eq!(ask("bytes=-3", 10), RangeAsk::Part(7..10));
        assert_eq!(ask("bytes=-30", 10), RangeAsk::Part(0..10));
        assert_eq!(ask("bytes=9-9", 10), RangeAsk::Part(9..10));
        assert_eq!(ask("bytes=10-", 10), RangeAsk::Unsatisfiable);
        assert_eq!(ask("bytes=10-20", 10), RangeAsk::Unsatisfiable);
        assert_eq!(ask("bytes=-0", 10), RangeAsk::Unsatisfiable);
        // Ignored: several ranges, other units, nonsense, a reversed range.
        assert_eq!(ask("bytes=0-1,3-4", 10), RangeAsk::Whole);
        assert_eq!(ask("items=0-1", 10), RangeAsk::Whole);
        assert_eq!(ask("bytes=a-b", 10), RangeAsk::Whole);
        assert_eq!(ask("bytes=5-2", 10), RangeAsk::Whole);
        assert_eq!(ask("bytes=-", 10), RangeAsk::Whole);
    }
}
