//! The resident's cameras: add one on a map, its upload token, and uploads from the browsern//! (tus-js-client, resumable).

use axum::Router;

use crate::web::AppState;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new()
}
