//! "My shares" (`GET /shares`) and one share's receipt (`GET /shares/{id}`): what the resident
//! shared, with which request, when, each clip's SHA-256 and size, and the `received` custody
//! event that opens each clip's chain (the only custody events a resident sees, as in
//! `GET /api/v1/me/submissions`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{size_label, staff_elsewhere, thousands, via_query, via_token};
use crate::app::Principal;
use crate::web::AppState;
use crate::web::evidence::{MyItemView, MySubmissionView};
use crate::web::extract::ApiPath;
use crate::web::pages::render::{Layout, PageError, render};
use crate::web::pages::session::SignedIn;

/// One shared clip.
#[derive(Debug, Serialize)]
struct ItemRow {
    #[serde(flatten)]
    item: MyItemView,
    size_label: String,
    /// The exact size, with separators (`71,136`).
    size_bytes: String,
}

/// One submission.
#[derive(Debug, Serialize)]
struct ShareRow {
    id: String,
    created_at: chrono::DateTime<chrono::Utc>,
    request: crate::web::evidence::SubmittedToView,
    items: Vec<ItemRow>,
    receipt: crate::app::evidence::Receipt,
}

impl From<MySubmissionView> for ShareRow {
    fn from(s: MySubmissionView) -> Self {
        ShareRow {
            id: s.id,
            created_at: s.created_at,
            request: s.request,
            items: s
                .items
                .into_iter()
                .map(|item| ItemRow {
                    size_label: size_label(item.size),
                    size_bytes: thousands(item.size),
                    item,
                })
                .collect(),
            receipt: s.receipt,
        }
    }
}

#[derive(Debug, Serialize)]
struct SharesView {
    shares: Vec<ShareRow>,
}

#[derive(Debug, Serialize)]
struct ReceiptView {
    share: ShareRow,
    /// Right after sharing: the page confirms it.
    just_shared: bool,
    /// `?via=…` for the link back to the request, when the resident came by its share link.
    via_query: String,
}

async fn my_shares(state: &AppState, who: &Principal) -> Result<Vec<ShareRow>, PageError> {
    Ok(state
        .app
        .my_submissions(who)
        .await?
        .into_iter()
        .map(|d| ShareRow::from(MySubmissionView::from(d)))
        .collect())
}

/// `GET /shares`: everything the resident shared, newest first.
pub async fn shares_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    if let Some(away) = staff_elsewhere(&who) {
        return away;
    }
    let shares = match my_shares(&state, &who).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let layout = Layout::signed_in(&state, &who, "My shares", "/shares");
    render("resident_shares.html", &layout, SharesView { shares }).into_response()
}

/// What the receipt page may be opened with.
#[derive(Debug, Default, Deserialize)]
pub struct ReceiptQuery {
    /// Set right after sharing: the page confirms it.
    #[serde(default)]
    shared: Option<String>,
    /// The share link the resident came through, for the link back to the request.
    #[serde(default)]
    via: Option<String>,
}

/// `GET /shares/{id}`: one share's receipt; right after sharing (`?shared=1`) it confirms the
/// share. Another resident's share answers 404, as if it did not exist.
pub async fn receipt_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<String>,
    query: Result<Query<ReceiptQuery>, QueryRejection>,
) -> Response {
    if let Some(away) = staff_elsewhere(&who) {
        return away;
    }
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let just_shared = query.shared.is_some();
    let via_query = via_query(via_token(query.via.as_deref()).as_deref());
    let share = match my_shares(&state, &who).await {
        Ok(s) => s.into_iter().find(|s| s.id == id),
        Err(e) => return e.into_response(),
    };
    let Some(share) = share else {
        return PageError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no share of yours with this id. My shares lists them all.",
        )
        .into_response();
    };
    let title = if just_shared {
        "Shared: your receipt"
    } else {
        "Receipt"
    };
    let layout = Layout::signed_in(&state, &who, title, "");
    render(
        "resident_receipt.html",
        &layout,
        ReceiptView {
            share,
            just_shared,
            via_query,
        },
    )
    .into_response()
}
