//! `/home`: sends the signed-in account to its role's home page.

use axum::response::Redirect;

use super::render::home_for;
use super::session::SignedIn;

/// `GET /home`: the signed-in account's home page, by role.
pub async fn home(SignedIn(who): SignedIn) -> Redirect {
    Redirect::to(home_for(who.role).0)
}
