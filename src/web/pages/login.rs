//! Signing in and out, and the staff's first-login second-factor set-up. The same `app`
//! functions as `POST /api/v1/auth/login` and `/api/v1/me/mfa/*`, and the same session cookie.

use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::Value;
use serde::{Deserialize, Serialize};

use super::csrf;
use super::render::{Layout, PageError, home_for, render};
use super::session::{
    PageForm, SessionForm, SignedInEnrolling, cookie, login_csrf_cookie, safe_next, session_cookie,
};
use crate::app::AppError;
use crate::domain::mfa;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::{ApiQuery, ClientIp, SESSION_COOKIE};

/// What the sign-in page may be opened with.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    /// Where to go after signing in (a path on this site).
    #[serde(default)]
    next: String,
    /// Set when a page found the session ended.
    #[serde(default)]
    expired: Option<String>,
    /// Set after signing out.
    #[serde(default)]
    signed_out: Option<String>,
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    /// The one-time code (staff with a second factor); empty otherwise.
    #[serde(default)]
    totp: String,
    /// Where to go after signing in.
    #[serde(default)]
    next: String,
    /// The CSRF token bound to the `canvass_csrf` cookie.
    #[serde(default)]
    csrf: String,
}

/// A message on the sign-in page.
#[derive(Debug, Clone, Serialize)]
struct Message {
    /// `error` or `notice`.
    kind: &'static str,
    /// First line, bold.
    title: String,
    /// What to do.
    text: String,
    /// A time to show (the end of a lock), RFC 3339.
    until: Option<String>,
}

impl Message {
    fn error(title: &str, text: impl Into<String>) -> Self {
        Message {
            kind: "error",
            title: title.to_owned(),
            text: text.into(),
            until: None,
        }
    }

    fn notice(title: &str, text: impl Into<String>) -> Self {
        Message {
            kind: "notice",
            title: title.to_owned(),
            text: text.into(),
            until: None,
        }
    }
}

#[derive(Debug, Serialize)]
struct LoginView {
    csrf: String,
    email: String,
    next: String,
    message: Option<Message>,
    /// Which field gets `autofocus`: `email`, `password` or `totp`.
    focus: &'static str,
    /// The code is needed (shown as required and described as such).
    code_needed: bool,
}

impl LoginView {
    fn new(email: &str, next: &str) -> Self {
        LoginView {
            csrf: String::new(),
            email: email.to_owned(),
            next: safe_next(next).unwrap_or_default().to_owned(),
            message: None,
            focus: if email.is_empty() {
                "email"
            } else {
                "password"
            },
            code_needed: false,
        }
    }
}

/// Renders the sign-in page with `status`, setting the form's CSRF cookie when the browser has
/// none, and `extra_cookie` (to clear the session) when given.
fn login_response(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    mut view: LoginView,
    clear_session: bool,
) -> Response {
    let existing = cookie(headers, csrf::LOGIN_COOKIE);
    let value = existing.clone().unwrap_or_else(csrf::new_login_value);
    view.csrf = csrf::for_login(&state.app.cursor_key, &value);
    let mut layout = Layout::public(state, headers, "Sign in", "/login");
    if clear_session {
        layout.has_session = false;
    }
    let page = match render("login.html", &layout, &view) {
        Ok(html) => html,
        Err(e) => return e.into_response(),
    };
    let mut response = (status, page).into_response();
    let h = response.headers_mut();
    if existing.is_none()
        && let Some(c) = login_csrf_cookie(&state.app.settings, &value)
    {
        h.append(header::SET_COOKIE, c);
    }
    if clear_session && let Some(c) = session_cookie(&state.app.settings, "", 0) {
        h.append(header::SET_COOKIE, c);
    }
    response
}

/// `GET /login`: the sign-in form (email, password, one-time code). Someone already signed in
/// goes to their home page.
pub async fn login_page(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    query: Result<ApiQuery<LoginQuery>, ApiError>,
) -> Response {
    // A malformed query is not worth an error page: the plain form it is.
    let q = query.map(|ApiQuery(q)| q).unwrap_or_default();
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && state.app.authenticate(&token, ip.text()).await.is_ok()
    {
        return Redirect::to(safe_next(&q.next).unwrap_or("/home")).into_response();
    }
    let mut view = LoginView::new("", &q.next);
    let mut clear = false;
    if q.expired.is_some() {
        view.message = Some(Message::notice(
            "Your session has ended.",
            "Sessions end after a while without activity (30 minutes for staff). Sign in again to go on.",
        ));
        clear = true;
    } else if q.signed_out.is_some() {
        view.message = Some(Message::notice("You are signed out.", ""));
    }
    login_response(&state, &headers, StatusCode::OK, view, clear)
}

