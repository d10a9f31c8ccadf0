//! The one mapping from errors to the JSON error shape:
//! `{"error": {"code": "...", "message": "...", "details": {}}}`.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::AppError;

/// An error answer: status, stable code, a message a person can act on, and details.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: &'static str,
    /// What went wrong and how to fix it.
    pub message: String,
    /// Structured details (fields at fault, limits).
    pub details: Value,
    /// Seconds to wait, for 429 and 423.
    pub retry_after: Option<u64>,
}

/// The error body, for the OpenAPI document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorContent,
}

/// The error's content.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorContent {
    /// Stable snake_case code.
    pub code: String,
    /// What went wrong and how to fix it.
    pub message: String,
    /// Structured details, by field.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    /// An error with empty details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: json!({}),
            retry_after: None,
        }
    }

    /// 404 for a path no route serves.
    pub fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint; see /api/openapi.json",
        )
    }

    /// 415 for a body that is not declared as JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        )
    }

    /// 413 for a body over the limit.
    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the body is larger than this endpoint accepts",
        )
    }

    /// 429 with the wait.
    pub fn rate_limited(what: &str, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many {what} attempts; try again in {retry_after} s"),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.code, "message": self.message, "details": self.details}});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let code = e.code();
        let status = match &e {
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthenticated
            | AppError::InvalidCredentials
            | AppError::MfaRequired
            | AppError::InvalidTotp => StatusCode::UNAUTHORIZED,
            AppError::MfaEnrollmentRequired | AppError::Forbidden(_) | AppError::Refused { .. } => {
                StatusCode::FORBIDDEN
            }
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Locked { .. } => StatusCode::LOCKED,
            AppError::Gone { .. } => StatusCode::GONE,
            AppError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            // tus's checksum extension defines 460 Checksum Mismatch.
            AppError::ChecksumMismatch(_) => {
                StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST)
            }
            AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match e {
            AppError::Invalid(v) => Self {
                details: json!(v.details),
                ..Self::new(status, code, v.message)
            },
            AppError::Locked { until } => {
                let wait = (until - chrono::Utc::now()).num_seconds().max(1);
                Self {
                    details: json!({"locked_until": until}),
                    retry_after: u64::try_from(wait).ok(),
                    ..Self::new(
                        status,
                        code,
                        format!("the account is locked after repeated failed logins until {until}"),
                    )
                }
            }
            AppError::TooLarge {
                message,
                limit,
                given,
                ..
            } => Self {
                details: json!({"limit": limit, "given": given}),
                ..Self::new(status, code, message)
            },
            AppError::Busy {
                message,
                retry_after,
                ..
            } => Self {
                retry_after: Some(retry_after),
                ..Self::new(status, code, message)
            },
            AppError::RangeNotSatisfiable { size } => Self {
                details: json!({"size": size}),
                ..Self::new(status, code, e.to_string())
            },
            AppError::Store(_) | AppError::Internal(_) => {
                // Logged inside the request's span, which carries its x-request-id.
                tracing::error!(error = %e, "internal error");
                Self::new(
                    status,
                    code,
                    "something went wrong on our side; it has been logged",
                )
            }
            other => Self::new(status, code, other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let text = r.body_text();
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::payload_too_large(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::unsupported_media_type(),
            StatusCode::UNPROCESSABLE_ENTITY => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                format!(
                    "the JSON does not have the expected fields: {}",
                    strip_prefix(&text)
                ),
            ),
            _ => Self::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {}", strip_prefix(&text)),
            ),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::payload_too_large()
        } else {
            Self::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body could not be read: {}", r.body_text()),
            )
        }
    }
}

fn strip_prefix(text: &str) -> &str {
    text.split_once(": ").map_or(text, |(_, rest)| rest)
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("bad path: {}", r.body_text()),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!(
                "the query string is not valid: {}",
                strip_prefix(&r.body_text())
            ),
        )
    }
}
