//! The investigator portal: the agency's requests, a new request drawn on the map, a request's
//! submissions with their custody, a request revised after a rejection, and the agency admin's
//! team page.
//!
//! Every page calls the same `app` function as the JSON API, which checks who may see what;
//! the role test here only decides where to send someone who has no business in the portal
//! (to their own home page), it protects nothing.

mod new_request;
mod request;
mod revise;
mod team;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::render::{Layout, PageError, home_for, render};
use super::session::SignedIn;
use crate::app::Principal;
use crate::domain::request::is_open;
use crate::store::{RequestEvent, RequestRecord};
use crate::web::AppState;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agency", get(dashboard_page))
        .route("/agency/requests/new", get(new_request::new_request_page))
        // A reload of a posted form's address (GET) goes back to where it came from.
        .route(
            "/agency/requests",
            get(|| async { Redirect::to("/agency") }).post(new_request::create),
        )
        .route(
            "/agency/requests/check",
            get(|| async { Redirect::to("/agency/requests/new") }).post(new_request::check),
        )
        .route("/agency/requests/{id}", get(request::request_page))
        .route("/agency/requests/{id}/comments", post(request::add_comment))
        .route("/agency/requests/{id}/withdraw", post(request::withdraw))
        .route(
            "/agency/requests/{id}/revise",
            get(revise::revise_page).post(revise::resubmit),
        )
        .route(
            "/agency/requests/{id}/revise/check",
            get(revise::back_to_form).post(revise::check),
        )
        .route("/agency/team", get(team::team_page).post(team::add_member))
        .route("/agency/team/{user_id}/remove", post(team::remove_member))
}

/// Sends anyone who is not an agency member to their own home page. Navigation only: the
/// `app` functions behind every page check the role and the agency themselves.
fn members_only(who: &Principal) -> Option<Redirect> {
    (!who.role.is_agency_member()).then(|| Redirect::to(home_for(who.role).0))
}

/// A request's state as the agency reads it: a CSS key and the words.
#[derive(Debug, Clone, Serialize)]
struct Status {
    /// `pending`, `rejected`, `withdrawn`, `open` or `closed` (the badge's class).
    key: &'static str,
    /// What the badge says.
    label: &'static str,
}

fn status_of(r: &RequestRecord, now: DateTime<Utc>) -> Status {
    let (key, label) = match r.status.as_str() {
        "pending_review" => ("pending", "Pending review"),
        "rejected" => ("rejected", "Rejected"),
        "withdrawn" => ("withdrawn", "Withdrawn"),
        "published" => match r.response_deadline {
            Some(deadline) if !is_open(deadline, now) => ("closed", "Closed"),
            _ => ("open", "Published · open"),
        },
        _ => ("pending", "Unknown"),
    };
    Status { key, label }
}

/// A footage window in the agency's own time zone, as investigators think of it:
/// `23 Nov 2026, 14:00 PST to 23 Nov 2026, 16:00 PST (America/Los_Angeles)`.
fn local_window(start: DateTime<Utc>, end: DateTime<Utc>, zone: &str) -> String {
    let Ok(tz) = crate::domain::local_time::zone(zone) else {
        return String::new();
    };
    let f = |t: DateTime<Utc>| {
        t.with_timezone(&tz)
            .format("%-d %b %Y, %H:%M %Z")
            .to_string()
    };
    format!("{} to {} ({})", f(start), f(end), tz.name())
}

/// A moderation decision as the agency reads it.
#[derive(Debug, Clone, Serialize)]
struct Decision {
    /// `approved` or `rejected`.
    kind: String,
    /// Guideline codes (the template humanizes them).
    reasons: Vec<String>,
    /// The moderator's note.
    note: Option<String>,
    /// When.
    at: DateTime<Utc>,
}

impl From<RequestEvent> for Decision {
    fn from(e: RequestEvent) -> Self {
        Decision {
            kind: e.kind,
            reasons: e.reasons,
            note: e.note.filter(|n| !n.trim().is_empty()),
            at: e.at,
        }
    }
}

/// One line of the dashboard.
#[derive(Debug, Serialize)]
struct Row {
    id: String,
    incident_type: String,
    investigation_code: String,
    created_at: DateTime<Utc>,
    footage_start: DateTime<Utc>,
    status: Status,
    response_deadline: Option<DateTime<Utc>>,
    /// The rejection, for rejected requests.
    rejection: Option<Decision>,
}

#[derive(Debug, Serialize)]
struct Dashboard {
    rows: Vec<Row>,
    /// Only investigators create requests.
    can_create: bool,
}

/// `GET /agency`: the agency's requests, newest first, with their state; a rejected one with
/// the moderator's reasons and note.
pub async fn dashboard_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    if let Some(r) = members_only(&who) {
        return r.into_response();
    }
    match dashboard(&state, &who).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn dashboard(state: &AppState, who: &Principal) -> Result<Response, PageError> {
    let app = &state.app;
    let now = app.now();
    let list = app.list_requests(who).await?;
    let mut rows = Vec::with_capacity(list.len());
    for d in list {
        let r = d.record;
        // The list carries no decisions; only rejected requests need theirs here.
        let rejection = if r.status == "rejected" {
            app.request_detail(who, &r.id, None)
                .await?
                .decision
                .map(Decision::from)
        } else {
            None
        };
        rows.push(Row {
            status: status_of(&r, now),
            id: r.id,
            incident_type: r.content.incident_type,
            investigation_code: r.content.investigation_code,
            created_at: r.created_at,
            footage_start: r.content.footage_start,
            response_deadline: r.response_deadline,
            rejection,
        });
    }
    let layout = Layout::signed_in(state, who, "Your agency's requests", "/agency");
    Ok(render(
        "agency_dashboard.html",
        &layout,
        Dashboard {
            rows,
            can_create: who.role == crate::domain::Role::Investigator,
        },
    )?
    .into_response())
}
