//! The audit log, searchable by actor, action, object and time, page by page.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::elsewhere;
use crate::app::audit::AuditFilter;
use crate::domain::audit::AuditAction;
use crate::store::AuditRecord;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiQuery;
use crate::web::pages::render::{Layout, PageError, humanize, render};
use crate::web::pages::session::SignedIn;

/// Entries per page.
const PAGE: usize = 50;

/// Every action the log records, for the filter's choices.
const ACTIONS: [AuditAction; 16] = [
    AuditAction::Login,
    AuditAction::Logout,
    AuditAction::AccountLocked,
    AuditAction::MfaEnroll,
    AuditAction::MfaConfirm,
    AuditAction::AccountCreate,
    AuditAction::RoleGrant,
    AuditAction::AgencyCreate,
    AuditAction::AgencyUpdate,
    AuditAction::MemberRemove,
    AuditAction::AccessDenied,
    AuditAction::EvidenceExport,
    AuditAction::DeviceCreate,
    AuditAction::DeviceTokenIssue,
    AuditAction::DeviceTokenRevoke,
    AuditAction::DeviceRemove,
];

/// Fails to compile when an action is added to `AuditAction` and not to [`ACTIONS`] (the
/// match must name every one; the test checks each named one is listed).
#[cfg_attr(not(test), allow(dead_code))]
fn listed(a: AuditAction) -> bool {
    match a {
        AuditAction::Login
        | AuditAction::Logout
        | AuditAction::AccountLocked
        | AuditAction::MfaEnroll
        | AuditAction::MfaConfirm
        | AuditAction::AccountCreate
        | AuditAction::RoleGrant
        | AuditAction::AgencyCreate
        | AuditAction::AgencyUpdate
        | AuditAction::MemberRemove
        | AuditAction::AccessDenied
        | AuditAction::EvidenceExport
        | AuditAction::DeviceCreate
        | AuditAction::DeviceTokenIssue
        | AuditAction::DeviceTokenRevoke
        | AuditAction::DeviceRemove => ACTIONS.contains(&a),
    }
}

/// The search form (a GET form: a search changes nothing, and its address can be shared).
#[derive(Debug, Default, Deserialize, Serialize, Clone)]
pub struct AuditQuery {
    /// Part of the actor's email, or an account id.
    #[serde(default)]
    actor: String,
    /// An action's code.
    #[serde(default)]
    action: String,
    /// Part of the object (`agency:ID`, `user:ID`).
    #[serde(default)]
    object: String,
    /// First day (UTC), `YYYY-MM-DD`.
    #[serde(default)]
    from: String,
    /// Last day (UTC), `YYYY-MM-DD`, included.
    #[serde(default)]
    to: String,
    /// Entries older than this id (the next page).
    #[serde(default)]
    before: String,
}

/// A day (or a minute) typed in the form, as a UTC instant: a day starts at midnight; the end
/// of a range is the start of the day after, so the last day is included.
fn parse_bound(text: &str, end: bool) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end {
            day.checked_add_signed(TimeDelta::days(1))
                .ok_or("is past the last date there is")?
        } else {
            day
        };
        return Ok(Some(day.and_time(chrono::NaiveTime::MIN).and_utc()));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Some(t.and_utc()));
        }
    }
    Err(format!("{text:?} is not a date such as 2026-11-20"))
}

/// An action as a choice.
#[derive(Debug, Serialize)]
struct ActionOption {
    code: &'static str,
    label: String,
}

/// One entry as shown.
#[derive(Debug, Serialize)]
struct Row {
    id: i64,
    at: String,
    at_text: String,
    actor: String,
    action: String,
    action_label: String,
    target: String,
    /// The object's page, when it has one (agencies).
    target_href: Option<String>,
    outcome: String,
    detail: String,
    source_ip: String,
}

fn row(r: &AuditRecord) -> Row {
    let target = r.target.clone().unwrap_or_default();
    Row {
        id: r.id,
        at: crate::store::ts(r.at),
        at_text: r.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        actor: r
            .actor_email
            .clone()
            .or_else(|| r.actor_id.clone())
            .unwrap_or_default(),
        action: r.action.clone(),
        action_label: humanize(&r.action),
        target_href: target
            .strip_prefix("agency:")
            .filter(|id| !id.is_empty() && !id.contains(['/', '?', '#']))
            .map(|id| format!("/admin/agencies/{id}")),
        target,
        outcome: r.outcome.clone(),
        detail: r.detail.clone().unwrap_or_default(),
        source_ip: r.source_ip.clone().unwrap_or_default(),
    }
}

