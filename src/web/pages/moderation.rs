//! The moderator's queue: pending requests, oldest first, each with its pre-screen findings
//! highlighted in the text and its area on a map, and the approve or reject decision. The same
//! `app` functions as `/api/v1/moderation/*`, which check the role.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::Value;
use serde::{Deserialize, Serialize};

use super::admin::field_errors;
use super::render::{Layout, PageError, escape_html, home_for, humanize, render};
use super::session::{PageForm, SessionForm, SignedIn};
use crate::app::moderation::Decision;
use crate::app::requests::RequestDetail;
use crate::app::{AppError, Principal};
use crate::domain::Role;
use crate::domain::guidelines::Guideline;
use crate::store::{RequestEvent, ts};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiQuery;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/moderation", get(moderation_page))
        .route("/moderation/requests/{id}", get(request_page))
        .route("/moderation/requests/{id}/decision", post(decide))
}

/// What each guideline asks, shown beside its checkbox so a reason is chosen knowingly.
fn guideline_hint(g: Guideline) -> &'static str {
    match g {
        Guideline::IncidentNotSpecific => {
            "A broad category such as \u{201c}suspicious activity\u{201d}, not one specific incident."
        }
        Guideline::VictimPrivacy => {
            "A street address or a victim\u{2019}s name, without an ongoing threat to safety."
        }
        Guideline::SuspectDescriptionTooGeneral => {
            "Race, height, age or sex without at least two distinctive features."
        }
        Guideline::OutsideJurisdiction => "The area is not the agency\u{2019}s to ask about.",
        Guideline::Other => "Anything else: say what in the note.",
    }
}

/// A guideline as a checkbox.
#[derive(Debug, Serialize)]
struct ReasonOption {
    code: &'static str,
    label: String,
    hint: &'static str,
}

fn reason_options() -> Vec<ReasonOption> {
    Guideline::ALL
        .into_iter()
        .map(|g| ReasonOption {
            code: g.as_str(),
            label: humanize(g.as_str()),
            hint: guideline_hint(g),
        })
        .collect()
}

/// One part of the details the pre-screen points at: a character range and its guideline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// First character (Unicode scalar values, as `guidelines::Span` counts).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// The guideline code.
    pub guideline: String,
}

/// `text`, HTML-escaped, with each marked range wrapped in `<mark>`. Overlapping ranges become
/// one `<mark>` naming every guideline involved; ranges past the end are cut to the text, and
/// empty ones are dropped, so stored findings of an older screen can never break the page.
pub fn highlight(text: &str, marks: &[Mark]) -> String {
    // Byte offset of each char boundary: char `i` starts at `bounds[i]`; the last is the end.
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()))
        .collect();
    let chars = bounds.len() - 1;
    let mut spans: Vec<(usize, usize, &str)> = marks
        .iter()
        .map(|m| (m.start.min(chars), m.end.min(chars), m.guideline.as_str()))
        .filter(|(s, e, _)| s < e)
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize, BTreeSet<&str>)> = Vec::new();
    for (start, end, guideline) in spans {
        match merged.last_mut() {
            Some(last) if start < last.1 => {
                last.1 = last.1.max(end);
                last.2.insert(guideline);
            }
            _ => merged.push((start, end, BTreeSet::from([guideline]))),
        }
    }
    let mut out = String::with_capacity(text.len() + merged.len() * 64);
    let mut at = 0;
    for (start, end, guidelines) in merged {
        out.push_str(&escape_html(&text[bounds[at]..bounds[start]]));
        let codes: Vec<&str> = guidelines.iter().copied().collect();
        let labels: Vec<String> = codes.iter().map(|c| humanize(c)).collect();
        out.push_str(&format!(
            "<mark data-guideline=\"{}\" title=\"{}\">",
            escape_html(&codes.join(" ")),
            escape_html(&labels.join(", "))
        ));
        out.push_str(&escape_html(&text[bounds[start]..bounds[end]]));
        out.push_str("</mark>");
        at = end;
    }
    out.push_str(&escape_html(&text[bounds[at]..]));
    out
}

/// One pre-screen finding, as the moderator reads it.
#[derive(Debug, Serialize)]
struct FindingView {
    guideline: String,
    label: String,
    message: String,
    /// The words it points at.
    excerpt: String,
}

