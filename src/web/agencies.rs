//! `/api/v1/agencies`, their members, and `/api/v1/moderators`.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, Auth};
use super::me::UserView;
use crate::app::accounts::StaffAccount;
use crate::app::agencies::{AgencyInput, AgencyUpdate};
use crate::domain::Role;
use crate::store::AgencyRecord;

/// A new agency.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgencyBody {
    /// Public name.
    pub name: String,
    /// `law_enforcement` or `fire`.
    pub kind: String,
    /// GeoJSON Polygon or MultiPolygon (lon/lat).
    #[schema(value_type = Object)]
    pub jurisdiction: serde_json::Value,
    /// Verified now.
    #[serde(default)]
    pub verified: bool,
    /// Evidence account enabled now.
    #[serde(default)]
    pub evidence_enabled: bool,
    /// IANA time zone name, e.g. `America/Los_Angeles` (default `UTC`): the investigator's
    /// pages show and take times in it.
    pub time_zone: Option<String>,
}

/// Changes to an agency; omitted fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgencyBody {
    /// New name.
    pub name: Option<String>,
    /// New jurisdiction.
    #[schema(value_type = Option<Object>)]
    pub jurisdiction: Option<serde_json::Value>,
    /// Verify or unverify.
    pub verified: Option<bool>,
    /// Enable or disable the evidence account.
    pub evidence_enabled: Option<bool>,
    /// New IANA time zone name.
    pub time_zone: Option<String>,
}

/// An agency.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgencyView {
    /// Its id.
    pub id: String,
    /// Public name.
    pub name: String,
    /// `law_enforcement` or `fire`.
    pub kind: String,
    /// GeoJSON Polygon or MultiPolygon.
    #[schema(value_type = Object)]
    pub jurisdiction: serde_json::Value,
    /// Verified by a platform admin.
    pub verified: bool,
    /// Evidence account enabled.
    pub evidence_enabled: bool,
    /// IANA time zone name.
    pub time_zone: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<AgencyRecord> for AgencyView {
    fn from(a: AgencyRecord) -> Self {
        Self {
            id: a.id,
            name: a.name,
            kind: a.kind,
            jurisdiction: a.jurisdiction,
            verified: a.verified,
            evidence_enabled: a.evidence_enabled,
            time_zone: a.time_zone,
            created_at: a.created_at,
        }
    }
}

/// A new agency member.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    /// Email to sign in with.
    pub email: String,
    /// First password (at least 8 characters, not common).
    pub password: String,
    /// `investigator` or `agency_admin`.
    pub role: Role,
    /// Name shown on requests.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A new moderator.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeratorBody {
    /// Email to sign in with.
    pub email: String,
    /// First password.
    pub password: String,
    /// Name.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Creates an agency (platform admins).
#[utoipa::path(post, path = "/api/v1/agencies", tag = "agencies", request_body = CreateAgencyBody,
    responses((status = 201, body = AgencyView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(body): ApiJson<CreateAgencyBody>,
) -> Result<(StatusCode, axum::Json<AgencyView>), ApiError> {
    let agency = state
        .app
        .create_agency(
            &who,
            AgencyInput {
                name: body.name,
                kind: body.kind,
                jurisdiction: body.jurisdiction,
                verified: body.verified,
                evidence_enabled: body.evidence_enabled,
                time_zone: body.time_zone,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(agency.into())))
}

/// Agencies the caller may see: all for admins and moderators, their own for members.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "agencies",
    responses((status = 200, body = Vec<AgencyView>), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<axum::Json<Vec<AgencyView>>, ApiError> {
    let agencies = state.app.list_agencies(&who).await?;
    Ok(axum::Json(agencies.into_iter().map(Into::into).collect()))
}

/// One agency.
#[utoipa::path(get, path = "/api/v1/agencies/{id}", tag = "agencies", params(("id" = String, Path)),
    responses((status = 200, body = AgencyView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<AgencyView>, ApiError> {
    Ok(axum::Json(state.app.get_agency(&who, &id).await?.into()))
}

/// Verifies an agency, enables its evidence account, renames it or redraws its jurisdiction
/// (platform admins).
#[utoipa::path(patch, path = "/api/v1/agencies/{id}", tag = "agencies", params(("id" = String, Path)), request_body = UpdateAgencyBody,
    responses((status = 200, body = AgencyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateAgencyBody>,
) -> Result<axum::Json<AgencyView>, ApiError> {
    let update = AgencyUpdate {
        name: body.name,
        jurisdiction: body.jurisdiction,
        verified: body.verified,
        evidence_enabled: body.evidence_enabled,
        time_zone: body.time_zone,
    };
    Ok(axum::Json(
        state.app.update_agency(&who, &id, update).await?.into(),
    ))
}

/// Adds an investigator or agency admin (platform admins; agency admins for their own agency).
#[utoipa::path(post, path = "/api/v1/agencies/{id}/members", tag = "agencies", params(("id" = String, Path)), request_body = MemberBody,
    responses((status = 201, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MemberBody>,
) -> Result<(StatusCode, axum::Json<UserView>), ApiError> {
    let input = StaffAccount {
        email: body.email,
        password: body.password,
        display_name: body.display_name,
    };
    let user = state
        .app
        .add_agency_member(&who, &id, input, body.role)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(UserView::from(&user))))
}

/// The agency's members (platform admins; agency admins for their own agency).
#[utoipa::path(get, path = "/api/v1/agencies/{id}/members", tag = "agencies", params(("id" = String, Path)),
    responses((status = 200, body = Vec<UserView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<Vec<UserView>>, ApiError> {
    let members = state.app.list_agency_members(&who, &id).await?;
    Ok(axum::Json(members.iter().map(UserView::from).collect()))
}

/// Removes a member: the account is disabled and its sessions end.
#[utoipa::path(delete, path = "/api/v1/agencies/{id}/members/{user_id}", tag = "agencies",
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiPath((id, user_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.app.remove_agency_member(&who, &id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Appoints a moderator (platform admins).
#[utoipa::path(post, path = "/api/v1/moderators", tag = "agencies", request_body = ModeratorBody,
    responses((status = 201, body = UserView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_moderator(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(body): ApiJson<ModeratorBody>,
) -> Result<(StatusCode, axum::Json<UserView>), ApiError> {
    let input = StaffAccount {
        email: body.email,
        password: body.password,
        display_name: body.display_name,
    };
    let user = state.app.create_moderator(&who, input).await?;
    Ok((StatusCode::CREATED, axum::Json(UserView::from(&user))))
}
