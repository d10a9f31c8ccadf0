//! The moderator's queue: pending requests, oldest first, with the pre-screen findings, and the
//! approve or reject decision.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::home::role_home;
use super::session::SignedIn;
use crate::web::AppState;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/moderation", get(moderation_page))
}

/// `GET /moderation`.
pub async fn moderation_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    role_home(
        &state,
        &who,
        "/moderation",
        "Moderation queue",
        "Requests waiting for review against the posting guidelines will appear here.",
    )
}