/// The findings stored with a request (`[{guideline, message, span: {start, end}}]`, see
/// `domain::guidelines::Finding`), as list entries and as marks in the details. A finding
/// that names another field than the details (none do yet) is listed but not marked.
fn findings(details: &str, stored: &serde_json::Value) -> (Vec<FindingView>, Vec<Mark>) {
    let mut views = Vec::new();
    let mut marks = Vec::new();
    for f in stored.as_array().map(Vec::as_slice).unwrap_or_default() {
        let guideline = f["guideline"].as_str().unwrap_or("other").to_owned();
        let span = f["span"]["start"]
            .as_u64()
            .zip(f["span"]["end"].as_u64())
            .and_then(|(s, e)| Some((usize::try_from(s).ok()?, usize::try_from(e).ok()?)));
        let in_details = f["field"].as_str().is_none_or(|field| field == "details");
        let excerpt = match span {
            Some((s, e)) if in_details => {
                details.chars().skip(s).take(e.saturating_sub(s)).collect()
            }
            _ => String::new(),
        };
        if let (Some((start, end)), true) = (span, in_details) {
            marks.push(Mark {
                start,
                end,
                guideline: guideline.clone(),
            });
        }
        views.push(FindingView {
            label: humanize(&guideline),
            message: f["message"].as_str().unwrap_or_default().to_owned(),
            guideline,
            excerpt,
        });
    }
    (views, marks)
}

/// A suspect description in words.
#[derive(Debug, Serialize)]
struct SuspectView {
    descriptors: Vec<(String, String)>,
    features: Vec<String>,
}

