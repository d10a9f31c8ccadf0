//! `/api/v1/uploads`: the tus 1.0.0 resumable upload protocol (core, creation,
//! creation-with-upload, termination, checksum, expiration), so tus-js-client, Uppy and cameras
//! with any tus client can send recordings and resume after a dropped connection.
//!
//! Every answer carries `Tus-Resumable: 1.0.0`; errors keep the API's JSON error shape. A
//! request without `Tus-Resumable: 1.0.0` (except `OPTIONS`) answers 412 with `Tus-Version`.
//! Callers authenticate with a camera's upload token (`Authorization: Bearer cvd_…`) or a
//! resident's session.

use axum::body::Body;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, Auth, ClientIp};
use crate::app::uploads::{UploadStatus, Uploader};
use crate::app::{App, AppError};
use crate::domain::device;
use crate::domain::tus::{self, Checksum, TusError};

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const TUS_VERSION: HeaderName = HeaderName::from_static("tus-version");
const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
const TUS_CHECKSUM_ALGORITHM: HeaderName = HeaderName::from_static("tus-checksum-algorithm");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
const UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");
/// Our extension: the recording an upload became, on the answer that finished it.
pub const RECORDING_ID: HeaderName = HeaderName::from_static("canvass-recording-id");

/// The caller of a tus request: a camera by its upload token, or a signed-in resident (bearer
/// or cookie; a cookie needs the same CSRF check as everywhere else).
#[derive(Debug, Clone)]
pub struct UploadAuth(pub Uploader);

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

impl FromRequestParts<AppState> for UploadAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(parts).filter(|t| device::is_device_token(t)) {
            let token = token.to_owned();
            let ip = ClientIp::from_request_parts(parts, state).await?;
            return Ok(UploadAuth(
                state.app.authenticate_device(&token, ip.text()).await?,
            ));
        }
        let Auth(who) = Auth::from_request_parts(parts, state).await?;
        Ok(UploadAuth(state.app.uploader(who).await?))
    }
}

/// Adds `Tus-Resumable` to every answer, and `Tus-Version` to a 412.
fn tus(result: Result<Response, ApiError>) -> Response {
    let mut r = result.unwrap_or_else(IntoResponse::into_response);
    let h = r.headers_mut();
    h.insert(TUS_RESUMABLE, HeaderValue::from_static(tus::TUS_VERSION));
    if r.status() == StatusCode::PRECONDITION_FAILED {
        r.headers_mut()
            .insert(TUS_VERSION, HeaderValue::from_static(tus::TUS_VERSION));
    }
    r
}

fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

impl From<TusError> for ApiError {
    fn from(e: TusError) -> Self {
        let code = match e {
            TusError::BadNumber { .. } => "invalid_header",
            TusError::BadChecksum(_) => "invalid_checksum",
            TusError::UnsupportedChecksumAlgorithm(_) => "checksum_algorithm_unsupported",
        };
        bad_request(code, e.to_string())
    }
}

/// Refuses a request that does not speak tus 1.0.0.
fn check_version(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(&TUS_RESUMABLE).map(HeaderValue::as_bytes) {
        Some(v) if v == tus::TUS_VERSION.as_bytes() => Ok(()),
        other => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "tus_version_unsupported",
            format!(
                "this server speaks tus {v}: send `Tus-Resumable: {v}` (got {})",
                other.map_or("none".to_owned(), |b| format!(
                    "{:?}",
                    String::from_utf8_lossy(b)
                )),
                v = tus::TUS_VERSION
            ),
        )),
    }
}

fn text<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| bad_request("invalid_header", format!("{name} is not ASCII text")))
        })
        .transpose()
}

fn is_offset_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(tus::OFFSET_OCTET_STREAM))
}

fn checksum(headers: &HeaderMap) -> Result<Option<Checksum>, ApiError> {
    Ok(text(headers, &UPLOAD_CHECKSUM)?
        .map(tus::parse_checksum)
        .transpose()?)
}

fn http_date(t: chrono::DateTime<chrono::Utc>) -> Option<HeaderValue> {
    HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::from(t))).ok()
}

fn number(n: u64) -> HeaderValue {
    HeaderValue::from(n)
}

/// `Upload-Offset`, `Upload-Expires` (while unfinished) and `Canvass-Recording-Id` (once
/// finished).
fn put_status(h: &mut HeaderMap, s: &UploadStatus) {
    h.insert(UPLOAD_OFFSET, number(s.offset));
    if let Some(v) = s.expires_at.and_then(http_date) {
        h.insert(UPLOAD_EXPIRES, v);
    }
    if let Some(v) = s
        .recording_id
        .as_deref()
        .and_then(|id| HeaderValue::from_str(id).ok())
    {
        h.insert(RECORDING_ID, v);
    }
}

