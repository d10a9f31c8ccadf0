//! The resident app: the feed, a request (details, contact, comments, the share link), "Choose
//! videos to share" (choose, consent, share, receipt) and "My shares".
//!
//! Every page here is a resident's: staff who open one are sent to their own home page (their
//! view of a request lives in their own area). The handlers call the same `app` functions as
//! the JSON API (`feed`, `request_detail`, `comments`, `add_comment`, `shareable_recordings`,
//! `share_recordings`, `my_submissions`), which check who may see what; a request outside the
//! resident's area answers 404 there, and so it does here.
//!
//! Unless the resident came by the request's share link: `GET /r/{public_id}/open` (the
//! button on the public share page) sends a signed-in resident to `/requests/{id}?via=
//! {public_id}`, and the request page, its comment form and the share steps pass that `via` on
//! to the same `app` functions, which let a resident holding the link read, comment and share
//! (DESIGN, issue 4) wherever their home is. Without `via` nothing changes.

mod feed;
mod request;
mod share;
mod shares;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::render::home_for;
use crate::app::Principal;
use crate::domain::Role;
use crate::web::AppState;
use crate::web::error::ApiError;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/feed", get(feed::feed_page))
        .route("/requests/{id}", get(request::request_page))
        .route("/requests/{id}/comments", post(request::add_comment))
        .route(
            "/requests/{id}/share",
            get(share::choose_page).post(share::share),
        )
        .route("/requests/{id}/share/consent", get(share::consent_page))
        .route("/shares", get(shares::shares_page))
        .route("/shares/{id}", get(shares::receipt_page))
        .route("/r/{public_id}/open", get(request::open_shared))
}

/// Staff who open a resident's page go to their own home page instead. (Navigation, not
/// authorization: the `app` functions refuse staff on their own.)
fn staff_elsewhere(who: &Principal) -> Option<Response> {
    (who.role != Role::Resident).then(|| Redirect::to(home_for(who.role).0).into_response())
}

/// The longest share-link id `via` accepts.
const VIA_MAX_CHARS: usize = 64;

/// The share link's public id a resident came through (`?via=` or the forms' `via` field),
/// when it is a plain token: `[A-Za-z0-9_-]`, at most 64 characters. Anything else is ignored
/// (the page then answers as without it), so it can go into a URL or a form field as it is.
fn via_token(raw: Option<&str>) -> Option<String> {
    let raw = raw?.trim();
    let plain = !raw.is_empty()
        && raw.len() <= VIA_MAX_CHARS
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    plain.then(|| raw.to_owned())
}

/// `?via=…` to append to a link between the request's pages, or nothing.
fn via_query(via: Option<&str>) -> String {
    via.map(|v| format!("?via={v}")).unwrap_or_default()
}

/// `via` among a query's or a form's pairs.
fn via_from_pairs(pairs: &[(String, String)]) -> Option<String> {
    via_token(
        pairs
            .iter()
            .find(|(k, _)| k == "via")
            .map(|(_, v)| v.as_str()),
    )
}

/// A refusal shown on the page that caused it, in plain words: the form stays as it was.
#[derive(Debug, Clone, Serialize)]
struct Problem {
    /// The error's stable code (`response_window_closed`, `already_shared`, …), for tests and
    /// styling.
    code: &'static str,
    /// What went wrong and what to do, as a sentence.
    message: String,
}

impl Problem {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
        }
    }

    /// The API's error, as a sentence.
    fn from_api(e: &ApiError) -> Self {
        Problem::new(e.code, sentence(&e.message))
    }
}

/// `some text` → `Some text.`
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// A size for people: `1.4 MB`, `820 KB`, `512 bytes`.
fn size_label(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KB * KB * KB {
        format!("{:.1} GB", b / (KB * KB * KB))
    } else if b >= KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else if b >= KB {
        format!("{:.0} KB", b / KB)
    } else {
        format!("{bytes} bytes")
    }
}

/// `2000` → `2,000`.
fn thousands(n: impl ToString) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `tel:` link for a phone number as the agency wrote it: digits and a leading `+` only.
fn tel_link(phone: &str) -> String {
    let digits: String = phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    format!("tel:{digits}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_label(512), "512 bytes");
        assert_eq!(size_label(2048), "2 KB");
        assert_eq!(size_label(1_468_006), "1.4 MB");
        assert_eq!(size_label(5 * 1024 * 1024 * 1024), "5.0 GB");
    }

    #[test]
    fn numbers_read_with_separators() {
        assert_eq!(thousands(2000), "2,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567_u64), "1,234,567");
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("already shared"), "Already shared.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(" "), "");
    }

    #[test]
    fn via_is_a_plain_token_or_nothing() {
        assert_eq!(via_token(Some("aB3_-x")).as_deref(), Some("aB3_-x"));
        assert_eq!(via_token(None), None);
        assert_eq!(via_token(Some("")), None);
        assert_eq!(via_token(Some("a b")), None);
        assert_eq!(via_token(Some("a&b=c")), None);
        assert_eq!(via_token(Some("é")), None);
        assert_eq!(via_token(Some(&"a".repeat(64))).map(|v| v.len()), Some(64));
        assert_eq!(via_token(Some(&"a".repeat(65))), None);
        assert_eq!(via_query(Some("x1")), "?via=x1");
        assert_eq!(via_query(None), "");
    }

    #[test]
    fn phone_numbers_become_tel_links() {
        assert_eq!(tel_link("+1 (555) 010-0"), "tel:+15550100");
    }
}
