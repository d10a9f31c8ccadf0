//! Extractors that turn requests into use-case inputs, with our error shape on failure.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::app::{AppError, Principal};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "canvass_session";

/// A JSON body. Malformed JSON, a wrong content type or an oversized body answer our errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// The client's address (the TCP peer).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

impl ClientIp {
    /// As text for the audit log.
    pub fn text(&self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

/// A signed-in caller with a full session.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

/// A signed-in caller whose session may still be waiting for second-factor enrollment.
#[derive(Debug, Clone)]
pub struct AuthAllowingMfaEnrollment(pub Principal);

fn bearer_or_cookie(parts: &Parts) -> Option<(String, bool)> {
    if let Some(v) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))?;
        return Some((token.trim().to_owned(), false));
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| (value.to_owned(), true))
}

/// Cookie-authenticated changes must come from our own pages: browsers send `Origin` on
/// cross-site requests, and `SameSite=Lax` alone still lets top-level form posts through.
fn check_csrf(parts: &Parts, public_url: &str) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let same_site = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == "same-origin" || v == "none");
    let origin_ok = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|o| o == public_url);
    if same_site && origin_ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_rejected",
            "this change came from another site; use the Canvass pages or a bearer token",
        ))
    }
}

async fn principal(parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
    let (token, from_cookie) = bearer_or_cookie(parts).ok_or(AppError::Unauthenticated)?;
    if from_cookie {
        check_csrf(parts, &state.app.settings.public_url)?;
    }
    let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
    Ok(state
        .app
        .authenticate(&token, ip.map(|i| i.to_string()))
        .await?)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let p = principal(parts, state).await?;
        if p.mfa_pending {
            return Err(AppError::MfaEnrollmentRequired.into());
        }
        Ok(Auth(p))
    }
}

impl FromRequestParts<AppState> for AuthAllowingMfaEnrollment {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(AuthAllowingMfaEnrollment(principal(parts, state).await?))
    }
}

/// Path parameters, with our error shape when they do not parse.
#[derive(Debug, Clone, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters, with our error shape when they do not parse.
#[derive(Debug, Clone, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
