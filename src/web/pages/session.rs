//! Who is signed in, for pages: the session cookie (the one `POST /api/v1/auth/login` sets),
//! looked up through `app`, and forms checked against CSRF. A page that needs a session and
//! has none redirects to the sign-in page instead of answering a JSON 401.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use super::csrf;
use super::render::PageError;
use crate::app::{AppError, Principal};
use crate::config::Settings;
use crate::web::AppState;
use crate::web::extract::{ClientIp, SESSION_COOKIE};

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// Whether the request carries a session cookie. Public pages use this to offer "Your account"
/// instead of "Sign in" without looking the session up (which would note the visit).
pub fn has_session_cookie(headers: &HeaderMap) -> bool {
    cookie(headers, SESSION_COOKIE).is_some()
}

pub(super) fn secure(settings: &Settings) -> &'static str {
    if settings.secure_cookies || settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// `Set-Cookie` for the session, with the same attributes as the API's login sets; an empty
/// token with `max_age` 0 clears it.
pub fn session_cookie(settings: &Settings, token: &str, max_age: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        secure(settings)
    ))
    .ok()
}

/// `Set-Cookie` for the sign-in form's CSRF value. It lives as long as the browser session.
pub fn login_csrf_cookie(settings: &Settings, value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict{}",
        csrf::LOGIN_COOKIE,
        secure(settings)
    ))
    .ok()
}

/// Where the sign-in page sends someone back to: only a path on this site.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 512;
    ok.then_some(next)
}

fn sign_in_redirect(state: &AppState, parts: &Parts, expired: bool) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| parts.method == axum::http::Method::GET && safe_next(p).is_some());
    let mut query = Vec::new();
    if expired {
        query.push("expired=1".to_owned());
    }
    if let Some(n) = next {
        query.push(format!(
            "next={}",
            url::form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
        ));
    }
    let target = if query.is_empty() {
        "/login".to_owned()
    } else {
        format!("/login?{}", query.join("&"))
    };
    let mut response = Redirect::to(&target).into_response();
    if expired && let Some(c) = session_cookie(&state.app.settings, "", 0) {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

/// The session behind the cookie, or the redirect to the sign-in page.
async fn principal(parts: &mut Parts, state: &AppState) -> Result<Principal, Response> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Err(sign_in_redirect(state, parts, false));
    };
    let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
        .await
        .map_err(|e| PageError::from(e).into_response())?;
    match state
        .app
        .authenticate(&token, ip.map(|i| i.to_string()))
        .await
    {
        Ok(p) => Ok(p),
        // The cookie names a session that ended (idle, too old, signed out, or disabled).
        Err(AppError::Unauthenticated) => Err(sign_in_redirect(state, parts, true)),
        Err(e) => Err(PageError::from(e).into_response()),
    }
}

/// A signed-in caller with a full session. Without one: the sign-in page; with a session that
/// still has to set up its second factor: the set-up page.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Principal);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let p = principal(parts, state).await?;
        if p.mfa_pending {
            return Err(Redirect::to("/mfa/setup").into_response());
        }
        Ok(SignedIn(p))
    }
}

/// A signed-in caller whose session may still be waiting for its second factor.
#[derive(Debug, Clone)]
pub struct SignedInEnrolling(pub Principal);

impl FromRequestParts<AppState> for SignedInEnrolling {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(SignedInEnrolling(principal(parts, state).await?))
    }
}

/// A form that a signed-in page posts. Its hidden `csrf` field is checked by [`SessionForm`].
pub trait PageForm: DeserializeOwned + Send {
    /// Whether a session still setting up its second factor may post it (sign-out, set-up).
    const DURING_MFA_ENROLLMENT: bool = false;
    /// The hidden `csrf` field.
    fn csrf(&self) -> &str;
}

/// A signed-in form post: same origin, a live session, and the session's CSRF token.
#[derive(Debug)]
pub struct SessionForm<T> {
    /// Who posted it.
    pub who: Principal,
    /// The fields.
    pub form: T,
}

impl<T: PageForm> FromRequest<AppState> for SessionForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        if !csrf::same_origin(&parts.headers, &state.app.settings.public_url) {
            return Err(PageError::cross_site().into_response());
        }
        let who = principal(&mut parts, state).await?;
        if who.mfa_pending && !T::DURING_MFA_ENROLLMENT {
            return Err(Redirect::to("/mfa/setup").into_response());
        }
        let req = Request::from_parts(parts, body);
        let axum::Form(form) = axum::Form::<T>::from_request(req, state)
            .await
            .map_err(|e| PageError::bad_form(&e.body_text()).into_response())?;
        if !csrf::session_ok(&state.app.cursor_key, &who.session_hash, form.csrf()) {
            return Err(PageError::stale_form().into_response());
        }
        Ok(SessionForm { who, form })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_a_local_path() {
        assert_eq!(safe_next("/agency?x=1"), Some("/agency?x=1"));
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil",
            "agency",
            "",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; canvass_session=tok; b="),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "b"), None);
        assert!(has_session_cookie(&h));
    }
}
