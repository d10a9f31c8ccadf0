//! "Choose videos to share", in three steps:
//!
//! 1. `GET /requests/{id}/share`: the resident's recordings that may answer the request
//!    (`App::shareable_recordings`), each with a player and a checkbox;
//! 2. `GET /requests/{id}/share/consent?recording=…`: what sharing sends and to whom, in the
//!    words the submission keeps (the domain's consent notice), and the "Share" button;
//! 3. `POST /requests/{id}/share`: `App::share_recordings` with the consent, then the receipt
//!    (`/shares/{submission_id}`).
//!
//! Step 2 is a GET: it changes nothing, and the browser's Back button works through the steps.
//!
//! A resident who came by the request's share link carries it through the steps as `via` (a
//! query parameter on the GETs, a field in the forms), which the `app` functions accept in
//! place of a home inside the area.

use std::collections::HashSet;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Problem, size_label, staff_elsewhere, via_from_pairs, via_query};
use crate::app::Principal;
use crate::app::evidence::{Shareable, ShareableList};
use crate::domain::request::is_open;
use crate::store::RequestRecord;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiPath;
use crate::web::pages::render::{Layout, PageError, render};
use crate::web::pages::session::{PageForm, SessionForm, SignedIn};

/// The form field (and query parameter) naming one chosen recording; repeated per recording.
const RECORDING_FIELD: &str = "recording";

/// The request, as the steps recall it at the top.
#[derive(Debug, Serialize)]
struct Summary {
    id: String,
    agency_name: String,
    incident_type: String,
    footage_start: DateTime<Utc>,
    footage_end: DateTime<Utc>,
    response_deadline: Option<DateTime<Utc>>,
    open_for_responses: bool,
}

impl Summary {
    fn new(r: &RequestRecord, now: DateTime<Utc>) -> Self {
        Summary {
            id: r.id.clone(),
            agency_name: r.agency_name.clone(),
            incident_type: r.content.incident_type.clone(),
            footage_start: r.content.footage_start,
            footage_end: r.content.footage_end,
            response_deadline: r.response_deadline,
            open_for_responses: r.response_deadline.is_some_and(|d| is_open(d, now)),
        }
    }
}

/// One of the resident's recordings, as the steps show it.
#[derive(Debug, Serialize)]
struct Clip {
    id: String,
    device_name: String,
    filename: Option<String>,
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    size: u64,
    size_label: String,
    sha256: String,
    content_type: String,
    /// Where the player loads it from (the resident's own playback route).
    src: String,
    already_shared: bool,
    /// Ticked (the resident chose it before, and comes back to change the choice).
    chosen: bool,
}

impl Clip {
    fn new(s: &Shareable, chosen: &HashSet<String>) -> Self {
        let r = &s.recording;
        Clip {
            id: r.id.clone(),
            device_name: r.device_name.clone(),
            filename: r.filename.clone(),
            started_at: r.started_at,
            ended_at: r.ended_at,
            size: r.size,
            size_label: size_label(r.size),
            sha256: r.sha256.clone(),
            content_type: r.content_type.clone(),
            src: format!("/api/v1/recordings/{}/content", r.id),
            already_shared: s.already_shared,
            chosen: chosen.contains(&r.id) && !s.already_shared,
        }
    }
}

#[derive(Debug, Serialize)]
struct ChooseView {
    request: Summary,
    clips: Vec<Clip>,
    /// Some clip can still be shared (not all were shared already).
    any_to_share: bool,
    problem: Option<Problem>,
    /// The share link the resident came through, kept in the form.
    via: Option<String>,
    /// `?via=…` for the links back to the request, or empty.
    via_query: String,
}

#[derive(Debug, Serialize)]
struct ConsentView {
    request: Summary,
    clips: Vec<Clip>,
    /// What sharing sends and to whom (`domain::evidence::consent_notice`), word for word.
    consent_notice: String,
    /// The link back to step 1 with the same choice ticked.
    back_href: String,
    problem: Option<Problem>,
    csrf: String,
    /// The share link the resident came through, kept in the form.
    via: Option<String>,
}

/// Step 1, with the recordings in `chosen` ticked and `problem` shown; `via`: the share link
/// the resident came through.
async fn choose(
    state: &AppState,
    who: &Principal,
    id: &str,
    via: Option<&str>,
    chosen: &HashSet<String>,
    problem: Option<Problem>,
) -> Result<Html<String>, PageError> {
    let list = state.app.shareable_recordings(who, id, via).await?;
    let clips: Vec<Clip> = list
        .recordings
        .iter()
        .map(|s| Clip::new(s, chosen))
        .collect();
    let layout = Layout::signed_in(state, who, "Choose videos to share", "");
    let view = ChooseView {
        request: Summary::new(&list.request, state.app.now()),
        any_to_share: clips.iter().any(|c| !c.already_shared),
        clips,
        problem,
        via: via.map(str::to_owned),
        via_query: via_query(via),
    };
    render("resident_share_choose.html", &layout, view)
}

