//! `GET /agency/requests/{id}`: one of the agency's requests as the agency sees it (status,
//! moderation, history, area, details, comments) with what residents shared: each clip plays
//! in the page, with its hash, the submitter's details and its chain of custody. Another
//! agency's request answers the 404 page, as the API does.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Decision, Status, local_window, members_only, status_of};
use crate::app::{AppError, Principal};
use crate::domain::Role;
use crate::store::{CommentRecord, RequestRecord};
use crate::web::AppState;
use crate::web::pages::render::{Layout, PageError, humanize, render};
use crate::web::pages::session::{PageForm, SessionForm, SignedIn};

/// A suspect as the page lists them.
#[derive(Debug, Serialize)]
struct SuspectView {
    /// (descriptor, value), e.g. ("Age", "20s").
    descriptors: Vec<(String, String)>,
    features: Vec<String>,
}

/// A pre-screen finding with the words it is about.
#[derive(Debug, Serialize)]
struct FindingView {
    guideline: String,
    message: String,
    excerpt: String,
}

/// One entry of the history.
#[derive(Debug, Serialize)]
struct HistoryRow {
    at: DateTime<Utc>,
    kind: String,
    revision: i64,
    reasons: Vec<String>,
    note: Option<String>,
}

/// A comment.
#[derive(Debug, Serialize)]
struct CommentView {
    /// The agency's name for its own replies; the resident's display name otherwise.
    author: String,
    as_agency: bool,
    body: String,
    created_at: DateTime<Utc>,
}

/// One custody event.
#[derive(Debug, Serialize)]
struct CustodyRow {
    seq: u64,
    kind: &'static str,
    actor: String,
    at: String,
    reason: String,
    hash: String,
}

/// One shared clip.
#[derive(Debug, Serialize)]
struct ClipView {
    id: String,
    sha256: String,
    size: u64,
    size_text: String,
    content_type: String,
    filename: Option<String>,
    device_name: String,
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    content_href: String,
    custody: Vec<CustodyRow>,
    /// Every link and hash of the chain checks out.
    custody_ok: bool,
}

/// One submission: who shared, and their clips.
#[derive(Debug, Serialize)]
struct SubmissionView {
    id: String,
    display_name: String,
    home_address: String,
    email: String,
    created_at: DateTime<Utc>,
    clips: Vec<ClipView>,
}

#[derive(Debug, Serialize)]
struct RequestPage {
    csrf: String,
    id: String,
    status: Status,
    /// Just submitted from the form.
    submitted: bool,
    /// Just revised and resubmitted.
    resubmitted: bool,
    incident_type: String,
    details: String,
    footage_start: DateTime<Utc>,
    footage_end: DateTime<Utc>,
    /// The footage window in the agency's time zone.
    footage_local: String,
    contact_name: String,
    contact_phone: String,
    contact_email: String,
    investigation_code: String,
    ongoing_threat: bool,
    suspects: Vec<SuspectView>,
    area_json: String,
    area_sq_mi: String,
    revision: i64,
    created_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    response_deadline: Option<DateTime<Utc>>,
    share_path: Option<String>,
    log_index: Option<i64>,
    findings: Vec<FindingView>,
    decision: Option<Decision>,
    history: Vec<HistoryRow>,
    /// `None` before publication: comments open when the request is published.
    comments: Option<Vec<CommentView>>,
    comment_body: String,
    comment_error: Option<String>,
    submissions: Vec<SubmissionView>,
    clip_count: usize,
    export_href: String,
    can_withdraw: bool,
    /// Pending review or rejected, and an investigator looking: the revision form is open.
    can_revise: bool,
}

fn excerpt(details: &str, span: &serde_json::Value) -> String {
    let at = |k: &str| {
        span[k]
            .as_u64()
            .and_then(|v| usize::try_from(v).ok())
            .unwrap_or(0)
    };
    let (start, end) = (at("start"), at("end"));
    details
        .chars()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect()
}