fn minutes_until(until: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> i64 {
    ((until - now).num_seconds().max(0) + 59) / 60
}

/// `POST /login`: signs in through `App::login`, sets the session cookie and goes to the
/// role's home page (or to the second-factor set-up, for staff without one). Each refusal is
/// shown on the form in plain words, as a 200 page (see below); only a refused form (403) and
/// too many attempts (429, with the wait) answer an error status.
pub async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    form: Result<axum::Form<LoginForm>, FormRejection>,
) -> Response {
    if !csrf::same_origin(&headers, &state.app.settings.public_url) {
        return PageError::cross_site().into_response();
    }
    let axum::Form(form) = match form {
        Ok(f) => f,
        Err(e) => return PageError::bad_form(&e.body_text()).into_response(),
    };
    let mut view = LoginView::new(&form.email, &form.next);
    let cookie_value = cookie(&headers, csrf::LOGIN_COOKIE).unwrap_or_default();
    if !csrf::login_ok(&state.app.cursor_key, &cookie_value, &form.csrf) {
        view.message = Some(Message::error(
            "This sign-in form had expired.",
            "Nothing was sent. Please enter your password again.",
        ));
        // A fresh form value, in case the cookie was lost.
        let mut h = headers.clone();
        h.remove(header::COOKIE);
        return login_response(&state, &h, StatusCode::FORBIDDEN, view, false);
    }
    if let Err(e) = state.limits.check_login(ip.0) {
        view.message = Some(Message::error(
            "Too many sign-in attempts from this network.",
            format!(
                "Wait {} seconds and try again.",
                e.retry_after.unwrap_or(60)
            ),
        ));
        return login_response(&state, &headers, StatusCode::TOO_MANY_REQUESTS, view, false);
    }
    let totp = Some(form.totp.trim()).filter(|c| !c.is_empty());
    let outcome = state
        .app
        .login(&form.email, &form.password, totp, ip.text().as_deref())
        .await;
    let out = match outcome {
        Ok(out) => out,
        Err(e) => {
            view.message = Some(match e {
                AppError::InvalidCredentials => Message::error(
                    "Wrong email or password.",
                    "Check both and try again. Repeated failures lock the account for a while.",
                ),
                AppError::Locked { until } => {
                    let minutes = minutes_until(until, state.app.now());
                    Message {
                        until: Some(until.to_rfc3339()),
                        ..Message::error(
                            "This account is locked after repeated failed sign-ins.",
                            format!(
                                "You can try again in about {minutes} minute{}, at",
                                if minutes == 1 { "" } else { "s" }
                            ),
                        )
                    }
                }
                AppError::MfaRequired => {
                    view.focus = "totp";
                    view.code_needed = true;
                    Message::error(
                        "Enter your one-time code.",
                        "This account has a second factor: type the 6-digit code your authenticator app shows now.",
                    )
                }
                AppError::InvalidTotp => {
                    view.focus = "totp";
                    view.code_needed = true;
                    Message::error(
                        "That code is wrong, expired or already used.",
                        "Wait for the next code in your authenticator app and try again.",
                    )
                }
                other => return PageError::from(other).into_response(),
            });
            // 200: the page is what was asked for, with the refusal in it. (A 401 would need a
            // `WWW-Authenticate` challenge, which a form is not; and browsers log every 4xx
            // page as a console error.) The audit log records the failure either way.
            return login_response(&state, &headers, StatusCode::OK, view, false);
        }
    };
    let target = if out.mfa_enrollment_required {
        "/mfa/setup".to_owned()
    } else {
        safe_next(&form.next)
            .unwrap_or(home_for(out.user.role).0)
            .to_owned()
    };
    let mut response = Redirect::to(&target).into_response();
    if let Some(c) = session_cookie(&state.app.settings, &out.token, out.max_age_secs) {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

/// A form with only its CSRF token (sign-out, start of the set-up).
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

impl PageForm for CsrfOnly {
    const DURING_MFA_ENROLLMENT: bool = true;
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /logout`: ends the session (`App::logout`) and clears the cookie.
pub async fn logout(State(state): State<AppState>, f: SessionForm<CsrfOnly>) -> Response {
    if let Err(e) = state.app.logout(&f.who).await {
        return PageError::from(e).into_response();
    }
    let mut response = Redirect::to("/login?signed_out=1").into_response();
    if let Some(c) = session_cookie(&state.app.settings, "", 0) {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

#[derive(Debug, Serialize)]
struct MfaView {
    csrf: String,
    email: String,
    /// The QR code of the `otpauth://` URI, as SVG markup (safe: we drew it).
    qr_svg: Value,
    /// The secret, for typing in by hand.
    secret: String,
    /// The secret in groups of four, easier to read.
    secret_grouped: String,
    otpauth_uri: String,
    error: Option<String>,
}

/// The QR code of `text`, as an SVG element that scales with its box.
fn qr_svg(text: &str) -> Result<String, PageError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, "QR code");
        PageError::internal()
    })?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(232, 232)
        .quiet_zone(true)
        .build();
    // Drop the XML declaration; label the image for screen readers.
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].replacen(
        "<svg",
        "<svg role=\"img\" aria-label=\"QR code to scan with your authenticator app\" class=\"qr\"",
        1,
    ))
}

