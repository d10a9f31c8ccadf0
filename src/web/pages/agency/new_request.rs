//! A new request: `GET /agency/requests/new` (the form, with the jurisdiction on a map to draw
//! the area on), `POST /agency/requests/check` (validates and shows the automated pre-screen's
//! findings, storing nothing) and `POST /agency/requests` (submits it for review).
//!
//! The form keeps everything typed and drawn when it comes back with problems, and each problem
//! is shown next to its field: the domain names fields as the JSON API does
//! (`investigator.phone`, `suspects.0.distinctive_features`), which [`form_key`] maps to the
//! form's own names.
//!
//! The same form revises a request that is pending review or was rejected
//! (`/agency/requests/{id}/revise`, see [`super::revise`]): prefilled from the request as
//! stored, with the moderator's decision at the top, the same check step, and
//! `App::revise_request` instead of `App::create_request`.
//!
//! Times are typed in the agency's own time zone (`datetime-local` pickers have none) and
//! converted here to the UTC instants the API takes; the hour the clocks skip or repeat is a
//! field error rather than a guess.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{Decision, Status, local_window, members_only};
use crate::app::{AppError, Principal};
use crate::domain::guidelines::Finding;
use crate::domain::local_time;
use crate::domain::request::{Contact, Draft, GENERAL_DESCRIPTORS, IncidentType, Suspect};
use crate::domain::validation::FieldErrors;
use crate::store::{AgencyRecord, RequestContent};
use crate::web::AppState;
use crate::web::pages::render::{Layout, PageError, humanize, render};
use crate::web::pages::session::{PageForm, SessionForm, SignedIn};

/// The most suspect rows read from one form (the domain's own limit is lower and is reported
/// as a field error; this only bounds the work a crafted form can cause).
const MAX_ROWS: usize = 40;

/// The form as posted: name/value pairs in order. The suspects are repeated rows
/// (`suspect-0-age`, `suspect-1-features`, …), which a flat struct cannot hold.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct RawForm(Vec<(String, String)>);

/// The request a revision form changes, with what the investigator must fix.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Revision {
    /// The request's id.
    pub(super) id: String,
    /// Its state (pending review or rejected).
    pub(super) status: Status,
    /// Its revision number as stored.
    pub(super) revision: i64,
    /// The moderator's latest decision: the reasons and note of a rejection.
    pub(super) decision: Option<Decision>,
}

impl RawForm {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl PageForm for RawForm {
    fn csrf(&self) -> &str {
        self.get("csrf")
    }
}

/// One suspect row of the form.
#[derive(Debug, Clone, Default, Serialize)]
struct SuspectRow {
    /// General descriptors by key (race, sex, age, height, build).
    descriptors: BTreeMap<String, String>,
    /// Distinctive features, one per line.
    features: String,
    /// Problems with this suspect.
    errors: Vec<String>,
}

impl SuspectRow {
    fn is_blank(&self) -> bool {
        self.features.trim().is_empty() && self.descriptors.values().all(|v| v.trim().is_empty())
    }

    fn to_suspect(&self) -> Suspect {
        Suspect {
            descriptors: self
                .descriptors
                .iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| (k.clone(), v.trim().to_owned()))
                .collect(),
            distinctive_features: self
                .features
                .lines()
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// What the form holds, as typed.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct Fields {
    incident_type: String,
    details: String,
    /// `YYYY-MM-DDTHH:MM` in the agency's time zone.
    footage_start: String,
    footage_end: String,
    contact_name: String,
    contact_phone: String,
    contact_email: String,
    /// The drawn (or pasted) area: GeoJSON text.
    area: String,
    investigation_code: String,
    ongoing_threat: bool,
    suspects: Vec<SuspectRow>,
}

impl Fields {
    /// A stored request as the form shows it: its times on the agency's wall clock, its area
    /// as GeoJSON text (the map draws it), its suspects one row each.
    pub(super) fn from_stored(c: &RequestContent, zone: Tz) -> Fields {
        let local = |t: DateTime<Utc>| {
            local_time::to_local(t, zone)
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        };
        // Stored suspects were validated on the way in; an unreadable list shows no rows.
        let suspects: Vec<Suspect> = serde_json::from_value(c.suspects.clone()).unwrap_or_default();
        Fields {
            incident_type: c.incident_type.clone(),
            details: c.details.clone(),
            footage_start: local(c.footage_start),
            footage_end: local(c.footage_end),
            contact_name: c.contact_name.clone(),
            contact_phone: c.contact_phone.clone(),
            contact_email: c.contact_email.clone(),
            area: serde_json::to_string(&c.area).unwrap_or_default(),
            investigation_code: c.investigation_code.clone(),
            ongoing_threat: c.ongoing_threat,
            suspects: suspects
                .into_iter()
                .map(|s| SuspectRow {
                    descriptors: s.descriptors,
                    features: s.distinctive_features.join("\n"),
                    errors: Vec::new(),
                })
                .collect(),
        }
    }

