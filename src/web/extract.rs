//! Extractors that turn requests into use-case inputs, with our error shape on failure.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::app::{AppError, Principal};
use crate::domain::client_address::client_address;
use crate::domain::validation::Problems;

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
        // What `axum::Json` does, with the raw bytes kept for the NUL check below.
        if !json_content_type(req.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(req, state).await?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        // No field accepts U+0000, and PostgreSQL cannot store it in text: refuse it here, for
        // every body on both databases, rather than fail in the store with a 500.
        if let Some(fields) = nul_fields(&bytes) {
            let mut p = Problems::new();
            for field in fields {
                p.add(&field, "contains a NUL character (\\u0000)");
            }
            p.finish("invalid_input", "The body is not valid")
                .map_err(AppError::from)?;
        }
        Ok(ApiJson(value))
    }
}

/// `application/json` or `application/*+json`, as `axum::Json` accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some((kind, sub)) => kind == "application" && (sub == "json" || sub.ends_with("+json")),
        None => false,
    }
}

/// The paths of the strings (values or keys) holding U+0000 in a body that parsed as JSON,
/// or `None` when there are none. In valid JSON that character can only be written `\u0000`,
/// so the full walk runs only when that text occurs.
fn nul_fields(bytes: &[u8]) -> Option<Vec<String>> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let mut out = Vec::new();
    walk_for_nul(&value, "body", &mut out);
    (!out.is_empty()).then_some(out)
}

fn walk_for_nul(value: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    let inner = |key: &str| {
        if path == "body" {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        serde_json::Value::String(s) if s.contains('\0') => out.push(path.to_owned()),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_for_nul(item, &inner(&i.to_string()), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                if key.contains('\0') {
                    out.push(inner(&key.replace('\0', "\\u0000")));
                } else {
                    walk_for_nul(item, &inner(key), out);
                }
            }
        }
        _ => {}
    }
}

/// The client's address: the TCP peer, or, when the peer is one of the `trusted_proxies`,
/// the address its `X-Forwarded-For` names (`domain::client_address`).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let trusted = &state.app.settings.trusted_proxies;
        Ok(ClientIp(peer.map(|peer| {
            if trusted.is_empty() {
                return peer;
            }
            let forwarded: Vec<&str> = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            client_address(peer, &forwarded, trusted)
        })))
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
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // No id holds U+0000 (and PostgreSQL cannot even compare it): such a path names nothing.
        if parts.uri.path().contains("%00") {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "bad path: it contains a NUL character (%00)",
            ));
        }
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

/// Query parameters, with our error shape when they do not parse.
#[derive(Debug, Clone, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
