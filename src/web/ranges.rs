//! Answers with stored video bytes that players read in byte ranges so they can seek: a
//! resident's recording and an agency's evidence clip. Which range a `Range` header asks for is
//! the app layer's to work out (`domain::evidence::parse_range`), so that evidence can record
//! it in the chain of custody; here are the answers: 200, 206, or 416.

use std::ops::Range;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::app::AppError;

/// 200 with all `size` bytes of `content_type`, or 206 with the one `range` of them and its
/// `Content-Range`. Either way `Accept-Ranges: bytes` tells the player it may seek.
pub fn bytes_response(
    content_type: &str,
    size: u64,
    range: Option<Range<u64>>,
    body: Body,
) -> Response {
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let length = match &range {
        Some(r) => {
            if let Ok(v) = HeaderValue::from_str(&format!(
                "bytes {}-{}/{size}",
                r.start,
                r.end.saturating_sub(1)
            )) {
                h.insert(header::CONTENT_RANGE, v);
            }
            r.end - r.start
        }
        None => size,
    };
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if range.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    response
}

/// The answer when the bytes cannot be served: the error as [`ApiError`] maps it, and for a
/// range past the end (416 `range_not_satisfiable`) also `Content-Range: bytes */size` (RFC
/// 9110 §15.5.17), so the player can ask again within the content.
pub fn bytes_error(e: AppError) -> Response {
    let size = match &e {
        AppError::RangeNotSatisfiable { size } => Some(*size),
        _ => None,
    };
    let mut response = ApiError::from(e).into_response();
    if let Some(size) = size {
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
    response
}
