//! Rendering: the template environment (built once), the layout every page shares, and the
//! error page.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;

use super::{assets, csrf};
use crate::app::{AppError, Principal};
use crate::domain::Role;
use crate::web::AppState;
use crate::web::error::ApiError;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(environment);

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A misspelt variable is an error (caught by the page's test), not an empty string.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Block tags on their own lines leave no blank lines behind.
    match minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
    {
        Ok(syntax) => env.set_syntax(syntax),
        Err(e) => tracing::error!(error = %e, "template syntax settings"),
    }
    // Text is escaped as MarkupSafe does (`& < > " '`), which is safe in element content and
    // in quoted attributes. minijinja's own escaping also turns `/` into `&#x2f;`, which
    // protects nothing in quoted attributes and makes every URL and closing tag in user text
    // unreadable in the source.
    env.set_formatter(
        |out, state, value| match (state.auto_escape(), value.as_str()) {
            (AutoEscape::Html, Some(text)) if !value.is_safe() => out
                .write_str(&escape_html(text))
                .map_err(minijinja::Error::from),
            _ => minijinja::escape_formatter(out, state, value),
        },
    );
    for (name, source) in generated::TEMPLATES {
        if let Err(e) = env.add_template(name, source) {
            // The page using it answers 500 naming the template; the tests render every one.
            tracing::error!(template = name, error = %e, "template does not parse");
        }
    }
    env.add_function("asset", |path: &str| {
        assets::url(path).ok_or_else(|| {
            minijinja::Error::new(ErrorKind::InvalidOperation, format!("no asset {path}"))
        })
    });
    env.add_filter("humanize", humanize);
    env.add_filter("when", |v: &str| format_time(v, "%-d %b %Y, %H:%M UTC"));
    env.add_filter("day", |v: &str| format_time(v, "%-d %B %Y"));
    env
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `package_theft` → `Package theft`.
pub fn humanize(code: &str) -> String {
    let text = code.replace('_', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn format_time(value: &str, format: &str) -> String {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc).format(format).to_string())
        .unwrap_or_else(|_| value.to_owned())
}

/// Every template's name, for the test that parses them all.
pub fn template_names() -> impl Iterator<Item = &'static str> {
    generated::TEMPLATES.iter().map(|(name, _)| *name)
}

/// A link in the navigation.
#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
    /// Whether it is the page shown.
    pub current: bool,
}

/// The signed-in account, as the header shows it.
#[derive(Debug, Clone, Serialize)]
pub struct UserBadge {
    /// Display name, else email.
    pub name: String,
    /// The email.
    pub email: String,
    /// `resident`, `investigator`, …
    pub role: &'static str,
    /// The role in words.
    pub role_label: &'static str,
}

/// What the layout (`base.html`) needs on every page.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    /// The page's title (the product name is added).
    pub title: String,
    /// The signed-in account, on pages that look the session up.
    pub user: Option<UserBadge>,
    /// A session cookie is present (public pages, which do not look it up).
    pub has_session: bool,
    /// The navigation for the role.
    pub nav: Vec<NavItem>,
    /// The session's CSRF token, for the sign-out form; empty when signed out.
    pub csrf: String,
    /// Map tiles: a `{z}/{x}/{y}` URL, or empty for none.
    pub tile_url: String,
}

/// Each role's home page: (path, label).
pub fn home_for(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Resident => ("/feed", "Feed"),
        Role::Investigator | Role::AgencyAdmin => ("/agency", "Requests"),
        Role::Moderator => ("/moderation", "Moderation"),
        Role::Admin => ("/admin", "Admin"),
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Resident => "Resident",
        Role::Investigator => "Investigator",
        Role::AgencyAdmin => "Agency admin",
        Role::Moderator => "Moderator",
        Role::Admin => "Platform admin",
    }
}

fn nav(role: Option<Role>, path: &str) -> Vec<NavItem> {
    let mut items: Vec<(&'static str, &'static str)> = Vec::new();
    if let Some(role) = role {
        items.push(home_for(role));
        items.extend_from_slice(match role {
            Role::Resident => &[
                ("/cameras", "My cameras"),
                ("/shares", "My shares"),
                ("/settings", "Settings"),
            ][..],
            Role::Investigator => &[("/agency/requests/new", "New request")][..],
            // Agency admins manage the team; investigators file requests.
            Role::AgencyAdmin => &[("/agency/team", "Team")][..],
            Role::Moderator => &[][..],
            Role::Admin => &[
                ("/admin/moderators", "Moderators"),
                ("/admin/audit", "Audit log"),
            ][..],
        });
    }
    items.push(("/transparency", "Transparency"));
    items.push(("/privacy", "Privacy"));
    items
        .into_iter()
        .map(|(href, label)| NavItem {
            href,
            label,
            current: href == path,
        })
        .collect()
}