/// Runs an append in its own task, so the bytes that arrived are committed even when the
/// client goes away and the server drops this request's future mid-body.
async fn append(
    app: &App,
    who: &Uploader,
    id: &str,
    offset: u64,
    checksum: Option<Checksum>,
    body: Body,
) -> Result<UploadStatus, AppError> {
    let (app, who, id) = (app.clone(), who.clone(), id.to_owned());
    let stream = body.into_data_stream();
    let task =
        tokio::spawn(async move { app.append_upload(&who, &id, offset, checksum, stream).await });
    task.await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("upload task failed: {e}")))?
}

/// What this server supports (tus discovery). No authentication.
#[utoipa::path(options, path = "/api/v1/uploads", tag = "uploads",
    responses((status = 204, description = "Supported protocol, extensions and limits", headers(
        ("Tus-Resumable" = String, description = "1.0.0"),
        ("Tus-Version" = String, description = "1.0.0"),
        ("Tus-Extension" = String, description = "creation,creation-with-upload,termination,checksum,expiration"),
        ("Tus-Max-Size" = u64, description = "The largest upload accepted, in bytes"),
        ("Tus-Checksum-Algorithm" = String, description = "sha1,sha256")))))]
pub async fn options(State(state): State<AppState>) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert(TUS_VERSION, HeaderValue::from_static(tus::TUS_VERSION));
    h.insert(TUS_EXTENSION, HeaderValue::from_static(tus::TUS_EXTENSIONS));
    h.insert(TUS_MAX_SIZE, number(state.app.settings.max_upload_bytes));
    h.insert(
        TUS_CHECKSUM_ALGORITHM,
        HeaderValue::from_static(tus::CHECKSUM_ALGORITHMS),
    );
    tus(Ok(r))
}

/// Creates an upload (tus creation). `Upload-Length` is required (deferred length is not
/// supported); `Upload-Metadata` holds `device_id` (optional with a camera's token),
/// `started_at` and `ended_at` (RFC 3339), and optionally `filename`, each base64-encoded.
/// With `Content-Type: application/offset+octet-stream` the body is the upload's first bytes
/// (creation-with-upload), handled like a `PATCH` at offset 0; when they complete the file,
/// the answer carries `Canvass-Recording-Id`.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads",
    params(
        ("Tus-Resumable" = String, Header, description = "1.0.0"),
        ("Upload-Length" = u64, Header, description = "The file's size in bytes"),
        ("Upload-Metadata" = String, Header, description = "Comma-separated `key base64value` pairs: device_id, started_at, ended_at, filename"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha1|sha256 base64digest` of the body, with creation-with-upload")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream", description = "Optional: the first bytes (creation-with-upload)"),
    responses(
        (status = 201, description = "Created", headers(
            ("Location" = String, description = "/api/v1/uploads/{id}"),
            ("Upload-Offset" = u64, description = "Bytes received so far"),
            ("Upload-Expires" = String, description = "When the unfinished upload is removed (HTTP date)"),
            ("Canvass-Recording-Id" = String, description = "When the body completed the upload: the recording's id"))),
        (status = 400, body = ErrorBody, description = "A header is missing or malformed, or Upload-Defer-Length was sent"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Unknown camera"),
        (status = 412, body = ErrorBody, description = "Tus-Resumable is not 1.0.0"),
        (status = 413, body = ErrorBody, description = "upload_too_large"),
        (status = 415, body = ErrorBody, description = "An empty file, or a complete file that is not a video"),
        (status = 422, body = ErrorBody, description = "The metadata breaks a rule"),
        (status = 460, body = ErrorBody, description = "checksum_mismatch")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Result<UploadAuth, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    tus(create_inner(&state, auth, &headers, body).await)
}

async fn create_inner(
    state: &AppState,
    auth: Result<UploadAuth, ApiError>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_version(headers)?;
    let UploadAuth(who) = auth?;
    if headers.contains_key(&UPLOAD_DEFER_LENGTH) {
        return Err(bad_request(
            "deferred_length_unsupported",
            "Upload-Defer-Length is not supported: send Upload-Length with the file's size",
        ));
    }
    let length = text(headers, &UPLOAD_LENGTH)?.ok_or_else(|| {
        bad_request(
            "invalid_header",
            "Upload-Length is required: the file's size in bytes",
        )
    })?;
    let length = tus::parse_size("Upload-Length", length)?;
    let metadata = text(headers, &UPLOAD_METADATA)?;
    let with_body = is_offset_stream(headers);
    let checksum = if with_body { checksum(headers)? } else { None };
    let created = state.app.create_upload(&who, length, metadata).await?;
    let location = format!("/api/v1/uploads/{}", created.id);
    let mut status = created;
    if with_body {
        match append(&state.app, &who, &status.id, 0, checksum, body).await {
            Ok(s) => status = s,
            Err(AppError::UnsupportedMedia(m)) => return Err(AppError::UnsupportedMedia(m).into()),
            Err(e) => {
                // The upload exists: say where, so the client can resume it.
                let mut r = ApiError::from(e).into_response();
                if let Ok(v) = HeaderValue::from_str(&location) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                put_status(r.headers_mut(), &status);
                return Ok(r);
            }
        }
    }
    let mut r = StatusCode::CREATED.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    put_status(h, &status);
    Ok(r)
}

/// Where an upload stands: how many bytes arrived (tus core). A finished upload answers with
/// offset and length both the recording's size, and `Canvass-Recording-Id`. Unknown, expired,
/// or another resident's: 404.
#[utoipa::path(head, path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path), ("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses(
        (status = 200, description = "The upload's state", headers(
            ("Upload-Offset" = u64, description = "Bytes received and kept"),
            ("Upload-Length" = u64, description = "The file's size"),
            ("Upload-Metadata" = String, description = "As sent at creation"),
            ("Upload-Expires" = String, description = "When the unfinished upload is removed"),
            ("Canvass-Recording-Id" = String, description = "Once finished: the recording"))),
        (status = 404, description = "No such upload"), (status = 412, description = "Tus-Resumable is not 1.0.0")))]
pub async fn head(
    State(state): State<AppState>,
    auth: Result<UploadAuth, ApiError>,
    path: Result<ApiPath<String>, ApiError>,
    headers: HeaderMap,
) -> Response {
    tus(head_inner(&state, auth, path, &headers).await)
}

async fn head_inner(
    state: &AppState,
    auth: Result<UploadAuth, ApiError>,
    path: Result<ApiPath<String>, ApiError>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    check_version(headers)?;
    let UploadAuth(who) = auth?;
    let ApiPath(id) = path?;
    let s = state.app.upload_status(&who, &id).await?;
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    put_status(h, &s);
    h.insert(UPLOAD_LENGTH, number(s.length));
    if let Some(v) = s
        .metadata
        .as_deref()
        .and_then(|m| HeaderValue::from_str(m).ok())
    {
        h.insert(UPLOAD_METADATA, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// Appends bytes at `Upload-Offset` (tus core). The body is streamed to storage as it
/// arrives. With `Upload-Checksum` the bytes must match or nothing is kept (460); a body cut
/// short without one keeps what arrived. The request that completes the file checks it is a
/// video: if so the answer carries `Canvass-Recording-Id`, otherwise 415 and the upload is gone.
#[utoipa::path(patch, path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path), ("Tus-Resumable" = String, Header, description = "1.0.0"),
        ("Upload-Offset" = u64, Header, description = "Where these bytes start: the offset HEAD reports"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha1|sha256 base64digest` of this request's body")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Bytes kept", headers(
            ("Upload-Offset" = u64, description = "The new offset"),
            ("Upload-Expires" = String, description = "When the unfinished upload is removed"),
            ("Canvass-Recording-Id" = String, description = "When this completed the upload: the recording's id"))),
        (status = 400, body = ErrorBody, description = "A header is missing or malformed, or the checksum algorithm is not supported"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "offset_mismatch"),
        (status = 412, body = ErrorBody), (status = 413, body = ErrorBody, description = "upload_exceeds_length"),
        (status = 415, body = ErrorBody, description = "Wrong Content-Type, or the complete file is not a video"),
        (status = 460, body = ErrorBody, description = "checksum_mismatch")))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Result<UploadAuth, ApiError>,
    path: Result<ApiPath<String>, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    tus(patch_inner(&state, auth, path, &headers, body).await)
}