#[derive(Debug, Serialize)]
struct View {
    q: AuditQuery,
    actions: Vec<ActionOption>,
    rows: Vec<Row>,
    from_error: Option<String>,
    to_error: Option<String>,
    filtered: bool,
    older_href: Option<String>,
    newest_href: Option<String>,
}

fn href(q: &AuditQuery, before: Option<i64>) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("actor", &q.actor),
        ("action", &q.action),
        ("object", &q.object),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        if !v.trim().is_empty() {
            s.append_pair(k, v.trim());
        }
    }
    if let Some(b) = before {
        s.append_pair("before", &b.to_string());
    }
    let query = s.finish();
    if query.is_empty() {
        "/admin/audit".to_owned()
    } else {
        format!("/admin/audit?{query}")
    }
}

/// `GET /admin/audit`: the audit log, newest first, narrowed by the form's filters
/// (`App::search_audit`), 50 entries a page.
pub async fn audit_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    query: Result<ApiQuery<AuditQuery>, ApiError>,
) -> Result<Response, PageError> {
    if let Some(r) = elsewhere(&who) {
        return Ok(r);
    }
    let ApiQuery(q) = query?;
    let from = parse_bound(&q.from, false);
    let until = parse_bound(&q.to, true);
    let from_error = from.as_ref().err().map(|e| format!("From: {e}."));
    let mut to_error = until.as_ref().err().map(|e| format!("To: {e}."));
    if let (Ok(Some(f)), Ok(Some(u))) = (&from, &until)
        && u <= f
    {
        to_error = Some("To: is before the From day.".to_owned());
    }
    let before = q.before.trim().parse::<i64>().ok();
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = AuditFilter {
        actor: text(&q.actor),
        action: text(&q.action),
        target: text(&q.object),
        from: from.unwrap_or_default(),
        until: until.unwrap_or_default(),
    };
    let filtered = filter.actor.is_some()
        || filter.action.is_some()
        || filter.target.is_some()
        || filter.from.is_some()
        || filter.until.is_some();
    // A range that cannot be read is not searched: a list that ignored it would mislead.
    let mut records = if from_error.is_some() || to_error.is_some() {
        Vec::new()
    } else {
        let limit = i64::try_from(PAGE + 1).unwrap_or(51);
        state
            .app
            .search_audit(&who, &filter, before, Some(limit))
            .await?
    };
    let more = records.len() > PAGE;
    records.truncate(PAGE);
    let older_href = more
        .then(|| records.last().map(|r| href(&q, Some(r.id))))
        .flatten();
    let newest_href = before.map(|_| href(&q, None));
    let layout = Layout::signed_in(&state, &who, "Audit log", "/admin/audit");
    let view = View {
        actions: ACTIONS
            .into_iter()
            .map(|a| ActionOption {
                code: a.as_str(),
                label: humanize(a.as_str()),
            })
            .collect(),
        rows: records.iter().map(row).collect(),
        q,
        from_error,
        to_error,
        filtered,
        older_href,
        newest_href,
    };
    Ok(render("admin_audit.html", &layout, view)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_a_choice() {
        for a in ACTIONS {
            assert!(listed(a));
        }
    }

    #[test]
    fn days_bound_the_range_and_the_last_day_is_included() {
        let from = parse_bound("2026-11-20", false).unwrap().unwrap();
        let to = parse_bound("2026-11-20", true).unwrap().unwrap();
        assert_eq!(crate::store::ts(from), "2026-11-20T00:00:00.000000Z");
        assert_eq!(crate::store::ts(to), "2026-11-21T00:00:00.000000Z");
        let t = parse_bound("2026-11-20T21:05", true).unwrap().unwrap();
        assert_eq!(crate::store::ts(t), "2026-11-20T21:05:00.000000Z");
        assert_eq!(parse_bound("  ", false), Ok(None));
        assert!(parse_bound("20/11/2026", false).is_err());
    }

    #[test]
    fn page_links_keep_the_filters() {
        let q = AuditQuery {
            action: "agency_create".into(),
            actor: "a b@x".into(),
            ..AuditQuery::default()
        };
        assert_eq!(
            href(&q, Some(42)),
            "/admin/audit?actor=a+b%40x&action=agency_create&before=42"
        );
        assert_eq!(href(&AuditQuery::default(), None), "/admin/audit");
    }
}
