//! `GET /api/v1/requests/{id}/export`: a request's evidence as one ZIP, verifiable offline
//! with `canvass verify-export`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery, Auth};

/// Why the evidence is exported.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Why, in at most 500 characters; it goes into each clip's chain of custody
    /// (default "evidence export").
    pub reason: Option<String>,
}

/// A request's evidence as a ZIP (the request's agency only; anyone else gets 404 as if the
/// request did not exist). The ZIP holds each clip at `clips/<evidence_id>.<ext>` and, last,
/// `manifest.json`: every clip's SHA-256, size, camera, submitter (name, home address, email)
/// and chain of custody, and the request exactly as published in the transparency log with its
/// inclusion proof, the signed checkpoint and the log's key. Check it offline with
/// `canvass verify-export FILE.zip --key KEY`.
///
/// Each clip is hashed again as it is streamed; if one no longer matches the hash taken on
/// receipt, the download is cut off (it never completes with a wrong clip) and the clip's chain
/// of custody records an `integrity_checked` event with outcome `mismatch`. When every clip
/// matches, each gets an `exported` custody event (who, from where, why), which the manifest
/// includes. A request that was never published has no log entry to prove it by: 409
/// `request_not_published`. One instance streams at most `max_concurrent_exports` exports at
/// once (4 by default); past that, 429 `too_many_exports` with `Retry-After`.
#[utoipa::path(get, path = "/api/v1/requests/{id}/export", tag = "evidence",
    params(("id" = String, Path), ExportQuery),
    responses(
        (status = 200, description = "The ZIP, streamed (stored entries, ZIP64)", content_type = "application/zip",
            headers(("Content-Disposition" = String, description = "attachment; filename=\"canvass-evidence-<public_id>.zip\""))),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such request, or not your agency's"),
        (status = 409, body = ErrorBody, description = "request_not_published"),
        (status = 422, body = ErrorBody, description = "invalid_input (the reason)"),
        (status = 429, body = ErrorBody, description = "too_many_exports (Retry-After says when to try again)")))]
pub async fn export(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let export = state
        .app
        .export_request(&who, &id, q.reason.as_deref())
        .await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    // The file name is built from an id filtered to [A-Za-z0-9_-], so it is always a valid
    // header value; the fallback only keeps this path free of panics.
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.file_name))
            .unwrap_or(HeaderValue::from_static("attachment"));
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    Ok((StatusCode::OK, headers, Body::from_stream(export.body)).into_response())
}