    fn from_form(form: &RawForm) -> Fields {
        let text = |name: &str| form.get(name).to_owned();
        let mut rows: BTreeMap<usize, SuspectRow> = BTreeMap::new();
        for (key, value) in &form.0 {
            let Some(rest) = key.strip_prefix("suspect-") else {
                continue;
            };
            let Some((index, field)) = rest.split_once('-') else {
                continue;
            };
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            if index >= MAX_ROWS {
                continue;
            }
            let row = rows.entry(index).or_default();
            if field == "features" {
                row.features = value.clone();
            } else if GENERAL_DESCRIPTORS.contains(&field) {
                row.descriptors.insert(field.to_owned(), value.clone());
            }
        }
        Fields {
            incident_type: text("incident_type"),
            details: text("details"),
            footage_start: text("footage_start"),
            footage_end: text("footage_end"),
            contact_name: text("contact_name"),
            contact_phone: text("contact_phone"),
            contact_email: text("contact_email"),
            // The hidden input the map writes; the paste box when scripts did not run.
            area: Some(form.get("area"))
                .filter(|a| !a.trim().is_empty())
                .unwrap_or(form.get("area_paste"))
                .to_owned(),
            investigation_code: text("investigation_code"),
            ongoing_threat: !form.get("ongoing_threat").is_empty(),
            suspects: rows.into_values().collect(),
        }
    }

    /// The rows the form shows: those typed, every descriptor present (the template reads each
    /// by key), and one empty row to add a suspect without scripts.
    fn with_rows_for_display(mut self) -> Fields {
        self.suspects
            .retain(|s| !s.is_blank() || !s.errors.is_empty());
        self.suspects.push(SuspectRow::default());
        for row in &mut self.suspects {
            for key in GENERAL_DESCRIPTORS {
                row.descriptors.entry(key.to_owned()).or_default();
            }
        }
        self
    }
}

/// A `datetime-local` value in `zone`, as the RFC 3339 UTC time the API takes.
fn local_to_utc(value: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("is required".into());
    }
    let naive = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("{v:?} is not a date and time like 2026-11-20T21:00"))?;
    local_time::to_utc(naive, zone).map_err(|e| e.to_string())
}

/// The draft the API would receive, the problems found in the form itself (times that name no
/// instant, an area that is not JSON), and which form row each draft suspect came from.
fn to_draft(f: &Fields, zone: Tz) -> (Draft, FieldErrors, Vec<usize>) {
    let mut local = FieldErrors::new();
    let mut time = |field: &str, value: &str| match local_to_utc(value, zone) {
        Ok(t) => Some(t),
        Err(e) => {
            local.insert(field.to_owned(), vec![e]);
            None
        }
    };
    let start = time("footage_start", &f.footage_start);
    let end = time("footage_end", &f.footage_end);
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        // The domain says the same in UTC; the investigator typed local times.
        local.insert("footage_end".into(), vec!["must be after the start".into()]);
    }
    if f.incident_type.trim().is_empty() {
        local.insert(
            "incident_type".into(),
            vec!["Choose the incident type".into()],
        );
    }
    let area = if f.area.trim().is_empty() {
        serde_json::Value::Null
    } else {
        match serde_json::from_str(&f.area) {
            Ok(v) => v,
            Err(e) => {
                local.insert(
                    "area".into(),
                    vec![format!("is not GeoJSON ({e}); draw the area on the map")],
                );
                serde_json::Value::Null
            }
        }
    };
    let mut rows = Vec::new();
    let mut suspects = Vec::new();
    for (i, row) in f.suspects.iter().enumerate() {
        if !row.is_blank() {
            rows.push(i);
            suspects.push(row.to_suspect());
        }
    }
    let utc = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let draft = Draft {
        incident_type: f.incident_type.trim().to_owned(),
        details: f.details.clone(),
        footage_start: utc(start),
        footage_end: utc(end),
        investigator: Contact {
            name: f.contact_name.clone(),
            phone: f.contact_phone.clone(),
            email: f.contact_email.clone(),
        },
        area,
        investigation_code: f.investigation_code.clone(),
        ongoing_threat: f.ongoing_threat,
        suspects,
    };
    (draft, local, rows)
}