/// The chosen ids, each once, in the order given.
fn chosen_ids(pairs: &[(String, String)]) -> Vec<String> {
    let mut seen = HashSet::new();
    pairs
        .iter()
        .filter(|(k, v)| k == RECORDING_FIELD && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

/// `recording=a&recording=b` (then `&via=…` when the resident came by the share link), for
/// the links between the steps.
fn choice_query(ids: &[String], via: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for id in ids {
        q.append_pair(RECORDING_FIELD, id);
    }
    if let Some(v) = via {
        q.append_pair("via", v);
    }
    q.finish()
}

/// `GET /requests/{id}/share`: step 1, the resident's recordings that overlap the request's
/// timeframe from their cameras inside its area, each with a player (`preload="metadata"`: only
/// the first bytes load until played) and a checkbox. None: a note pointing to "My cameras".
/// After the response window: the closed notice, and no form.
pub async fn choose_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    if let Some(away) = staff_elsewhere(&who) {
        return away;
    }
    let pairs = query.map(|Query(pairs)| pairs).unwrap_or_default();
    // Coming back from step 2 keeps the choice ticked.
    let chosen: HashSet<String> = chosen_ids(&pairs).into_iter().collect();
    let via = via_from_pairs(&pairs);
    choose(&state, &who, &id, via.as_deref(), &chosen, None)
        .await
        .into_response()
}

/// The clips of step 2, or why the choice cannot go on to it.
fn consent_clips(
    request: &Summary,
    recordings: &[Shareable],
    ids: &[String],
    chosen: &HashSet<String>,
) -> Result<Vec<Clip>, Problem> {
    if !request.open_for_responses {
        return Err(Problem::new(
            "response_window_closed",
            "This request no longer accepts videos: its response window has closed.",
        ));
    }
    if ids.is_empty() {
        return Err(Problem::new(
            "no_recording_chosen",
            "Choose at least one video to share: tick the box under it.",
        ));
    }
    ids.iter()
        .map(|wanted| match recordings.iter().find(|s| &s.recording.id == wanted) {
            Some(s) if s.already_shared => Err(Problem::new(
                "already_shared",
                format!(
                    "You already shared the video from {} with this request; untick it.",
                    s.recording.device_name
                ),
            )),
            Some(s) => Ok(Clip::new(s, chosen)),
            None => Err(Problem::new(
                "recording_not_eligible",
                "One of the chosen videos cannot answer this request (it may have been deleted). Choose again.",
            )),
        })
        .collect()
}

/// Step 2 for the recordings in `ids` (all must be shareable, and not shared yet); step 1 with
/// the reason when they are not.
async fn consent(
    state: &AppState,
    who: &Principal,
    id: &str,
    via: Option<&str>,
    ids: &[String],
    problem: Option<Problem>,
) -> Result<Html<String>, PageError> {
    let chosen: HashSet<String> = ids.iter().cloned().collect();
    let ShareableList {
        request,
        consent_notice,
        recordings,
    } = state.app.shareable_recordings(who, id, via).await?;
    let summary = Summary::new(&request, state.app.now());
    let clips = match consent_clips(&summary, &recordings, ids, &chosen) {
        Ok(clips) => clips,
        Err(p) => return choose(state, who, id, via, &chosen, Some(p)).await,
    };
    let layout = Layout::signed_in(state, who, "Share your videos?", "");
    let view = ConsentView {
        back_href: format!("/requests/{}/share?{}", summary.id, choice_query(ids, via)),
        request: summary,
        clips,
        consent_notice,
        problem,
        csrf: layout.csrf.clone(),
        via: via.map(str::to_owned),
    };
    render("resident_share_consent.html", &layout, view)
}

/// `GET /requests/{id}/share/consent?recording=…`: step 2. It says plainly what sharing sends:
/// the chosen videos, with the resident's name, home address and email, to the agency's
/// investigator, who keeps a copy; the resident ticks that they agree and presses "Share".
/// Nothing chosen (or a choice that cannot be shared): step 1 again, saying why.
pub async fn consent_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    if let Some(away) = staff_elsewhere(&who) {
        return away;
    }
    let pairs = query.map(|Query(pairs)| pairs).unwrap_or_default();
    let ids = chosen_ids(&pairs);
    let via = via_from_pairs(&pairs);
    consent(&state, &who, &id, via.as_deref(), &ids, None)
        .await
        .into_response()
}

