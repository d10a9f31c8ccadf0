//! The resident app: the feed, a request with "Choose videos to share", settings with push, my
//! cameras (browser uploads over tus) and my shares.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::home::role_home;
use super::session::SignedIn;
use crate::web::AppState;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/feed", get(resident_page))
}

/// `GET /feed`.
pub async fn resident_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    role_home(
        &state,
        &who,
        "/feed",
        "Your feed",
        "Community Requests for the area around your home will appear here.",
    )
}