fn suspects(stored: &serde_json::Value) -> Vec<SuspectView> {
    stored
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|s| SuspectView {
            descriptors: s["descriptors"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (humanize(k), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            features: s["distinctive_features"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|f| f.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// A request as the moderator reviews it.
#[derive(Debug, Serialize)]
struct ItemView {
    id: String,
    status: String,
    agency_name: String,
    incident_type: String,
    /// The details, escaped, with the findings marked (safe: built by [`highlight`]).
    details_html: Value,
    findings: Vec<FindingView>,
    footage_start: String,
    footage_end: String,
    created_at: String,
    revision: i64,
    investigation_code: String,
    ongoing_threat: bool,
    suspects: Vec<SuspectView>,
    contact_name: String,
    contact_phone: String,
    contact_email: String,
    area_json: String,
    area_sq_mi: String,
    public_id: Option<String>,
}

fn item_view(d: &RequestDetail) -> ItemView {
    let r = &d.record;
    let c = &r.content;
    let (found, marks) = findings(&c.details, &r.findings);
    ItemView {
        id: r.id.clone(),
        status: r.status.clone(),
        agency_name: r.agency_name.clone(),
        incident_type: c.incident_type.clone(),
        details_html: Value::from_safe_string(highlight(&c.details, &marks)),
        findings: found,
        footage_start: ts(c.footage_start),
        footage_end: ts(c.footage_end),
        created_at: ts(r.created_at),
        revision: r.revision,
        investigation_code: c.investigation_code.clone(),
        ongoing_threat: c.ongoing_threat,
        suspects: suspects(&c.suspects),
        contact_name: c.contact_name.clone(),
        contact_phone: c.contact_phone.clone(),
        contact_email: c.contact_email.clone(),
        area_json: c.area.to_string(),
        area_sq_mi: format!("{:.3}", c.area_sq_mi),
        public_id: r.public_id.clone(),
    }
}

/// What the decision form holds, to show it again after an error.
#[derive(Debug, Default, Serialize)]
struct FormState {
    reasons: Vec<String>,
    note: String,
    /// The problem with the reasons ticked.
    reasons_error: Option<String>,
    /// The problem with the note.
    note_error: Option<String>,
    /// A problem not tied to a field (the request was decided meanwhile).
    error: Option<String>,
}

/// A message at the top of the queue after a decision.
#[derive(Debug, Serialize)]
struct Confirmation {
    approved: bool,
    incident_type: String,
    agency_name: String,
    reasons: Vec<String>,
    public_id: Option<String>,
}

#[derive(Debug, Serialize)]
struct QueueView {
    csrf: String,
    items: Vec<ItemView>,
    reasons: Vec<ReasonOption>,
    confirmation: Option<Confirmation>,
    form: FormState,
}

/// The queue's query: the request just decided, for the confirmation.
#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    decided: Option<String>,
}

/// Moderation pages are the moderator's; anyone else goes to their own home. (Navigation
/// only: the `app` functions refuse other roles themselves.)
fn elsewhere(who: &Principal) -> Option<Response> {
    (who.role != Role::Moderator).then(|| Redirect::to(home_for(who.role).0).into_response())
}

async fn confirmation(state: &AppState, who: &Principal, id: &str) -> Option<Confirmation> {
    let d = state.app.request_detail(who, id, None).await.ok()?;
    let decision = d.decision.as_ref()?;
    Some(Confirmation {
        approved: d.record.status == "published",
        incident_type: d.record.content.incident_type.clone(),
        agency_name: d.record.agency_name.clone(),
        reasons: decision.reasons.iter().map(|r| humanize(r)).collect(),
        public_id: d.record.public_id.clone(),
    })
}

/// `GET /moderation`: the requests waiting for review, oldest first (`App::moderation_queue`),
/// each with its findings marked in the text, its area on a map and the decision form.
pub async fn moderation_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    query: Result<ApiQuery<QueueQuery>, ApiError>,
) -> Result<Response, PageError> {
    if let Some(r) = elsewhere(&who) {
        return Ok(r);
    }
    let q = query.map(|ApiQuery(q)| q).unwrap_or_default();
    let queue = state.app.moderation_queue(&who).await?;
    let confirmation = match q.decided.as_deref() {
        Some(id) if !id.is_empty() => confirmation(&state, &who, id).await,
        _ => None,
    };
    let layout = Layout::signed_in(&state, &who, "Moderation queue", "/moderation");
    let view = QueueView {
        csrf: layout.csrf.clone(),
        items: queue.iter().map(item_view).collect(),
        reasons: reason_options(),
        confirmation,
        form: FormState::default(),
    };
    Ok(render("moderation_queue.html", &layout, view)?.into_response())
}

/// One entry of the request's history.
#[derive(Debug, Serialize)]
struct EventView {
    at: String,
    kind: String,
    revision: i64,
    reasons: Vec<String>,
    note: Option<String>,
}

fn event_view(e: &RequestEvent) -> EventView {
    EventView {
        at: ts(e.at),
        kind: humanize(&e.kind),
        revision: e.revision,
        reasons: e.reasons.iter().map(|r| humanize(r)).collect(),
        note: e.note.clone(),
    }
}

#[derive(Debug, Serialize)]
struct RequestPageView {
    csrf: String,
    item: ItemView,
    history: Vec<EventView>,
    reasons: Vec<ReasonOption>,
    form: FormState,
}

async fn request_response(
    state: &AppState,
    who: &Principal,
    id: &str,
    form: FormState,
) -> Result<Response, PageError> {
    let detail = state.app.request_detail(who, id, None).await?;
    let history = state.app.request_history(who, id).await?;
    let title = format!(
        "Review: {} from {}",
        humanize(&detail.record.content.incident_type),
        detail.record.agency_name
    );
    let layout = Layout::signed_in(state, who, &title, "/moderation");
    let view = RequestPageView {
        csrf: layout.csrf.clone(),
        item: item_view(&detail),
        history: history.iter().map(event_view).collect(),
        reasons: reason_options(),
        form,
    };
    Ok(render("moderation_request.html", &layout, view)?.into_response())
}

/// `GET /moderation/requests/{id}`: one request in full, with its history and, while it is
/// pending, the decision form.
pub async fn request_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    if let Some(r) = elsewhere(&who) {
        return Ok(r);
    }
    request_response(&state, &who, &id, FormState::default()).await
}

/// The decision form: which button was pressed, the guideline boxes ticked (`reason_CODE`,
/// one field per box, since a plain form decoder keeps one value per name) and the note.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(flatten)]
    boxes: BTreeMap<String, String>,
}

impl PageForm for DecisionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl DecisionForm {
    /// The guideline codes ticked, in the order the form lists them. Unknown codes are kept,
    /// so that `app` names them in its refusal.
    fn reasons(&self) -> Vec<String> {
        let mut codes: Vec<String> = self
            .boxes
            .keys()
            .filter_map(|k| k.strip_prefix("reason_"))
            .map(str::to_owned)
            .collect();
        codes.sort_by_key(|c| {
            Guideline::parse(c)
                .and_then(|g| Guideline::ALL.iter().position(|x| *x == g))
                .unwrap_or(usize::MAX)
        });
        codes
    }
}

/// `POST /moderation/requests/{id}/decision`: approves (publishes) or rejects with guideline
/// reasons and a note (`App::decide`), then back to the queue with a confirmation. A refused
/// decision shows the request again with the problem beside the field and the choices kept.
pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<DecisionForm>,
) -> Result<Response, PageError> {
    let who = f.who;
    let decision = match f.form.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(PageError::bad_form("choose Approve or Reject")),
    };
    let reasons = f.form.reasons();
    let note = Some(f.form.note.as_str()).filter(|n| !n.trim().is_empty());
    match state.app.decide(&who, &id, decision, &reasons, note).await {
        Ok(_) => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("decided", &id)
                .finish();
            Ok(Redirect::to(&format!("/moderation?{query}")).into_response())
        }
        Err(AppError::Invalid(v)) => {
            let mut errors = field_errors(&v);
            let form = FormState {
                reasons,
                note: f.form.note,
                reasons_error: errors.remove("reasons"),
                note_error: errors.remove("note"),
                // Anything else (none yet) still shows, above the form.
                error: (!errors.is_empty()).then(|| v.message.clone()),
            };
            request_response(&state, &who, &id, form).await
        }
        Err(e @ AppError::Conflict { .. }) => {
            let form = FormState {
                error: Some(PageError::from(e).message),
                ..FormState::default()
            };
            request_response(&state, &who, &id, form).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(start: usize, end: usize, guideline: &str) -> Mark {
        Mark {
            start,
            end,
            guideline: guideline.into(),
        }
    }

    #[test]
    fn marks_wrap_the_spans_and_everything_else_is_escaped() {
        let text = "Taken from 1423 Oak Street <b>by</b> a man";
        let html = highlight(text, &[mark(11, 26, "victim_privacy")]);
        assert_eq!(
            html,
            "Taken from <mark data-guideline=\"victim_privacy\" title=\"Victim privacy\">1423 Oak Street</mark> &lt;b&gt;by&lt;/b&gt; a man"
        );
    }

    #[test]
    fn spans_count_characters_not_bytes() {
        let text = "Caf\u{e9} \u{201c}Jos\u{e9}\u{201d} & 12 Elm St";
        // "Jos\u{e9}" starts at char 6 (after the opening quote) and is 4 chars long.
        let html = highlight(text, &[mark(6, 10, "victim_privacy")]);
        assert!(
            html.contains("\u{201c}<mark data-guideline=\"victim_privacy\" title=\"Victim privacy\">Jos\u{e9}</mark>\u{201d} &amp; 12"),
            "{html}"
        );
    }

    #[test]
    fn overlaps_merge_and_bad_spans_are_harmless() {
        let text = "a tall man, the victim Mary";
        let html = highlight(
            text,
            &[
                mark(16, 27, "victim_privacy"),
                mark(2, 10, "suspect_description_too_general"),
                mark(23, 40, "other"),
                mark(5, 5, "other"),
                mark(90, 99, "other"),
            ],
        );
        assert_eq!(
            html,
            "a <mark data-guideline=\"suspect_description_too_general\" title=\"Suspect description too general\">tall man</mark>, the <mark data-guideline=\"other victim_privacy\" title=\"Other, Victim privacy\">victim Mary</mark>"
        );
        assert_eq!(highlight("<x>", &[]), "&lt;x&gt;");
        assert_eq!(highlight("", &[mark(0, 3, "other")]), "");
    }

    #[test]
    fn a_guideline_code_cannot_inject_markup() {
        let html = highlight("abc", &[mark(0, 1, "\"><script>")]);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.starts_with("<mark data-guideline=\"&quot;&gt;&lt;script&gt;\""));
    }

    #[test]
    fn stored_findings_become_marks_and_excerpts() {
        let details = "A package was taken from 1423 Oak Street by a tall man.";
        let stored = serde_json::json!([
            {"guideline": "victim_privacy", "message": "a street address", "span": {"start": 25, "end": 40}},
            {"guideline": "other", "message": "no span"},
        ]);
        let (views, marks) = findings(details, &stored);
        assert_eq!(views.len(), 2);
        assert_eq!(views[0].excerpt, "1423 Oak Street");
        assert_eq!(views[0].label, "Victim privacy");
        assert_eq!(views[1].excerpt, "");
        assert_eq!(marks, vec![mark(25, 40, "victim_privacy")]);
        assert!(findings(details, &serde_json::Value::Null).0.is_empty());
    }

    #[test]
    fn the_screen_s_own_findings_mark_the_phrases_they_name() {
        use crate::domain::guidelines::{ScreenContext, screen};
        let details = "Someone took a parcel from the porch at 1423 Oak Street on Tuesday.";
        let stored = serde_json::to_value(screen(details, &ScreenContext::default())).unwrap();
        let (_, marks) = findings(details, &stored);
        let html = highlight(details, &marks);
        assert!(html.contains(">1423 Oak Street</mark>"), "{html}");
    }

    #[tokio::test]
    async fn ticked_boxes_become_reasons_in_the_form_s_order() {
        use axum::extract::FromRequest;
        let req = axum::http::Request::post("/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(
                "csrf=x&decision=reject&note=n&reason_other=1&reason_victim_privacy=1",
            ))
            .unwrap();
        let axum::Form(form) = axum::Form::<DecisionForm>::from_request(req, &())
            .await
            .unwrap();
        assert_eq!(form.reasons(), vec!["victim_privacy", "other"]);
        assert_eq!(form.decision, "reject");
    }
}