/// The share form: the chosen recordings (one `recording` field each), the consent box and
/// the CSRF token.
#[derive(Debug, Deserialize)]
#[serde(from = "Vec<(String, String)>")]
pub struct ShareForm {
    recordings: Vec<String>,
    consent: bool,
    csrf: String,
    /// The share link the resident came through.
    via: Option<String>,
}

impl From<Vec<(String, String)>> for ShareForm {
    fn from(pairs: Vec<(String, String)>) -> Self {
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        ShareForm {
            recordings: chosen_ids(&pairs),
            consent: field("consent").is_some_and(|v| v == "yes"),
            csrf: field("csrf").unwrap_or_default(),
            via: via_from_pairs(&pairs),
        }
    }
}

impl PageForm for ShareForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /requests/{id}/share`: step 3, `App::share_recordings` with the consent given, as
/// `POST /api/v1/requests/{id}/submissions` does; then the receipt. A refusal is shown where it
/// can be fixed, in plain words: consent missing on step 2; no clip chosen, the window closed
/// (410), already shared (409) or not eligible on step 1.
pub async fn share(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    f: SessionForm<ShareForm>,
) -> Response {
    let who = f.who;
    if let Some(away) = staff_elsewhere(&who) {
        return away;
    }
    let form = f.form;
    let via = form.via.as_deref();
    let ids: Value = json!(form.recordings);
    let agreed = Value::Bool(form.consent);
    let outcome = state
        .app
        .share_recordings(&who, &id, via, Some(&ids), Some(&agreed))
        .await;
    let e = match outcome {
        Ok(detail) => {
            // The receipt's link back to the request keeps the share link.
            let via = via.map(|v| format!("&via={v}")).unwrap_or_default();
            return Redirect::to(&format!("/shares/{}?shared=1{via}", detail.submission.id))
                .into_response();
        }
        Err(e) => ApiError::from(e),
    };
    let chosen: HashSet<String> = form.recordings.iter().cloned().collect();
    match e.code {
        _ if e.status.as_u16() == 404 || !e.status.is_client_error() => {
            PageError::from(e).into_response()
        }
        "consent_required" => {
            let problem = Problem::new(
                e.code,
                "Nothing was shared: tick the box to agree first. Sharing sends your name, home address and email with the videos.",
            );
            consent(&state, &who, &id, via, &form.recordings, Some(problem))
                .await
                .into_response()
        }
        "invalid_input" if form.recordings.is_empty() => {
            let problem = Problem::new(
                "no_recording_chosen",
                "Nothing was shared: choose at least one video first.",
            );
            choose(&state, &who, &id, via, &chosen, Some(problem))
                .await
                .into_response()
        }
        _ => {
            // The API's words name ids and timestamps; the page says the same in plain words.
            let why = match e.code {
                "already_shared" => "A chosen video was already shared with this request (it is in My shares), and a video is shared only once.".to_owned(),
                "response_window_closed" => "This request stopped accepting videos when its response window closed. It stays readable, and you can still contact the investigator.".to_owned(),
                _ => super::sentence(&e.message),
            };
            let problem = Problem::new(e.code, format!("Nothing was shared. {why}"));
            choose(&state, &who, &id, via, &chosen, Some(problem))
                .await
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_choice_is_each_recording_once_in_order() {
        let p = pairs(&[
            ("recording", "b"),
            ("csrf", "x"),
            ("recording", "a"),
            ("recording", "b"),
            ("recording", " "),
        ]);
        assert_eq!(chosen_ids(&p), ["b", "a"]);
        assert_eq!(
            choice_query(&chosen_ids(&p), None),
            "recording=b&recording=a"
        );
        assert_eq!(
            choice_query(&chosen_ids(&p), Some("pub-1")),
            "recording=b&recording=a&via=pub-1"
        );
    }

    #[test]
    fn the_share_form_reads_repeated_fields() {
        let read = |q: &str| {
            ShareForm::from(
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect::<Vec<_>>(),
            )
        };
        let f = read("csrf=t&recording=r1&recording=r2&consent=yes");
        assert_eq!(f.recordings, ["r1", "r2"]);
        assert!(f.consent);
        assert_eq!(f.csrf, "t");
        assert_eq!(f.via, None);
        let f = read("csrf=t&recording=r1&via=pub_1");
        assert!(!f.consent);
        assert_eq!(f.via.as_deref(), Some("pub_1"));
        assert_eq!(read("via=a%26b").via, None);
    }
}