impl Layout {
    /// A page that does not look the session up (public pages, errors).
    pub fn public(state: &AppState, headers: &HeaderMap, title: &str, path: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            user: None,
            has_session: super::has_session_cookie(headers),
            nav: nav(None, path),
            csrf: String::new(),
            tile_url: state.app.settings.tile_url.clone(),
        }
    }

    /// A page for the signed-in `who`.
    pub fn signed_in(state: &AppState, who: &Principal, title: &str, path: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            user: Some(UserBadge {
                name: who
                    .display_name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| who.email.clone()),
                email: who.email.clone(),
                role: who.role.as_str(),
                role_label: role_label(who.role),
            }),
            has_session: true,
            nav: if who.mfa_pending {
                nav(None, path)
            } else {
                nav(Some(who.role), path)
            },
            csrf: csrf::for_session(&state.app.cursor_key, &who.session_hash),
            tile_url: state.app.settings.tile_url.clone(),
        }
    }

    fn bare(title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            user: None,
            has_session: false,
            nav: nav(None, ""),
            csrf: String::new(),
            tile_url: String::new(),
        }
    }
}

fn render_string(name: &str, layout: &Layout, page: impl Serialize) -> Result<String, String> {
    let template = ENV.get_template(name).map_err(|e| format!("{e:#}"))?;
    let ctx = minijinja::context! {
        layout => Value::from(Serde(layout)),
        ..Value::from(Serde(page))
    };
    template.render(ctx).map_err(|e| format!("{e:#}"))
}

/// Renders template `name` with the layout and the page's own values (as top-level names).
pub fn render(
    name: &str,
    layout: &Layout,
    page: impl Serialize,
) -> Result<Html<String>, PageError> {
    render_string(name, layout, page).map(Html).map_err(|e| {
        tracing::error!(template = name, error = %e, "page did not render");
        PageError::internal()
    })
}

/// An error shown as a page: status, a title and what to do about it.
#[derive(Debug, Clone)]
pub struct PageError {
    /// HTTP status.
    pub status: StatusCode,
    /// Short title.
    pub title: String,
    /// What went wrong and what to do.
    pub message: String,
    /// Seconds to wait (429, 423).
    pub retry_after: Option<u64>,
}

impl PageError {
    /// A status with a message.
    pub fn new(status: StatusCode, title: &str, message: impl Into<String>) -> Self {
        PageError {
            status,
            title: title.to_owned(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// 500, with nothing internal in it.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Something went wrong on our side. It has been logged; please try again later.",
        )
    }

    /// 403 for a form posted from another site.
    pub fn cross_site() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Form refused",
            "This form was sent from another site, so it was refused. Open Canvass directly and try again.",
        )
    }

    /// 403 for a form whose CSRF token does not fit the session (an old tab, or a forgery).
    pub fn stale_form() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form belongs to an earlier session. Go back, reload the page and try again.",
        )
    }

    /// 400 for a form that does not parse.
    pub fn bad_form(detail: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Form not understood",
            format!("The form could not be read ({detail}). Reload the page and try again."),
        )
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        let title = match e.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::UNAUTHORIZED => "Sign in first",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            StatusCode::GONE => "Closed",
            s if s.is_server_error() => "Something went wrong",
            _ => "That did not work",
        };
        let message = if e.status == StatusCode::NOT_FOUND {
            "There is nothing here. The link may be wrong, or what it pointed to is not public."
                .to_owned()
        } else {
            let mut m = e.message;
            if let Some(first) = m.get(..1) {
                m = format!("{}{}", first.to_uppercase(), &m[1..]);
            }
            if !m.ends_with('.') {
                m.push('.');
            }
            m
        };
        PageError {
            retry_after: e.retry_after,
            ..Self::new(e.status, title, message)
        }
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct ErrorPage<'a> {
            status: u16,
            message: &'a str,
        }
        let layout = Layout::bare(&self.title);
        let body = render_string(
            "error.html",
            &layout,
            ErrorPage {
                status: self.status.as_u16(),
                message: &self.message,
            },
        )
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the error page did not render");
            "<!doctype html><title>Error</title><p>Something went wrong.</p>".to_owned()
        });
        let mut response = (self.status, Html(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// Whether the client asked for a page rather than JSON (a browser's navigation does).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let names: Vec<_> = template_names().collect();
        assert!(names.contains(&"base.html"), "{names:?}");
        for name in names {
            ENV.get_template(name)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }

    #[test]
    fn the_error_page_escapes_and_renders() {
        let r = PageError::new(StatusCode::NOT_FOUND, "Not <found>", "a <b> & c").into_response();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let html = render_string(
            "error.html",
            &Layout::bare("Not <found>"),
            minijinja::context! { status => 404, message => "a <b> & c" },
        )
        .unwrap();
        assert!(html.contains("a &lt;b&gt; &amp; c"), "{html}");
        assert!(html.contains("<html lang=\"en\">"), "{html}");
    }

    #[test]
    fn codes_read_as_words() {
        assert_eq!(humanize("package_theft"), "Package theft");
        assert_eq!(humanize(""), "");
        assert_eq!(
            format_time("2026-11-20T21:00:00Z", "%-d %b %Y, %H:%M UTC"),
            "20 Nov 2026, 21:00 UTC"
        );
    }
}
