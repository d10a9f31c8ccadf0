//! `GET /api/v1/audit`: the audit log, for platform admins. No route changes it.

use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiQuery, Auth};
use crate::store::AuditRecord;

/// Paging through the log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries before this id (the previous page's last id).
    pub before: Option<i64>,
    /// Page size, 1..200 (default 50).
    pub limit: Option<i64>,
}

/// Audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditRecord>), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<axum::Json<Vec<AuditRecord>>, ApiError> {
    Ok(axum::Json(
        state.app.list_audit(&who, q.before, q.limit).await?,
    ))
}
