//! `GET /feed`: the Community Requests over the resident's home, newest first, a page at a time.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::staff_elsewhere;
use crate::web::AppState;
use crate::web::pages::render::{Layout, PageError, render};
use crate::web::pages::session::SignedIn;
use crate::web::requests::RequestView;

/// What the feed may be opened with.
#[derive(Debug, Default, Deserialize)]
pub struct FeedQuery {
    /// The `next_cursor` of the page before (the "Older requests" link).
    #[serde(default)]
    cursor: Option<String>,
}

/// One card of the feed.
#[derive(Debug, Serialize)]
struct Card {
    request: RequestView,
    /// The area as GeoJSON text, for the map script (a `data-` attribute).
    area_json: String,
}

#[derive(Debug, Serialize)]
struct FeedView {
    cards: Vec<Card>,
    /// The link to the next, older page; `None` on the last.
    older_href: Option<String>,
    /// Whether this is a later page (the first one links back to it).
    later_page: bool,
    /// The resident turned Community Requests off.
    opted_out: bool,
}

/// `GET /feed`: request cards (`App::feed`, as `GET /api/v1/feed`), each with its agency, the
/// Community Request label, the incident, the timeframe, a small map of the area and whether it
/// still takes videos. Reading it records nothing. Opted-out residents see a note pointing to
/// their settings instead.
pub async fn feed_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Response {
    if let Some(away) = staff_elsewhere(&who) {
        return away;
    }
    // A malformed query is not worth an error page: the first page it is.
    let cursor = query
        .ok()
        .and_then(|Query(q)| q.cursor)
        .filter(|c| !c.is_empty());
    match feed(&state, &who, cursor.as_deref()).await {
        Ok(page) => page,
        Err(e) => e.into_response(),
    }
}

async fn feed(
    state: &AppState,
    who: &crate::app::Principal,
    cursor: Option<&str>,
) -> Result<Response, PageError> {
    let page = state.app.feed(who, cursor).await?;
    // The feed answers an empty page either way; the note tells the resident why.
    // The setting was read with the session.
    let opted_out = page.items.is_empty() && !who.community_requests;
    let now = state.app.now();
    let cards = page
        .items
        .into_iter()
        .map(|item| {
            let request = RequestView::new(item.detail(), now);
            Card {
                area_json: request.area.to_string(),
                request,
            }
        })
        .collect();
    let older_href = page.next_cursor.map(|c| {
        format!(
            "/feed?cursor={}",
            url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
        )
    });
    let layout = Layout::signed_in(state, who, "Your feed", "/feed");
    let view = FeedView {
        cards,
        older_href,
        later_page: cursor.is_some(),
        opted_out,
    };
    Ok(render("resident_feed.html", &layout, view)?.into_response())
}
