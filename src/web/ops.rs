//! For operators: `/healthz`, `/metrics`, and the OpenAPI document.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};

/// Health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// Answers 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn healthz(State(state): State<AppState>) -> Result<axum::Json<Health>, ApiError> {
    match state.app.db.ping().await {
        Ok(()) => Ok(axum::Json(Health { status: "ok" })),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database does not answer",
            ))
        }
    }
}

/// Prometheus text: request counts and latencies by route. Operator figures only; nothing
/// about residents or requests.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = match state.metrics.render() {
        Ok(text) => text,
        Err(e) => {
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                .into_response();
        }
    };
    // Delivery totals across all requests: for operators, never per request or agency.
    if let Ok(t) = state.app.db.outbox_totals().await {
        // The encoder closes with "# EOF"; the totals go before it.
        if let Some(stripped) = text.strip_suffix("# EOF\n") {
            text = stripped.to_owned();
        }
        text.push_str("# HELP canvass_notifications Notifications in the outbox, by state.\n");
        text.push_str("# TYPE canvass_notifications gauge\n");
        for (name, n) in [
            ("pending", t.pending),
            ("sent", t.sent),
            ("failed", t.failed),
            ("cancelled", t.cancelled),
        ] {
            text.push_str(&format!("canvass_notifications{{state=\"{name}\"}} {n}\n"));
        }
        text.push_str("# EOF\n");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// This API's OpenAPI 3.1 document, generated from the code.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn openapi(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
        .into_response()
}
