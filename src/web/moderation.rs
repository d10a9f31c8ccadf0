//! `/api/v1/moderation`: the review queue and decisions (moderators).

use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, Auth};
use super::requests::RequestView;
use crate::app::moderation::Decision;

/// A decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `approve` publishes; `reject` sends it back to the agency.
    pub decision: DecisionKind,
    /// Guideline codes; at least one for a rejection.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// A note to the agency.
    #[serde(default)]
    pub note: Option<String>,
}

/// `approve` or `reject`.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Publish.
    Approve,
    /// Send back with reasons.
    Reject,
}

/// Requests waiting for review, oldest first, with the automated findings.
#[utoipa::path(get, path = "/api/v1/moderation/queue", tag = "moderation",
    responses((status = 200, body = Vec<RequestView>), (status = 403, body = ErrorBody)))]
pub async fn queue(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<axum::Json<Vec<RequestView>>, ApiError> {
    let now = state.app.now();
    let queue = state.app.moderation_queue(&who).await?;
    Ok(axum::Json(
        queue
            .into_iter()
            .map(|d| RequestView::new(d, now))
            .collect(),
    ))
}

/// Approves (publishes, and appends to the transparency log) or rejects a pending request.
#[utoipa::path(post, path = "/api/v1/moderation/requests/{id}/decision", tag = "moderation", params(("id" = String, Path)),
    request_body = DecisionBody,
    responses((status = 200, body = RequestView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "request_not_pending"), (status = 422, body = ErrorBody, description = "invalid_decision")))]
pub async fn decide(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<axum::Json<RequestView>, ApiError> {
    let decision = match body.decision {
        DecisionKind::Approve => Decision::Approve,
        DecisionKind::Reject => Decision::Reject,
    };
    let detail = state
        .app
        .decide(&who, &id, decision, &body.reasons, body.note.as_deref())
        .await?;
    Ok(axum::Json(RequestView::new(detail, state.app.now())))
}