/// The form field a domain field name belongs to, and the words that name it.
fn form_key(domain: &str, rows: &[usize]) -> (String, &'static str) {
    let simple = match domain {
        "incident_type" => Some(("incident_type", "Incident type")),
        "details" => Some(("details", "Details")),
        "footage_start" => Some(("footage_start", "Start")),
        "footage_end" => Some(("footage_end", "End")),
        "investigator.name" => Some(("contact_name", "Name")),
        "investigator.phone" => Some(("contact_phone", "Phone")),
        "investigator.email" => Some(("contact_email", "Email")),
        "investigation_code" => Some(("investigation_code", "Investigation code")),
        "area" => Some(("area", "The area")),
        "suspects" => Some(("suspects", "The list of suspects")),
        _ => None,
    };
    if let Some((key, label)) = simple {
        return (key.to_owned(), label);
    }
    // `suspects.{i}…`: the i-th suspect sent, which is a form row (blank rows are not sent).
    if let Some(rest) = domain.strip_prefix("suspects.") {
        let (index, tail) = rest.split_once('.').unwrap_or((rest, ""));
        if let Some(row) = index.parse::<usize>().ok().and_then(|i| rows.get(i)) {
            let label = match tail {
                "distinctive_features" => "Distinctive features",
                "" => "This suspect",
                _ => "A descriptor",
            };
            return (format!("suspect-{row}"), label);
        }
    }
    ("form".to_owned(), "The request")
}