async fn patch_inner(
    state: &AppState,
    auth: Result<UploadAuth, ApiError>,
    path: Result<ApiPath<String>, ApiError>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_version(headers)?;
    let UploadAuth(who) = auth?;
    let ApiPath(id) = path?;
    if !is_offset_stream(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "send the bytes with `Content-Type: {}`",
                tus::OFFSET_OCTET_STREAM
            ),
        ));
    }
    let offset = text(headers, &UPLOAD_OFFSET)?.ok_or_else(|| {
        bad_request(
            "invalid_header",
            "Upload-Offset is required: where these bytes start (HEAD tells)",
        )
    })?;
    let offset = tus::parse_size("Upload-Offset", offset)?;
    let checksum = checksum(headers)?;
    let s = append(&state.app, &who, &id, offset, checksum, body).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    put_status(r.headers_mut(), &s);
    Ok(r)
}

/// Ends an unfinished upload and removes what it received (tus termination). A finished
/// upload is a recording: delete it at `/api/v1/recordings/{id}` (here: 404).
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path), ("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn terminate(
    State(state): State<AppState>,
    auth: Result<UploadAuth, ApiError>,
    path: Result<ApiPath<String>, ApiError>,
    headers: HeaderMap,
) -> Response {
    tus(terminate_inner(&state, auth, path, &headers).await)
}

async fn terminate_inner(
    state: &AppState,
    auth: Result<UploadAuth, ApiError>,
    path: Result<ApiPath<String>, ApiError>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    check_version(headers)?;
    let UploadAuth(who) = auth?;
    let ApiPath(id) = path?;
    state.app.terminate_upload(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