fn size_text(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // a display figure
    let b = bytes as f64;
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", b / f64::from(1u32 << 30))
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", b / f64::from(1u32 << 20))
    } else if bytes >= 1 << 10 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

fn suspects_of(value: &serde_json::Value) -> Vec<SuspectView> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .map(|s| SuspectView {
                    descriptors: s["descriptors"]
                        .as_object()
                        .map(|d| {
                            d.iter()
                                .map(|(k, v)| (humanize(k), v.as_str().unwrap_or("").to_owned()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    features: s["distinctive_features"]
                        .as_array()
                        .map(|f| {
                            f.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn comment_view(c: CommentRecord, record: &RequestRecord) -> CommentView {
    CommentView {
        author: if c.as_agency {
            record.agency_name.clone()
        } else {
            c.author_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "A resident".to_owned())
        },
        as_agency: c.as_agency,
        body: c.body,
        created_at: c.created_at,
    }
}

/// What the page confirms at the top, after a redirect from the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    None,
    /// A new request was submitted for review.
    Submitted,
    /// A revision was resubmitted for review.
    Resubmitted,
}

/// Builds the page from the `app` functions the API uses; `comment` is a reply to show again
/// with its problem.
async fn page(
    state: &AppState,
    who: &Principal,
    id: &str,
    notice: Notice,
    comment: Option<(String, String)>,
) -> Result<Response, PageError> {
    let app = &state.app;
    let now = app.now();
    let detail = app.request_detail(who, id, None).await?;
    let history = app.request_history(who, id).await?;
    let r = detail.record;
    let agency = app.get_agency(who, &r.agency_id).await?;
    let published = r.status == "published";
    let comments = if published {
        let (_, list) = app.comments(who, id, None).await?;
        Some(list.into_iter().map(|c| comment_view(c, &r)).collect())
    } else {
        None
    };
    let mut submissions = Vec::new();
    let mut clip_count = 0;
    for s in app.request_submissions(who, id).await? {
        let mut clips = Vec::new();
        for (item, _) in s.items {
            let log = app.custody(who, &item.id).await?;
            clips.push(ClipView {
                content_href: format!("/api/v1/evidence/{}/content", item.id),
                size_text: size_text(item.size),
                custody: log
                    .events
                    .into_iter()
                    .map(|e| CustodyRow {
                        seq: e.seq,
                        kind: e.kind.as_str(),
                        actor: e.actor,
                        at: e.at,
                        reason: e.reason,
                        hash: e.hash,
                    })
                    .collect(),
                custody_ok: log.verified.is_ok(),
                id: item.id,
                sha256: item.sha256,
                size: item.size,
                content_type: item.content_type,
                filename: item.filename,
                device_name: item.device_name,
                started_at: item.started_at,
                ended_at: item.ended_at,
                received_at: item.created_at,
            });
        }
        clip_count += clips.len();
        submissions.push(SubmissionView {
            id: s.submission.id,
            display_name: s.submission.display_name,
            home_address: s.submission.home_address,
            email: s.submission.email,
            created_at: s.submission.created_at,
            clips,
        });
    }
    let c = &r.content;
    let findings = r
        .findings
        .as_array()
        .map(|list| {
            list.iter()
                .map(|f| FindingView {
                    guideline: f["guideline"].as_str().unwrap_or("other").to_owned(),
                    message: f["message"].as_str().unwrap_or("").to_owned(),
                    excerpt: excerpt(&c.details, &f["span"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let (comment_body, comment_error) = match comment {
        Some((body, error)) => (body, Some(error)),
        None => (String::new(), None),
    };
    let title = format!("{} · {}", humanize(&c.incident_type), c.investigation_code);
    // Before publication its investigators may still revise or withdraw it.
    let changeable = who.role == Role::Investigator
        && matches!(r.status.as_str(), "pending_review" | "rejected");
    let layout = Layout::signed_in(state, who, &title, "/agency");
    let view = RequestPage {
        csrf: layout.csrf.clone(),
        status: status_of(&r, now),
        submitted: notice == Notice::Submitted,
        resubmitted: notice == Notice::Resubmitted,
        incident_type: c.incident_type.clone(),
        details: c.details.clone(),
        footage_start: c.footage_start,
        footage_end: c.footage_end,
        footage_local: local_window(c.footage_start, c.footage_end, &agency.time_zone),
        contact_name: c.contact_name.clone(),
        contact_phone: c.contact_phone.clone(),
        contact_email: c.contact_email.clone(),
        investigation_code: c.investigation_code.clone(),
        ongoing_threat: c.ongoing_threat,
        suspects: suspects_of(&c.suspects),
        area_json: serde_json::to_string(&c.area).unwrap_or_default(),
        area_sq_mi: format!("{:.3}", c.area_sq_mi),
        revision: r.revision,
        created_at: r.created_at,
        published_at: r.published_at,
        response_deadline: r.response_deadline,
        share_path: r.public_id.as_ref().map(|p| format!("/r/{p}")),
        log_index: r.log_index,
        findings,
        decision: detail.decision.map(Decision::from),
        history: history
            .into_iter()
            .map(|e| HistoryRow {
                at: e.at,
                kind: e.kind,
                revision: e.revision,
                reasons: e.reasons,
                note: e.note.filter(|n| !n.trim().is_empty()),
            })
            .collect(),
        comments,
        comment_body,
        comment_error,
        clip_count,
        submissions,
        export_href: format!("/api/v1/requests/{}/export", r.id),
        can_withdraw: changeable,
        can_revise: changeable,
        id: r.id,
    };
    Ok(render("agency_request.html", &layout, view)?.into_response())
}

/// `GET /agency/requests/{id}`.
pub async fn request_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = members_only(&who) {
        return r.into_response();
    }
    let flag = |name: &str| {
        query
            .as_deref()
            .is_some_and(|q| q.split('&').any(|p| p == format!("{name}=1")))
    };
    let notice = if flag("submitted") {
        Notice::Submitted
    } else if flag("resubmitted") {
        Notice::Resubmitted
    } else {
        Notice::None
    };
    page(&state, &who, &id, notice, None)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// The reply form.
#[derive(Debug, Deserialize)]
pub struct CommentForm {
    csrf: String,
    #[serde(default)]
    body: String,
}

impl PageForm for CommentForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /agency/requests/{id}/comments`: a reply, shown as the agency's
/// (`App::add_comment`). A reply with a problem comes back with it, text kept.
pub async fn add_comment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<CommentForm>,
) -> Response {
    if let Some(r) = members_only(&f.who) {
        return r.into_response();
    }
    match state.app.add_comment(&f.who, &id, &f.form.body, None).await {
        Ok(_) => Redirect::to(&format!("/agency/requests/{id}#comments")).into_response(),
        Err(AppError::Invalid(v)) => {
            let problem = v
                .details
                .values()
                .flatten()
                .next()
                .cloned()
                .unwrap_or(v.message);
            let error = format!("The reply {problem}.");
            page(
                &state,
                &f.who,
                &id,
                Notice::None,
                Some((f.form.body, error)),
            )
            .await
            .unwrap_or_else(IntoResponse::into_response)
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// A form with only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

impl PageForm for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /agency/requests/{id}/withdraw`: withdraws a request before publication
/// (`App::withdraw_request`); its history stays.
pub async fn withdraw(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<CsrfForm>,
) -> Response {
    if let Some(r) = members_only(&f.who) {
        return r.into_response();
    }
    match state.app.withdraw_request(&f.who, &id).await {
        Ok(()) => Redirect::to(&format!("/agency/requests/{id}")).into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size_text(512), "512 bytes");
        assert_eq!(size_text(1536), "1.5 KiB");
        assert_eq!(size_text(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn excerpts_count_characters() {
        let span = serde_json::json!({"start": 2, "end": 5});
        assert_eq!(excerpt("a école", &span), "éco");
    }
}
