//! `/api/v1/requests/{id}/comments`: residents who can see a request, and its agency.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::store::CommentRecord;

/// A new comment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// Plain text, at most 2,000 characters; shown escaped.
    pub body: String,
}

/// How the caller reached the request.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ViaLink {
    /// The share link's id, for residents who arrived by it.
    pub via: Option<String>,
}

/// A comment: the author's display name only, never an address.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentView {
    /// Its id.
    pub id: String,
    /// The author's display name, or the agency's name for the agency.
    pub author: String,
    /// Written by the agency.
    pub from_agency: bool,
    /// The text (plain; escape it when showing it).
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

fn view(c: CommentRecord, agency_name: &str) -> CommentView {
    CommentView {
        id: c.id,
        author: if c.as_agency {
            agency_name.to_owned()
        } else {
            c.author_name.unwrap_or_else(|| "A resident".into())
        },
        from_agency: c.as_agency,
        body: c.body,
        created_at: c.created_at,
    }
}

/// The comments on a published request, oldest first.
#[utoipa::path(get, path = "/api/v1/requests/{id}/comments", tag = "residents", params(("id" = String, Path), ViaLink),
    responses((status = 200, body = Vec<CommentView>), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ViaLink>,
) -> Result<axum::Json<Vec<CommentView>>, ApiError> {
    let (request, comments) = state.app.comments(&who, &id, q.via.as_deref()).await?;
    Ok(axum::Json(
        comments
            .into_iter()
            .map(|c| view(c, &request.agency_name))
            .collect(),
    ))
}

/// Comments on a published request. The agency's members comment as the agency.
#[utoipa::path(post, path = "/api/v1/requests/{id}/comments", tag = "residents", params(("id" = String, Path), ViaLink),
    request_body = CommentBody,
    responses((status = 201, body = CommentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "invalid_comment"), (status = 429, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ViaLink>,
    ApiJson(body): ApiJson<CommentBody>,
) -> Result<(StatusCode, axum::Json<CommentView>), ApiError> {
    state.limits.check_comment(&who.user_id)?;
    let (request, comment) = state
        .app
        .add_comment(&who, &id, &body.body, q.via.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(view(comment, &request.agency_name)),
    ))
}
