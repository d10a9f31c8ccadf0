//! Server-rendered pages: what people use in a browser. Handlers stay thin, as in the JSON API:
//! they parse a form or a query, call the same `app` function the API calls, and render a
//! template. Authorization stays in `app`.
//!
//! # Templates: minijinja
//!
//! Pages are Jinja templates in `templates/`, rendered with minijinja. `build.rs` lists them in
//! a generated file that `include_str!`s each one, so they are inside the binary and a template
//! edit rebuilds it. Auto-escaping is on for every `.html` template, and undefined values are
//! errors, so a misspelt variable fails the page's test instead of rendering blank.
//!
//! Why minijinja over askama: both are well kept and escape by default. askama compiles each
//! template into Rust, which checks the variables at build time but adds a derive per page and
//! generated code to a crate that is already slow to build; minijinja parses the templates once
//! at start, needs only `serde` (which we have), and lets a page's context be any `Serialize`
//! value we already build for the API. Every template is rendered by a test, which catches what
//! askama's compile-time check would.
//!
//! # Assets
//!
//! Front-end packages come from npm (`package.json` and its lock file); `build.rs` copies only
//! the files the pages load, plus our own `assets/`, into the binary ([`assets`]). They are
//! served under `/assets/VERSION/…`, where VERSION is a hash of all of them, with a year-long
//! `immutable` cache and a gzipped copy made at build time.
//!
//! # Scripts and the content security policy
//!
//! The CSP (`web::content_security_policy`) allows scripts and styles from this site only: no
//! inline `<script>`, no `style` attribute, no `eval`. Page behaviour lives in
//! `assets/js/*.js`; data for it travels in `data-*` attributes. Bars and charts are SVG
//! drawn on the server (SVG geometry attributes are not styles).
//!
//! # CSRF
//!
//! Two layers guard every form that changes something:
//!
//! 1. Same-origin: a POST must carry `Sec-Fetch-Site: same-origin` (or none, from old
//!    browsers and tools) and an `Origin` equal to `public_url`, as the cookie-authenticated
//!    API already requires (`web::extract`).
//! 2. A token in a hidden field: HMAC-SHA-256, with the server's key from the data folder, of
//!    the session's hash (signed-in forms) or of a random value in a `canvass_csrf` cookie
//!    (the sign-in form, before there is a session, against login CSRF). A form from another
//!    site cannot know it, and it changes with every session.
//!
//! The layout sets `<meta name="referrer" content="same-origin">`: under the server-wide
//! `Referrer-Policy: no-referrer`, browsers send `Origin: null` with every form post (Fetch
//! standard), which the first layer must refuse. `same-origin` still tells no other site
//! anything.
//!
//! Public pages (the share page, the transparency and privacy pages) never look the session
//! up: they show everyone the same, and leave no trace of who read them. (The share page adds
//! an "Open in Canvass" button when a session cookie is present, without looking it up.)

mod admin;
mod agency;
pub mod assets;
mod cameras;
mod csrf;
mod home;
mod info;
mod login;
mod moderation;
pub mod render;
mod resident;
mod session;
mod settings;

pub use render::{Layout, PageError, render};
pub use session::has_session_cookie;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;

/// The page routes. They are not in the OpenAPI document, which describes the JSON API only.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(info::landing_page))
        .route("/privacy", get(info::privacy_page))
        .route("/transparency", get(info::transparency_page))
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route(
            "/mfa/setup",
            get(login::mfa_intro_page).post(login::mfa_setup),
        )
        .route("/mfa/confirm", post(login::mfa_confirm))
        .route("/home", get(home::home))
        .route("/assets/{version}/{*path}", get(assets::get))
        // Each area owns its pages, in its own module.
        .merge(resident::router())
        .merge(cameras::router())
        .merge(settings::router())
        .merge(agency::router())
        .merge(moderation::router())
        .merge(admin::router())
}