fn mfa_page(
    state: &AppState,
    who: &crate::app::Principal,
    secret: &str,
    error: Option<String>,
) -> Result<Html<String>, PageError> {
    let uri = mfa::otpauth_uri(secret, &who.email)
        .map_err(|_| PageError::bad_form("the secret is not valid base32"))?;
    let layout = Layout::signed_in(state, who, "Set up your second factor", "/mfa/setup");
    let grouped = secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    render(
        "mfa_setup.html",
        &layout,
        MfaView {
            csrf: layout.csrf.clone(),
            email: who.email.clone(),
            qr_svg: Value::from_safe_string(qr_svg(&uri)?),
            secret: secret.to_owned(),
            secret_grouped: grouped,
            otpauth_uri: uri,
            error,
        },
    )
}

/// `GET /mfa/setup`: what a staff member without a second factor sees after signing in, with
/// the button that starts the set-up. (Starting changes the stored secret, so it is a POST.)
pub async fn mfa_intro_page(
    State(state): State<AppState>,
    SignedInEnrolling(who): SignedInEnrolling,
) -> Response {
    if !who.mfa_pending {
        return Redirect::to("/home").into_response();
    }
    let layout = Layout::signed_in(&state, &who, "Set up your second factor", "/mfa/setup");
    render(
        "mfa_intro.html",
        &layout,
        minijinja::context! { csrf => layout.csrf.clone(), email => who.email.clone() },
    )
    .into_response()
}

/// `POST /mfa/setup`: starts enrollment (`App::mfa_enroll`) and shows the secret, its QR code
/// and the form to confirm with a first code.
pub async fn mfa_setup(State(state): State<AppState>, f: SessionForm<CsrfOnly>) -> Response {
    let enrollment = match state.app.mfa_enroll(&f.who).await {
        Ok(e) => e,
        Err(AppError::Conflict { .. }) => return Redirect::to("/home").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    mfa_page(&state, &f.who, &enrollment.secret, None).into_response()
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    totp: String,
    /// The secret shown, sent back only to show the same page again after a wrong code (the
    /// check itself uses the stored secret).
    secret: String,
}

impl PageForm for ConfirmForm {
    const DURING_MFA_ENROLLMENT: bool = true;
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /mfa/confirm`: confirms with a first code (`App::mfa_confirm`). The set-up session
/// then ends, as the API's does: the sign-in page asks for a code from now on.
pub async fn mfa_confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    f: SessionForm<ConfirmForm>,
) -> Response {
    let who = f.who;
    match state.app.mfa_confirm(&who, &f.form.totp).await {
        Ok(()) => {}
        Err(AppError::InvalidTotp) => {
            let page = mfa_page(
                &state,
                &who,
                &f.form.secret,
                Some("That code is wrong or expired. Type the code your app shows now.".into()),
            );
            return page.into_response();
        }
        Err(AppError::Conflict {
            code: "mfa_not_enrolled",
            ..
        }) => {
            return Redirect::to("/mfa/setup").into_response();
        }
        Err(e) => return PageError::from(e).into_response(),
    }
    if let Err(e) = state.app.logout(&who).await {
        return PageError::from(e).into_response();
    }
    let mut view = LoginView::new(&who.email, "");
    view.message = Some(Message::notice(
        "Your second factor is set up.",
        "Sign in again with your password and the next code your app shows.",
    ));
    login_response(&state, &headers, StatusCode::OK, view, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_an_svg_element() {
        let svg = qr_svg("otpauth://totp/Canvass:a%40b.example?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert!(
            !svg.contains("style="),
            "CSP forbids style attributes: {svg}"
        );
    }

    #[test]
    fn lock_minutes_round_up() {
        let now = chrono::Utc::now();
        assert_eq!(minutes_until(now + chrono::Duration::seconds(61), now), 2);
        assert_eq!(minutes_until(now - chrono::Duration::seconds(5), now), 0);
    }
}
