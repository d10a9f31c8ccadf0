//! The resident's settings (the community-request opt-out, email, and push with the PWA'sn//! manifest and service worker).

use axum::Router;

use crate::web::AppState;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new()
}
