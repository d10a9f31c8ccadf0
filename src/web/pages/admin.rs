//! The platform admin's pages: agencies (with their jurisdiction drawn on a map), moderators and
//! the audit log.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::home::role_home;
use super::session::SignedIn;
use crate::web::AppState;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin", get(admin_page))
}

/// `GET /admin`.
pub async fn admin_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    role_home(
        &state,
        &who,
        "/admin",
        "Administration",
        "Agencies, moderators and the audit log will appear here.",
    )
}
