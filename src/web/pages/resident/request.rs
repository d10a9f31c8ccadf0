//! `GET /requests/{id}` (a resident's view of one request), `POST /requests/{id}/comments`, and
//! `GET /r/{public_id}/open`, the share page's way into them for a signed-in resident.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Problem, sentence, staff_elsewhere, tel_link, thousands, via_query, via_token};
use crate::app::residents::COMMENT_MAX_CHARS;
use crate::app::{AppError, Principal};
use crate::store::CommentRecord;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiPath;
use crate::web::pages::render::{Layout, PageError, humanize, render};
use crate::web::pages::session::{PageForm, SessionForm, SignedIn};
use crate::web::requests::RequestView;

/// A comment as the page shows it: the author's display name (or the agency's name), never an
/// address.
#[derive(Debug, Serialize)]
struct CommentRow {
    id: String,
    author: String,
    from_agency: bool,
    /// Written by the resident reading the page.
    mine: bool,
    body: String,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct RequestPage {
    request: RequestView,
    area_json: String,
    tel_link: String,
    mailto_link: String,
    /// The public link to copy (`/r/{public_id}`), absolute.
    share_url: Option<String>,
    comments: Vec<CommentRow>,
    comment_max: usize,
    /// The same, as people write it (`2,000`).
    comment_max_label: String,
    /// What the comment field holds (kept when a comment is refused).
    draft: String,
    /// Why the comment was refused.
    problem: Option<Problem>,
    csrf: String,
    /// The share link's public id the resident came through, kept in the comment form.
    via: Option<String>,
    /// `?via=…` for the links to the share steps, or empty.
    via_query: String,
}

/// Renders the request page for `who` (who came by the share link `via`, if any); `draft` and
/// `problem` after a refused comment.
async fn page(
    state: &AppState,
    who: &Principal,
    id: &str,
    via: Option<&str>,
    draft: String,
    problem: Option<Problem>,
) -> Result<Html<String>, PageError> {
    // The same answer as the API: 404 for a request outside the resident's area, unless `via`
    // is its share link.
    let detail = state.app.request_detail(who, id, via).await?;
    let (record, comments) = state.app.comments(who, id, via).await?;
    let request = RequestView::new(detail, state.app.now());
    let comments = comments
        .into_iter()
        .map(|c: CommentRecord| CommentRow {
            mine: c.author_id == who.user_id,
            author: if c.as_agency {
                record.agency_name.clone()
            } else {
                c.author_name
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| "A resident".into())
            },
            id: c.id,
            from_agency: c.as_agency,
            body: c.body,
            created_at: c.created_at,
        })
        .collect();
    let title = format!(
        "{}: Community Request from {}",
        humanize(&request.incident_type),
        request.agency_name
    );
    let layout = Layout::signed_in(state, who, &title, "");
    let share_url = request.public_id.as_ref().map(|p| {
        format!(
            "{}/r/{p}",
            state.app.settings.public_url.trim_end_matches('/')
        )
    });
    let view = RequestPage {
        area_json: request.area.to_string(),
        tel_link: tel_link(&request.investigator.phone),
        mailto_link: format!("mailto:{}", request.investigator.email),
        share_url,
        comments,
        comment_max: COMMENT_MAX_CHARS,
        comment_max_label: thousands(COMMENT_MAX_CHARS),
        draft,
        problem,
        csrf: layout.csrf.clone(),
        via: via.map(str::to_owned),
        via_query: via_query(via),
        request,
    };
    render("resident_request.html", &layout, view)
}

/// `GET /requests/{id}`: the request as residents in its area see it: details, the agency,
/// the timeframe, the area on a map, `tel:` and `mailto:` links to the investigator, the
/// comments and a form to add one, the share link to copy, and — while it takes videos —
/// "Choose videos to share". Reading it records nothing. With `?via={public_id}` (the request's
/// share link, from `GET /r/{public_id}/open`) a resident whose home is elsewhere sees it too.
pub async fn request_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<String>,
    query: Result<Query<ViaQuery>, QueryRejection>,
) -> Response {
    if let Some(away) = staff_elsewhere(&who) {
        return away;
    }
    let via = query.ok().and_then(|Query(q)| via_token(q.via.as_deref()));
    page(&state, &who, &id, via.as_deref(), String::new(), None)
        .await
        .into_response()
}

