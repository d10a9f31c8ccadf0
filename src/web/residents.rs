//! `POST /api/v1/residents`: resident sign-up.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ClientIp};
use super::me::UserView;
use crate::app::accounts::ResidentSignUp;

/// A point on the map.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatLon {
    /// Latitude, -90..90.
    pub lat: f64,
    /// Longitude, -180..180.
    pub lon: f64,
}

/// A resident's sign-up.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpBody {
    /// Email to sign in with.
    pub email: String,
    /// At least 8 characters, not a common password.
    pub password: String,
    /// Name shown on comments.
    pub display_name: String,
    /// Street address of the home; shared only with clips the resident chooses to share.
    pub home_address: String,
    /// Where the home is; decides which requests reach the resident. Required: a missing one
    /// is reported with the other fields' problems, in one answer.
    #[schema(required = true)]
    pub home_location: Option<LatLon>,
}

/// Signs a resident up.
#[utoipa::path(post, path = "/api/v1/residents", tag = "accounts", request_body = SignUpBody,
    responses((status = 201, body = UserView), (status = 409, body = ErrorBody, description = "email_taken"),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<(StatusCode, axum::Json<UserView>), ApiError> {
    state.limits.check_signup(ip.0)?;
    let user = state
        .app
        .sign_up_resident(
            ResidentSignUp {
                email: body.email,
                password: body.password,
                display_name: body.display_name,
                home_address: body.home_address,
                home: body.home_location.map(|h| (h.lat, h.lon)),
            },
            ip.text().as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(UserView::from(&user))))
}
