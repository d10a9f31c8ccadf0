//! `/api/v1/auth/*` and `/api/v1/me/mfa/*`: signing in and out, and the second factor.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, AuthAllowingMfaEnrollment, ClientIp, SESSION_COOKIE};
use super::me::UserView;

/// Credentials.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The account's email.
    pub email: String,
    /// The account's password.
    pub password: String,
    /// The current 6-digit code, for staff with a second factor.
    #[serde(default)]
    pub totp: Option<String>,
}

/// A new session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …` (also set as the session cookie).
    pub token: String,
    /// The signed-in account.
    pub user: UserView,
    /// Present and true when the token may only enroll a second factor.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mfa_enrollment_required: bool,
}

/// A one-time code.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpBody {
    /// The 6-digit code from the authenticator app.
    pub totp: String,
}

/// A second factor being set up.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MfaEnrollResponse {
    /// Base32 secret to enter into an authenticator app.
    pub secret: String,
    /// `otpauth://` URI, for a QR code.
    pub otpauth_uri: String,
}

/// Confirmation that the second factor is on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MfaConfirmResponse {
    /// Always true: login now needs a code.
    pub mfa_enabled: bool,
}

fn session_cookie(state: &AppState, token: &str, max_age: i64) -> Option<HeaderValue> {
    let settings = &state.app.settings;
    let secure = if settings.secure_cookies || settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// Signs in. Staff with a second factor add `totp`; staff without one get a token that can
/// only enroll (`mfa_enrollment_required: true`).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody, description = "invalid_credentials, mfa_required or invalid_totp"),
        (status = 423, body = ErrorBody, description = "account_locked"), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    state.limits.check_login(ip.0)?;
    let out = state
        .app
        .login(
            &body.email,
            &body.password,
            body.totp.as_deref(),
            ip.text().as_deref(),
        )
        .await?;
    let cookie = session_cookie(&state, &out.token, out.max_age_secs);
    let body = LoginResponse {
        token: out.token,
        user: UserView::from(&out.user),
        mfa_enrollment_required: out.mfa_enrollment_required,
    };
    let mut response = axum::Json(body).into_response();
    if let Some(c) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(response)
}

/// Ends the session (the token stops working at once) and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    AuthAllowingMfaEnrollment(who): AuthAllowingMfaEnrollment,
) -> Result<Response, ApiError> {
    state.app.logout(&who).await?;
    let mut headers = HeaderMap::new();
    if let Some(c) = session_cookie(&state, "", 0) {
        headers.insert(header::SET_COOKIE, c);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// Starts second-factor enrollment (staff). Answers the secret and an `otpauth://` URI.
#[utoipa::path(post, path = "/api/v1/me/mfa/enroll", tag = "auth",
    responses((status = 200, body = MfaEnrollResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "mfa_already_enabled")))]
pub async fn mfa_enroll(
    State(state): State<AppState>,
    AuthAllowingMfaEnrollment(who): AuthAllowingMfaEnrollment,
) -> Result<axum::Json<MfaEnrollResponse>, ApiError> {
    let e = state.app.mfa_enroll(&who).await?;
    Ok(axum::Json(MfaEnrollResponse {
        secret: e.secret,
        otpauth_uri: e.otpauth_uri,
    }))
}

/// Confirms enrollment with a first code. Sign in again, with `totp`, for a full session.
#[utoipa::path(post, path = "/api/v1/me/mfa/confirm", tag = "auth", request_body = TotpBody,
    responses((status = 200, body = MfaConfirmResponse), (status = 401, body = ErrorBody, description = "invalid_totp"), (status = 409, body = ErrorBody)))]
pub async fn mfa_confirm(
    State(state): State<AppState>,
    AuthAllowingMfaEnrollment(who): AuthAllowingMfaEnrollment,
    ApiJson(body): ApiJson<TotpBody>,
) -> Result<axum::Json<MfaConfirmResponse>, ApiError> {
    state.app.mfa_confirm(&who, &body.totp).await?;
    Ok(axum::Json(MfaConfirmResponse { mfa_enabled: true }))
}