/// The request page's query.
#[derive(Debug, Default, Deserialize)]
pub struct ViaQuery {
    /// The share link's public id the resident came through.
    #[serde(default)]
    via: Option<String>,
}

/// `GET /r/{public_id}/open`: the public share page's "Open in Canvass" button. A signed-in
/// resident goes to the request's page with the link (`?via=`), where they may comment and
/// share videos even when their home is outside the area; staff go to their own home page; a
/// link this server did not issue is the 404 page; signed out, the sign-in page first.
pub async fn open_shared(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    ApiPath(public_id): ApiPath<String>,
) -> Response {
    if let Some(away) = staff_elsewhere(&who) {
        return away;
    }
    // A public id that is not a plain token was not issued here, and could not travel as `via`.
    let Some(via) = via_token(Some(&public_id)) else {
        return PageError::from(AppError::NotFound("request")).into_response();
    };
    match state.app.shared_request(&via).await {
        Ok(record) => Redirect::to(&format!("/requests/{}?via={via}", record.id)).into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// The comment form.
#[derive(Debug, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    csrf: String,
    /// The share link's public id the resident came through (a hidden field).
    #[serde(default)]
    via: Option<String>,
}

impl PageForm for CommentForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /requests/{id}/comments`: adds a comment (`App::add_comment`, as the API does, with
/// the same per-account rate limit) and goes back to the comments. A refused comment (empty,
/// too long, too many too fast) is shown on the request page with the text kept, as a 200
/// page like the sign-in form's refusals.
pub async fn add_comment(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    f: SessionForm<CommentForm>,
) -> Response {
    let who = f.who;
    if let Some(away) = staff_elsewhere(&who) {
        return away;
    }
    let via = via_token(f.form.via.as_deref());
    let via = via.as_deref();
    let refused = match state.limits.check_comment(&who.user_id) {
        Err(e) => Some(e),
        Ok(()) => match state.app.add_comment(&who, &id, &f.form.body, via).await {
            Ok((_, comment)) => {
                return Redirect::to(&format!(
                    "/requests/{id}{}#comment-{}",
                    via_query(via),
                    comment.id
                ))
                .into_response();
            }
            Err(e) => Some(ApiError::from(e)),
        },
    };
    match refused {
        // Not visible (404) or broken (5xx): the error page, as for the request itself.
        Some(e) if e.status.is_client_error() && e.status.as_u16() != 404 => {
            let problem = if e.status.as_u16() == 429 {
                Problem::new(
                    e.code,
                    format!(
                        "You are commenting too fast. Wait {} and send it again.",
                        wait_label(e.retry_after.unwrap_or(60))
                    ),
                )
            } else if e.code == "invalid_comment" {
                // "is empty", "is 2,345 characters long; the limit is 2000": said of the comment.
                let said: Vec<&str> = e.details["body"]
                    .as_array()
                    .map(|list| list.iter().filter_map(|v| v.as_str()).collect())
                    .unwrap_or_default();
                if said.is_empty() {
                    Problem::from_api(&e)
                } else {
                    Problem::new(
                        e.code,
                        sentence(&format!("your comment {}", said.join("; "))),
                    )
                }
            } else {
                Problem::from_api(&e)
            };
            page(&state, &who, &id, via, f.form.body, Some(problem))
                .await
                .into_response()
        }
        Some(e) => PageError::from(e).into_response(),
        None => PageError::internal().into_response(),
    }
}

/// A wait in words: `45 seconds`, `about 12 minutes`.
fn wait_label(secs: u64) -> String {
    match secs {
        0..=1 => "a second".to_owned(),
        2..=90 => format!("{secs} seconds"),
        _ => format!("about {} minutes", secs.div_ceil(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_in_words() {
        assert_eq!(wait_label(1), "a second");
        assert_eq!(wait_label(45), "45 seconds");
        assert_eq!(wait_label(3600), "about 60 minutes");
    }
}