/// A domain problem as a sentence under its field.
fn sentence(label: &str, problem: &str) -> String {
    let p = problem
        .strip_prefix("outside_jurisdiction: ")
        .or_else(|| problem.strip_prefix("suspect_description_too_general: "))
        .unwrap_or(problem);
    let mut s = if ["is ", "must ", "has ", "covers "]
        .iter()
        .any(|w| p.starts_with(w))
    {
        format!("{label} {p}")
    } else {
        let mut chars = p.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    };
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// The keys the template reads errors by (each present, so the template needs no test).
const ERROR_KEYS: [&str; 11] = [
    "form",
    "incident_type",
    "details",
    "footage_start",
    "footage_end",
    "contact_name",
    "contact_phone",
    "contact_email",
    "investigation_code",
    "area",
    "suspects",
];

/// Places every problem next to its field: the form's own first, then the domain's for
/// fields the form found nothing wrong with.
pub(super) fn place_errors(
    fields: &mut Fields,
    local: &FieldErrors,
    domain: &FieldErrors,
    rows: &[usize],
) -> BTreeMap<String, Vec<String>> {
    let mut errors: BTreeMap<String, Vec<String>> = ERROR_KEYS
        .iter()
        .map(|k| ((*k).to_owned(), Vec::new()))
        .collect();
    for (field, problems) in local {
        let (key, label) = form_key(field, rows);
        let list = errors.entry(key).or_default();
        list.extend(problems.iter().map(|p| sentence(label, p)));
    }
    for (field, problems) in domain {
        let (key, label) = form_key(field, rows);
        if local.contains_key(field) {
            continue;
        }
        let text = problems.iter().map(|p| sentence(label, p));
        if let Some(row) = key
            .strip_prefix("suspect-")
            .and_then(|r| r.parse::<usize>().ok())
            .and_then(|r| fields.suspects.get_mut(r))
        {
            row.errors.extend(text);
        } else {
            errors.entry(key).or_default().extend(text);
        }
    }
    errors
}

/// One pre-screen finding, with the words it is about.
#[derive(Debug, Serialize)]
struct FindingView {
    guideline: String,
    message: String,
    excerpt: String,
}

fn finding_view(details: &str, f: &Finding) -> FindingView {
    let excerpt: String = details
        .chars()
        .skip(f.span.start)
        .take(f.span.end.saturating_sub(f.span.start))
        .collect();
    FindingView {
        guideline: f.guideline.as_str().to_owned(),
        message: f.message.clone(),
        excerpt,
    }
}

/// What a successful check shows: the findings and the request as the server read it.
#[derive(Debug, Serialize)]
pub(super) struct Checked {
    findings: Vec<FindingView>,
    /// The area's geodesic size as the server measured it, square miles.
    area_sq_mi: String,
    footage_start: DateTime<Utc>,
    footage_end: DateTime<Utc>,
    /// The same window in the agency's time zone.
    footage_local: String,
}

/// An option of a select.
#[derive(Debug, Serialize)]
struct Choice {
    value: &'static str,
    label: String,
}

#[derive(Debug, Serialize)]
struct FormView {
    csrf: String,
    fields: Fields,
    errors: BTreeMap<String, Vec<String>>,
    has_errors: bool,
    /// A refusal that is about the agency, not a field (not verified, no evidence account).
    notice: Option<String>,
    checked: Option<Checked>,
    agency_name: String,
    jurisdiction: String,
    time_zone: String,
    min_sq_mi: f64,
    max_sq_mi: f64,
    incident_types: Vec<Choice>,
    descriptors: Vec<Choice>,
    /// Only investigators create requests (agency admins manage the team).
    can_create: bool,
    /// The request being revised; `None` for a new one.
    revise: Option<Revision>,
    /// Where "Check" posts.
    check_action: String,
    /// Where "Submit" posts.
    submit_action: String,
}

#[allow(clippy::too_many_arguments)] // one page, every part of it
pub(super) fn render_form(
    state: &AppState,
    who: &Principal,
    agency: &AgencyRecord,
    fields: Fields,
    errors: BTreeMap<String, Vec<String>>,
    notice: Option<String>,
    checked: Option<Checked>,
    revise: Option<&Revision>,
) -> Result<Response, PageError> {
    let layout = match revise {
        None => Layout::signed_in(state, who, "New request", "/agency/requests/new"),
        Some(_) => Layout::signed_in(state, who, "Revise request", "/agency"),
    };
    let (check_action, submit_action) = match revise {
        None => (
            "/agency/requests/check".to_owned(),
            "/agency/requests".to_owned(),
        ),
        Some(r) => (
            format!("/agency/requests/{}/revise/check", r.id),
            format!("/agency/requests/{}/revise", r.id),
        ),
    };
    let limits = &state.app.settings.requests;
    let has_errors = errors.values().any(|e| !e.is_empty())
        || fields.suspects.iter().any(|s| !s.errors.is_empty());
    let view = FormView {
        csrf: layout.csrf.clone(),
        fields: fields.with_rows_for_display(),
        errors,
        has_errors,
        notice,
        checked,
        agency_name: agency.name.clone(),
        jurisdiction: serde_json::to_string(&agency.jurisdiction).unwrap_or_default(),
        time_zone: agency.time_zone.clone(),
        min_sq_mi: limits.min_area_sq_mi,
        max_sq_mi: limits.max_area_sq_mi,
        incident_types: IncidentType::ALL
            .iter()
            .map(|t| Choice {
                value: t.as_str(),
                label: humanize(t.as_str()),
            })
            .collect(),
        descriptors: GENERAL_DESCRIPTORS
            .iter()
            .map(|d| Choice {
                value: d,
                label: humanize(d),
            })
            .collect(),
        can_create: who.role == crate::domain::Role::Investigator,
        revise: revise.cloned(),
        check_action,
        submit_action,
    };
    // 200 even with problems: the page is what was asked for, with the problems in it (as
    // the sign-in form does; browsers log every 4xx page as a console error).
    Ok(render("agency_new_request.html", &layout, view)?.into_response())
}

pub(super) async fn own_agency(
    state: &AppState,
    who: &Principal,
) -> Result<AgencyRecord, PageError> {
    let id = who.agency_id.as_deref().unwrap_or("-");
    Ok(state.app.get_agency(who, id).await?)
}

pub(super) fn zone_of(agency: &AgencyRecord) -> Tz {
    // Stored zones were validated on the way in; UTC is the documented default.
    local_time::zone(&agency.time_zone).unwrap_or(chrono_tz::UTC)
}

/// `GET /agency/requests/new`: the form, with the agency's jurisdiction on the map.
pub async fn new_request_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    if let Some(r) = members_only(&who) {
        return r.into_response();
    }
    let page = async {
        let agency = own_agency(&state, &who).await?;
        let fields = Fields {
            contact_name: who.display_name.clone().unwrap_or_default(),
            contact_email: who.email.clone(),
            ..Fields::default()
        };
        let errors = place_errors(
            &mut Fields::default(),
            &FieldErrors::new(),
            &FieldErrors::new(),
            &[],
        );
        render_form(&state, &who, &agency, fields, errors, None, None, None)
    };
    page.await.unwrap_or_else(IntoResponse::into_response)
}

