//! Each role's home page. For now each says who is signed in; the feed, the agency portal, the
//! moderation queue and the admin pages fill them in.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::render::{Layout, home_for, render};
use super::session::SignedIn;
use crate::app::Principal;
use crate::web::AppState;

/// `GET /home`: the signed-in account's home page, by role.
pub async fn home(SignedIn(who): SignedIn) -> Redirect {
    Redirect::to(home_for(who.role).0)
}

/// Renders `path`'s page when it is `who`'s home; anyone else is sent to their own. (This is
/// navigation, not authorization: the pages show nothing yet, and what they will show comes
/// from `app` functions that check the role.)
fn role_home(state: &AppState, who: &Principal, path: &str, title: &str, blurb: &str) -> Response {
    let (own, _) = home_for(who.role);
    if own != path {
        return Redirect::to(own).into_response();
    }
    let layout = Layout::signed_in(state, who, title, path);
    render(
        "home.html",
        &layout,
        minijinja::context! { heading => title, blurb => blurb, agency_id => who.agency_id.clone() },
    )
    .into_response()
}

/// `GET /feed`: the resident's home.
pub async fn resident_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    role_home(
        &state,
        &who,
        "/feed",
        "Your feed",
        "Community Requests for the area around your home will appear here.",
    )
}

/// `GET /agency`: the investigator's and agency admin's home.
pub async fn agency_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    role_home(
        &state,
        &who,
        "/agency",
        "Your agency's requests",
        "Your agency's community requests and the footage residents shared will appear here.",
    )
}

/// `GET /moderation`: the moderator's home.
pub async fn moderation_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    role_home(
        &state,
        &who,
        "/moderation",
        "Moderation queue",
        "Requests waiting for review against the posting guidelines will appear here.",
    )
}

/// `GET /admin`: the platform admin's home.
pub async fn admin_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    role_home(
        &state,
        &who,
        "/admin",
        "Administration",
        "Agencies, moderators and the audit log will appear here.",
    )
}
