//! The resident's settings: the community-request opt-out and the two notification channels
//! (the same `app` functions as `GET/PUT /api/v1/me/settings`), and Web Push for this browser.
//!
//! Push needs the resident interface to be a PWA: this module also serves the web app manifest
//! (`/manifest.webmanifest`) and the service worker at the site's root (`/sw.js`), because a
//! worker's scope is at most the folder it is served from, and the versioned `/assets/…` URLs
//! would limit it to one asset version's folder.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::assets;
use super::render::{Layout, PageError, render};
use super::session::{PageForm, SessionForm, SignedIn};
use crate::store::ResidentSettings;
use crate::web::AppState;
use crate::web::extract::ApiQuery;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings_page).post(save_settings))
        .route("/sw.js", get(service_worker))
        .route("/manifest.webmanifest", get(manifest))
}

/// What `/settings` may be opened with.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsQuery {
    /// Set after a save (post, redirect, get), to confirm it.
    #[serde(default)]
    saved: Option<String>,
}

/// The settings form. A checkbox that is not ticked is not sent at all, so each is optional.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    csrf: String,
    #[serde(default)]
    community_requests: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    push: Option<String>,
}

impl PageForm for SettingsForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Debug, Serialize)]
struct SettingsView {
    csrf: String,
    community_requests: bool,
    email: bool,
    push: bool,
    saved: bool,
    /// The VAPID public key (base64url) the browser subscribes with; empty when push is not
    /// set up on this server.
    vapid_key: String,
}

/// `GET /settings`: the resident's settings form and the "Enable push notifications" button.
/// Residents only (`App::settings` refuses other roles).
pub async fn settings_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    query: Result<ApiQuery<SettingsQuery>, crate::web::error::ApiError>,
) -> Response {
    let saved = query.is_ok_and(|ApiQuery(q)| q.saved.is_some());
    let s = match state.app.settings(&who).await {
        Ok(s) => s,
        Err(e) => return PageError::from(e).into_response(),
    };
    let layout = Layout::signed_in(&state, &who, "Settings", "/settings");
    render(
        "settings.html",
        &layout,
        SettingsView {
            csrf: layout.csrf.clone(),
            community_requests: s.community_requests,
            email: s.email,
            push: s.push,
            saved,
            vapid_key: state.push_public_key.as_str().to_owned(),
        },
    )
    .into_response()
}

/// `POST /settings`: saves the three switches (`App::update_settings`, which also cancels what
/// is queued on a channel turned off) and shows the form again with a confirmation.
pub async fn save_settings(
    State(state): State<AppState>,
    f: SessionForm<SettingsForm>,
) -> Response {
    let s = ResidentSettings {
        community_requests: f.form.community_requests.is_some(),
        email: f.form.email.is_some(),
        push: f.form.push.is_some(),
    };
    match state.app.update_settings(&f.who, s).await {
        // Post, redirect, get: reloading the confirmation does not post again.
        Ok(_) => Redirect::to("/settings?saved=1").into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// `GET /sw.js`: the service worker (`assets/js/sw.js`), served at the root so that its scope
/// can be the whole site. Never cached for long: browsers check it for updates, and a stale
/// one would keep an old notification handler.
pub async fn service_worker() -> Response {
    let Some((raw, _)) = assets::find("js/sw.js") else {
        return PageError::internal().into_response();
    };
    // The worker cannot read the page's versioned asset URLs, so the icon it shows travels
    // on its first line.
    let icon = assets::url("img/icon-192.png").unwrap_or_default();
    let body = format!(
        "self.CANVASS_ICON = {};\n{}",
        serde_json::Value::String(icon),
        String::from_utf8_lossy(raw)
    );
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("service-worker-allowed", HeaderValue::from_static("/"));
    r
}

/// The manifest, built here rather than kept as a file because its icons are versioned asset
/// URLs.
fn manifest_json() -> serde_json::Value {
    let icon = |path: &str, sizes: &str, kind: &str, purpose: &str| {
        assets::url(path).map(
            |src| serde_json::json!({"src": src, "sizes": sizes, "type": kind, "purpose": purpose}),
        )
    };
    let icons: Vec<_> = [
        icon("img/icon-192.png", "192x192", "image/png", "any"),
        icon("img/icon-512.png", "512x512", "image/png", "any"),
        icon(
            "img/icon-maskable-512.png",
            "512x512",
            "image/png",
            "maskable",
        ),
        icon("img/icon.svg", "any", "image/svg+xml", "any"),
    ]
    .into_iter()
    .flatten()
    .collect();
    serde_json::json!({
        "name": "Canvass",
        "short_name": "Canvass",
        "description": "Community Requests for camera footage from local public-safety agencies, for your neighbourhood.",
        "id": "/feed",
        "start_url": "/feed",
        "scope": "/",
        "display": "standalone",
        "lang": "en",
        "background_color": "#ffffff",
        "theme_color": "#0b4f8a",
        "icons": icons,
    })
}

/// `GET /manifest.webmanifest`: the web app manifest, so residents can install Canvass as an
/// app (which some browsers require before they allow push).
pub async fn manifest() -> Response {
    let mut r = manifest_json().to_string().into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/manifest+json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_names_the_app_and_its_icons() {
        let m = manifest_json();
        assert_eq!(m["start_url"], "/feed");
        assert_eq!(m["display"], "standalone");
        let icons = m["icons"].as_array().cloned().unwrap_or_default();
        assert!(icons.iter().any(|i| i["sizes"] == "512x512"), "{icons:?}");
        assert!(icons.iter().any(|i| i["sizes"] == "192x192"));
    }

    #[test]
    fn the_service_worker_is_embedded() {
        assert!(assets::find("js/sw.js").is_some());
    }
}