/// What a refusal from `app` becomes on the form: field errors, a notice, or an error page.
enum Refusal {
    Fields(FieldErrors),
    Notice(String),
    Page(PageError),
}

fn refusal(e: AppError) -> Refusal {
    match e {
        AppError::Invalid(v) => Refusal::Fields(v.details),
        AppError::Conflict {
            code: "duplicate_investigation_code",
            message,
        } => {
            let mut d = FieldErrors::new();
            d.insert("investigation_code".into(), vec![message]);
            Refusal::Fields(d)
        }
        AppError::Refused { message, .. } => Refusal::Notice(sentence("", &message)),
        other => Refusal::Page(other.into()),
    }
}

/// Checks or submits the posted form; `submit` stores it when it passes: a new request, or
/// the revision of `revise`.
pub(super) async fn check_or_submit(
    state: &AppState,
    who: &Principal,
    form: &RawForm,
    submit: bool,
    revise: Option<&Revision>,
) -> Result<Response, PageError> {
    let agency = own_agency(state, who).await?;
    let mut fields = Fields::from_form(form);
    let (draft, local, rows) = to_draft(&fields, zone_of(&agency));
    let app = &state.app;
    // With problems in the form itself nothing is stored; the check still runs, so every
    // other problem shows at once too.
    let outcome = if submit && local.is_empty() {
        let stored = match revise {
            None => app.create_request(who, draft.clone()).await,
            Some(r) => app.revise_request(who, &r.id, draft.clone()).await,
        };
        match stored {
            Ok(detail) => {
                let flag = if revise.is_some() {
                    "resubmitted"
                } else {
                    "submitted"
                };
                let to = format!("/agency/requests/{}?{flag}=1", detail.record.id);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(e) => Err(e),
        }
    } else {
        app.check_request(who, &draft).await
    };
    let (domain, notice, checked) = match outcome {
        Ok((valid, findings)) => {
            let checked = local.is_empty().then(|| Checked {
                findings: findings
                    .iter()
                    .map(|f| finding_view(&valid.details, f))
                    .collect(),
                area_sq_mi: format!("{:.3}", valid.area_sq_mi),
                footage_start: valid.footage_start,
                footage_end: valid.footage_end,
                footage_local: local_window(
                    valid.footage_start,
                    valid.footage_end,
                    &agency.time_zone,
                ),
            });
            (FieldErrors::new(), None, checked)
        }
        Err(e) => match refusal(e) {
            Refusal::Fields(d) => (d, None, None),
            Refusal::Notice(n) => (FieldErrors::new(), Some(n), None),
            Refusal::Page(p) => return Err(p),
        },
    };
    let errors = place_errors(&mut fields, &local, &domain, &rows);
    render_form(state, who, &agency, fields, errors, notice, checked, revise)
}

/// `POST /agency/requests/check`: validates the form as a submission would and shows the
/// automated pre-screen's findings. Nothing is stored.
pub async fn check(State(state): State<AppState>, f: SessionForm<RawForm>) -> Response {
    if let Some(r) = members_only(&f.who) {
        return r.into_response();
    }
    check_or_submit(&state, &f.who, &f.form, false, None)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /agency/requests`: submits the request for review (`App::create_request`) and opens
/// it; with problems, the form again with each one next to its field.
pub async fn create(State(state): State<AppState>, f: SessionForm<RawForm>) -> Response {
    if let Some(r) = members_only(&f.who) {
        return r.into_response();
    }
    check_or_submit(&state, &f.who, &f.form, true, None)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> RawForm {
        RawForm(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn suspect_rows_are_read_in_order_and_blank_ones_are_not_sent() {
        let f = Fields::from_form(&form(&[
            ("suspect-1-features", "red jacket\n\n black bicycle "),
            ("suspect-1-sex", "male"),
            ("suspect-0-age", ""),
            ("suspect-2-eye_colour", "blue"),
            ("suspect-99-age", "ignored"),
        ]));
        assert_eq!(f.suspects.len(), 3);
        let (draft, _, rows) = to_draft(&f, chrono_tz::UTC);
        assert_eq!(rows, vec![1]);
        assert_eq!(
            draft.suspects[0].distinctive_features,
            vec!["red jacket", "black bicycle"]
        );
        assert_eq!(draft.suspects[0].descriptors["sex"], "male");
    }

    #[test]
    fn local_times_become_utc_and_the_skipped_hour_is_a_field_error() {
        let la = local_time::zone("America/Los_Angeles").unwrap();
        let t = local_to_utc("2026-01-10T13:00", la).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-10T21:00:00+00:00");
        let f = Fields {
            footage_start: "2026-03-08T02:30".into(),
            footage_end: "2026-03-08T01:00".into(),
            incident_type: "burglary".into(),
            ..Fields::default()
        };
        let (draft, local, _) = to_draft(&f, la);
        assert!(local["footage_start"][0].contains("skip"), "{local:?}");
        assert_eq!(draft.footage_start, "");
        assert!(local_to_utc("yesterday", la).is_err());
    }

    #[test]
    fn a_stored_request_fills_the_form_in_local_time_and_reads_back_the_same() {
        let la = local_time::zone("America/Los_Angeles").unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let content = RequestContent {
            incident_type: "burglary".into(),
            details: "Details.".into(),
            footage_start: at("2026-01-10T21:00:00Z"),
            footage_end: at("2026-01-10T23:30:00Z"),
            contact_name: "Det. A".into(),
            contact_phone: "+1-555-0100".into(),
            contact_email: "a@pd.example".into(),
            area: serde_json::json!({"type": "Polygon", "coordinates": []}),
            area_sq_mi: 0.1,
            investigation_code: "C-1".into(),
            ongoing_threat: true,
            suspects: serde_json::json!([
                {"descriptors": {"sex": "male"}, "distinctive_features": ["red jacket", "bicycle"]}
            ]),
        };
        let f = Fields::from_stored(&content, la);
        assert_eq!(f.footage_start, "2026-01-10T13:00");
        assert_eq!(f.footage_end, "2026-01-10T15:30");
        assert_eq!(f.suspects[0].features, "red jacket\nbicycle");
        assert!(f.ongoing_threat);
        let (draft, local, _) = to_draft(&f, la);
        assert!(local.is_empty(), "{local:?}");
        assert_eq!(draft.footage_start, "2026-01-10T21:00:00Z");
        assert_eq!(draft.area, content.area);
        assert_eq!(draft.suspects[0].descriptors["sex"], "male");
    }

    #[test]
    fn domain_fields_map_to_form_fields_with_readable_sentences() {
        let rows = [0, 2];
        assert_eq!(
            form_key("investigator.phone", &rows).0,
            "contact_phone".to_owned()
        );
        assert_eq!(
            form_key("suspects.1.distinctive_features", &rows).0,
            "suspect-2"
        );
        assert_eq!(form_key("suspects.7", &rows).0, "form");
        assert_eq!(sentence("Details", "is required"), "Details is required.");
        assert_eq!(
            sentence(
                "The area",
                "outside_jurisdiction: the area is not entirely inside"
            ),
            "The area is not entirely inside."
        );
        let mut fields = Fields {
            suspects: vec![SuspectRow::default(); 3],
            ..Fields::default()
        };
        let mut domain = FieldErrors::new();
        domain.insert("suspects.1".into(), vec!["describe the suspect".into()]);
        domain.insert("area".into(), vec!["covers 2 square miles".into()]);
        let errors = place_errors(&mut fields, &FieldErrors::new(), &domain, &rows);
        assert_eq!(fields.suspects[2].errors, vec!["Describe the suspect."]);
        assert_eq!(errors["area"], vec!["The area covers 2 square miles."]);
        assert!(errors["details"].is_empty());
    }
}
