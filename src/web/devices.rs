//! `/api/v1/devices`: a resident's cameras and their upload tokens.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, Auth};
use super::residents::LatLon;
use crate::store::DeviceRecord;

/// A camera to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeviceBody {
    /// What you call it ("Porch", "Driveway"): 1–100 characters.
    pub name: String,
    /// Where it is. It decides which requests its recordings can answer.
    #[schema(required = true)]
    pub location: Option<LatLon>,
}

/// A new name for a camera.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameDeviceBody {
    /// 1–100 characters.
    pub name: String,
}

/// A camera. Its upload token is never shown again after it is issued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Where it is.
    pub location: LatLon,
    /// Whether it has a working upload token.
    pub has_token: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl From<&DeviceRecord> for DeviceView {
    fn from(d: &DeviceRecord) -> Self {
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            location: LatLon {
                lat: d.lat,
                lon: d.lon,
            },
            has_token: d.has_token,
            created_at: d.created_at,
        }
    }
}

/// A camera just registered, with its upload token (shown this once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedDevice {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Where it is.
    pub location: LatLon,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// The camera's upload token (`cvd_…`), for `Authorization: Bearer` on `/api/v1/uploads`.
    /// Keep it: it is not shown again.
    pub token: String,
}

/// A new upload token (shown this once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceToken {
    /// The camera's upload token (`cvd_…`); the previous one no longer works.
    pub token: String,
}

/// Your cameras.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceList {
    /// Oldest first.
    pub items: Vec<DeviceView>,
}

/// Registers a camera and answers its upload token, once.
#[utoipa::path(post, path = "/api/v1/devices", tag = "residents", request_body = CreateDeviceBody,
    responses((status = 201, body = CreatedDevice), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(body): ApiJson<CreateDeviceBody>,
) -> Result<(StatusCode, axum::Json<CreatedDevice>), ApiError> {
    let (d, token) = state
        .app
        .create_device(&who, &body.name, body.location.map(|l| (l.lat, l.lon)))
        .await?;
    let view = DeviceView::from(&d);
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedDevice {
            id: view.id,
            name: view.name,
            location: view.location,
            created_at: view.created_at,
            token,
        }),
    ))
}

/// Your cameras (never their tokens).
#[utoipa::path(get, path = "/api/v1/devices", tag = "residents",
    responses((status = 200, body = DeviceList), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<axum::Json<DeviceList>, ApiError> {
    let items = state.app.devices(&who).await?;
    Ok(axum::Json(DeviceList {
        items: items.iter().map(DeviceView::from).collect(),
    }))
}

/// One of your cameras.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "residents", params(("id" = String, Path)),
    responses((status = 200, body = DeviceView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<DeviceView>, ApiError> {
    Ok(axum::Json(DeviceView::from(
        &state.app.device(&who, &id).await?,
    )))
}

/// Renames one of your cameras.
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "residents", params(("id" = String, Path)),
    request_body = RenameDeviceBody,
    responses((status = 200, body = DeviceView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rename(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RenameDeviceBody>,
) -> Result<axum::Json<DeviceView>, ApiError> {
    let d = state.app.rename_device(&who, &id, &body.name).await?;
    Ok(axum::Json(DeviceView::from(&d)))
}

/// Removes one of your cameras with its unfinished uploads and its recordings. Clips you
/// already shared stay with the agency: they are a separate copy.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "residents", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_device(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a new upload token for one of your cameras; the previous one stops working.
#[utoipa::path(post, path = "/api/v1/devices/{id}/token", tag = "residents", params(("id" = String, Path)),
    responses((status = 201, body = DeviceToken), (status = 404, body = ErrorBody)))]
pub async fn issue_token(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, axum::Json<DeviceToken>), ApiError> {
    let token = state.app.issue_device_token(&who, &id).await?;
    Ok((StatusCode::CREATED, axum::Json(DeviceToken { token })))
}

/// Revokes one of your cameras' upload token: uploads with it answer 401 from now on.
#[utoipa::path(delete, path = "/api/v1/devices/{id}/token", tag = "residents", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.app.revoke_device_token(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
