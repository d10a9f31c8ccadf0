//! CSRF tokens for page forms (see the module doc of `pages` for the two layers).
//!
//! A token is HMAC-SHA-256 over a purpose and a value, keyed with the server's HMAC key from
//! the data folder (the one that also signs feed cursors; the purpose keeps the uses apart):
//! the session's hash for signed-in forms, or the `canvass_csrf` cookie's random value for the
//! sign-in form.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The cookie holding the sign-in form's random value.
pub const LOGIN_COOKIE: &str = "canvass_csrf";

fn mac(key: &[u8; 32], purpose: &str, value: &str) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(b"canvass-page-form\0");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(value.as_bytes());
    Some(mac)
}

fn token(key: &[u8; 32], purpose: &str, value: &str) -> String {
    mac(key, purpose, value)
        .map(|m| URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

fn verify(key: &[u8; 32], purpose: &str, value: &str, given: &str) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(given.trim()) else {
        return false;
    };
    // `verify_slice` compares in constant time.
    mac(key, purpose, value).is_some_and(|m| m.verify_slice(&bytes).is_ok())
}

/// The token for forms of the session whose token hashes to `session_hash`.
pub fn for_session(key: &[u8; 32], session_hash: &str) -> String {
    token(key, "session", session_hash)
}

/// Whether `given` is the token of the session whose token hashes to `session_hash`.
pub fn session_ok(key: &[u8; 32], session_hash: &str, given: &str) -> bool {
    verify(key, "session", session_hash, given)
}

/// The token for the sign-in form, bound to the `canvass_csrf` cookie's value.
pub fn for_login(key: &[u8; 32], cookie_value: &str) -> String {
    token(key, "login", cookie_value)
}

/// Whether `given` is the sign-in form's token for the cookie's value.
pub fn login_ok(key: &[u8; 32], cookie_value: &str, given: &str) -> bool {
    !cookie_value.is_empty() && verify(key, "login", cookie_value, given)
}

/// A fresh random value for the `canvass_csrf` cookie.
pub fn new_login_value() -> String {
    let mut bytes = [0_u8; 24];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether a form post came from our own pages: the browser says so in `Sec-Fetch-Site`
/// (absent from old browsers and tools, which is allowed) and `Origin` is ours (absent is
/// allowed for the same reason). The same rule the API applies to cookie-authenticated changes.
pub fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    // Every value counts: a request that repeats a header is judged by its worst one.
    let site_ok = headers
        .get_all("sec-fetch-site")
        .iter()
        .all(|v| v == "same-origin" || v == "none");
    let ours = public_url.trim_end_matches('/');
    let origin_ok = headers
        .get_all(header::ORIGIN)
        .iter()
        .all(|o| o.to_str().is_ok_and(|o| o == ours));
    site_ok && origin_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const KEY: [u8; 32] = [9; 32];

    #[test]
    fn a_session_token_fits_only_its_session() {
        let t = for_session(&KEY, "abc");
        assert!(session_ok(&KEY, "abc", &t));
        assert!(!session_ok(&KEY, "abd", &t));
        assert!(!session_ok(&[8; 32], "abc", &t));
        assert!(!session_ok(&KEY, "abc", ""));
        assert!(!session_ok(&KEY, "abc", "not base64!"));
        // A sign-in token is not a session token, even for the same value.
        assert!(!session_ok(&KEY, "abc", &for_login(&KEY, "abc")));
    }

    #[test]
    fn a_login_token_fits_only_its_cookie() {
        let v = new_login_value();
        let t = for_login(&KEY, &v);
        assert!(login_ok(&KEY, &v, &t));
        assert!(!login_ok(&KEY, &new_login_value(), &t));
        assert!(!login_ok(&KEY, "", &for_login(&KEY, "")));
    }

    #[test]
    fn only_our_origin_may_post() {
        let ours = "http://127.0.0.1:8080";
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, ours));
        h.insert(header::ORIGIN, HeaderValue::from_static(ours));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h, ours));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, ours));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        h.append(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h, ours), "a second, foreign Origin");
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h, ours));
    }
}
