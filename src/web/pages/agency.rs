//! The investigator portal: the agency's requests, a new request drawn on the map, a request's
//! submissions with their custody, and the agency admin's team page.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::home::role_home;
use super::session::SignedIn;
use crate::web::AppState;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/agency", get(agency_page))
}

/// `GET /agency`.
pub async fn agency_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    role_home(
        &state,
        &who,
        "/agency",
        "Your agency's requests",
        "Your agency's community requests and the footage residents shared will appear here.",
    )
}
