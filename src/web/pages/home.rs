//! `/home`: sends the signed-in account to its role's home page.

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
pub(super) fn role_home(
    state: &AppState,
    who: &Principal,
    path: &str,
    title: &str,
    blurb: &str,
) -> Response {
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
