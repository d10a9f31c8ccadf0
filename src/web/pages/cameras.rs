//! "My cameras": the resident's cameras with their recordings. A camera is added with a name
//! and a place picked on a map (or typed); its upload token is shown once, on the page that
//! answers the form. Each camera can be renamed, have its token revoked or replaced, or be
//! removed (after a confirmation page). Recordings are uploaded from the browser with
//! tus-js-client to `/api/v1/uploads` (resumable), by `assets/js/cameras.js`.
//!
//! The same `app` functions as `/api/v1/devices` and `/api/v1/recordings`; they check that the
//! caller is a resident and owns the camera.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::render::{Layout, PageError, render};
use super::session::{PageForm, SessionForm, SignedIn};
use crate::app::{AppError, Principal};
use crate::store::{DeviceRecord, RecordingRecord};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiQuery;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cameras", get(cameras_page).post(add_camera))
        .route("/cameras/{id}/rename", post(rename_camera))
        .route("/cameras/{id}/token", get(token_once).post(new_token))
        .route("/cameras/{id}/token/revoke", post(revoke_token))
        .route("/cameras/{id}/remove", get(remove_page).post(remove_camera))
        .route(
            "/recordings/{id}/delete",
            get(delete_recording_page).post(delete_recording),
        )
}

/// What `/cameras` may be opened with: what was just done, to confirm it.
#[derive(Debug, Default, Deserialize)]
pub struct CamerasQuery {
    /// `added`, `replaced`, `renamed`, `revoked`, `removed`, `uploaded` or `deleted`. (The token page
    /// links back with one: it answers `POST /cameras`, so a link to `/cameras#…` alone would
    /// only scroll.)
    #[serde(default)]
    done: Option<String>,
}

/// The "Add a camera" form. The place comes as text: the map fills the two fields, and
/// keyboard users type them.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct AddCameraForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
}

impl PageForm for AddCameraForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The rename form.
#[derive(Debug, Deserialize)]
pub struct RenameForm {
    csrf: String,
    #[serde(default)]
    name: String,
}

impl PageForm for RenameForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A form with only its CSRF token (new token, revoke, remove).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

impl PageForm for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// One recording, as the list shows it.
#[derive(Debug, Serialize)]
struct RecordingRow {
    id: String,
    filename: String,
    started_at: String,
    ended_at: String,
    size: String,
    duration: Option<String>,
    content_type: String,
    sha256: String,
}

/// One camera, with its recordings.
#[derive(Debug, Serialize)]
struct CameraRow {
    id: String,
    name: String,
    /// Where it is, as `45.51500, -122.66000`.
    place: String,
    has_token: bool,
    created_at: String,
    recordings: Vec<RecordingRow>,
}

#[derive(Debug, Serialize)]
struct CamerasView<'a> {
    csrf: String,
    cameras: Vec<CameraRow>,
    /// A confirmation of what was just done.
    notice: Option<&'static str>,
    /// Why a rename (or another change) was refused.
    error: Option<String>,
    /// Why the "Add a camera" form was refused, with what was typed.
    add_error: Option<String>,
    form: &'a AddCameraForm,
    /// The cameras' names and places, as JSON for the map (`[{name, lat, lon}]`).
    cameras_json: String,
    /// Where the map starts: the resident's home.
    home_lat: f64,
    home_lon: f64,
}

/// `1 536 000` → `1.5 MB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let digits = if value < 10.0 { 1 } else { 0 };
    format!("{value:.digits$} {}", UNITS[unit])
}

/// `65_000` → `1 min 5 s`.
fn human_duration(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    match (secs / 3600, (secs / 60) % 60, secs % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

fn recording_row(r: &RecordingRecord) -> RecordingRow {
    RecordingRow {
        id: r.id.clone(),
        filename: r
            .filename
            .clone()
            .filter(|f| !f.trim().is_empty())
            .unwrap_or_else(|| "Recording".to_owned()),
        started_at: r.started_at.to_rfc3339(),
        ended_at: r.ended_at.to_rfc3339(),
        size: human_size(r.size),
        duration: r.duration_ms.map(human_duration),
        content_type: r.content_type.clone(),
        sha256: r.sha256.clone(),
    }
}

fn camera_rows(devices: &[DeviceRecord], recordings: &[RecordingRecord]) -> Vec<CameraRow> {
    let mut by_device: HashMap<&str, Vec<RecordingRow>> = HashMap::new();
    for r in recordings {
        by_device
            .entry(r.device_id.as_str())
            .or_default()
            .push(recording_row(r));
    }
    devices
        .iter()
        .map(|d| CameraRow {
            id: d.id.clone(),
            name: d.name.clone(),
            place: format!("{:.5}, {:.5}", d.lat, d.lon),
            has_token: d.has_token,
            created_at: d.created_at.to_rfc3339(),
            recordings: by_device.remove(d.id.as_str()).unwrap_or_default(),
        })
        .collect()
}

/// A refused input in words ("Name: is empty. Location: …"), or the error page for anything
/// that is not a refused input.
fn refusal(e: AppError) -> Result<String, PageError> {
    match e {
        AppError::Invalid(v) => {
            let mut text = v.message.trim_end_matches('.').to_owned();
            text.push('.');
            for (field, problems) in &v.details {
                let field = super::render::humanize(field);
                text.push_str(&format!(" {field} {}.", problems.join("; ")));
            }
            Ok(text)
        }
        other => Err(other.into()),
    }
}

/// Renders the camera list for `who`, with the add form as given.
async fn cameras_response(
    state: &AppState,
    who: &Principal,
    notice: Option<&'static str>,
    error: Option<String>,
    add_error: Option<String>,
    form: &AddCameraForm,
) -> Result<Response, PageError> {
    let devices = state.app.devices(who).await?;
    let recordings = state.app.recordings(who).await?;
    let (home_lat, home_lon) = state.app.home_location(who).await?;
    let layout = Layout::signed_in(state, who, "My cameras", "/cameras");
    Ok(render(
        "cameras.html",
        &layout,
        CamerasView {
            csrf: layout.csrf.clone(),
            cameras: camera_rows(&devices, &recordings),
            cameras_json: serde_json::Value::from(
                devices
                    .iter()
                    .map(|d| serde_json::json!({"name": d.name, "lat": d.lat, "lon": d.lon}))
                    .collect::<Vec<_>>(),
            )
            .to_string(),
            notice,
            error,
            add_error,
            form,
            home_lat,
            home_lon,
        },
    )?
    .into_response())
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "added" => {
            "The camera is added. Upload its recordings below, or let it upload them with its token."
        }
        "replaced" => "The camera has a new upload token; the one before it no longer works.",
        "renamed" => "The camera is renamed.",
        "revoked" => {
            "The upload token is revoked: it no longer works. Issue a new one when the camera needs it."
        }
        "removed" => "The camera is removed, with its recordings on this server.",
        "uploaded" => "The recording is uploaded. It is listed under its camera.",
        "deleted" => "The recording is deleted from this server.",
        _ => return None,
    })
}

/// `GET /cameras`: the resident's cameras with their recordings, an upload form for each,
/// and the "Add a camera" form.
pub async fn cameras_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    query: Result<ApiQuery<CamerasQuery>, ApiError>,
) -> Response {
    let notice = query
        .ok()
        .and_then(|ApiQuery(q)| q.done)
        .and_then(|d| notice_for(&d));
    cameras_response(&state, &who, notice, None, None, &AddCameraForm::default())
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// A coordinate as typed: a decimal number (a comma as the decimal mark is taken too).
fn coordinate(text: &str) -> Option<f64> {
    text.trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

#[derive(Debug, Serialize)]
struct TokenView {
    /// `added` for a new camera, `replaced` for a new token.
    kind: &'static str,
    camera_id: String,
    camera_name: String,
    token: String,
}

/// The cookie that carries a token from the form post that made it to the page that shows it
/// (post, redirect, get: reloading the page then neither adds a second camera nor shows the
/// token again). It is sealed with the server's key, bound to the camera, lives five minutes,
/// is sent only to `/cameras`, and is cleared when the page shows it.
const NEW_TOKEN_COOKIE: &str = "canvass_new_token";
const NEW_TOKEN_PURPOSE: &str = "camera-token-once";

/// Hands a new token to `GET /cameras/{id}/token`: the cookie, and a 303 there.
fn show_token_once(state: &AppState, camera_id: &str, kind: &str, token: &str) -> Response {
    let sealed = crate::domain::cursor::seal(
        &state.app.cursor_key,
        NEW_TOKEN_PURPOSE,
        &format!("{camera_id}\n{kind}\n{token}"),
    );
    let cookie = format!(
        "{NEW_TOKEN_COOKIE}={sealed}; Path=/cameras; HttpOnly; SameSite=Strict; Max-Age=300{}",
        super::session::secure(&state.app.settings)
    );
    let mut r = Redirect::to(&format!("/cameras/{camera_id}/token")).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(axum::http::header::SET_COOKIE, v);
    }
    r
}

/// `GET /cameras/{id}/token`: shows, once, the token that the post before it issued for this
/// camera; without one (a reload, a bookmark) it goes back to the cameras.
pub async fn token_once(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let carried = super::session::cookie(&headers, NEW_TOKEN_COOKIE)
        .and_then(|c| crate::domain::cursor::open(&state.app.cursor_key, NEW_TOKEN_PURPOSE, &c));
    let parts = carried.as_deref().and_then(|text| {
        let mut it = text.splitn(3, '\n');
        Some((it.next()?, it.next()?, it.next()?))
    });
    let Some((camera_id, kind, token)) = parts.filter(|(camera_id, _, _)| *camera_id == id) else {
        return Redirect::to(&format!("/cameras#camera-{id}")).into_response();
    };
    // The camera must still be this resident's (the app answers 404 otherwise).
    let device = match state.app.device(&who, camera_id).await {
        Ok(d) => d,
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut r = token_page(
        &state,
        &who,
        TokenView {
            kind: if kind == "added" { "added" } else { "replaced" },
            camera_id: device.id,
            camera_name: device.name,
            token: token.to_owned(),
        },
    );
    let clear = format!(
        "{NEW_TOKEN_COOKIE}=; Path=/cameras; HttpOnly; SameSite=Strict; Max-Age=0{}",
        super::session::secure(&state.app.settings)
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&clear) {
        r.headers_mut().append(axum::http::header::SET_COOKIE, v);
    }
    r
}

fn token_page(state: &AppState, who: &Principal, view: TokenView) -> Response {
    let title = if view.kind == "added" {
        "Camera added"
    } else {
        "New upload token"
    };
    let layout = Layout::signed_in(state, who, title, "/cameras");
    match render("cameras_token.html", &layout, view) {
        Ok(html) => {
            let mut r = html.into_response();
            // The token must not linger in a cache.
            r.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /cameras`: registers a camera (`App::create_device`) and shows its upload token,
/// once, on the page it redirects to. A refused form comes back with the reason and what was
/// typed.
pub async fn add_camera(State(state): State<AppState>, f: SessionForm<AddCameraForm>) -> Response {
    let (who, form) = (f.who, f.form);
    let location = match (coordinate(&form.lat), coordinate(&form.lon)) {
        (Some(lat), Some(lon)) => Some((lat, lon)),
        _ => None,
    };
    let add_error = if location.is_none() {
        "Pick the camera's place on the map, or type its latitude and longitude as decimal numbers (for example 45.515 and -122.66).".to_owned()
    } else {
        match state.app.create_device(&who, &form.name, location).await {
            Ok((device, token)) => {
                return show_token_once(&state, &device.id, "added", &token);
            }
            Err(e) => match refusal(e) {
                Ok(text) => text,
                Err(page) => return page.into_response(),
            },
        }
    };
    // 200: the page is what was asked for, with the refusal in it (as the sign-in form does).
    cameras_response(&state, &who, None, None, Some(add_error), &form)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /cameras/{id}/rename`: renames a camera (`App::rename_device`).
pub async fn rename_camera(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<RenameForm>,
) -> Response {
    match state.app.rename_device(&f.who, &id, &f.form.name).await {
        Ok(_) => Redirect::to(&format!("/cameras?done=renamed#camera-{id}")).into_response(),
        Err(e) => match refusal(e) {
            Ok(text) => cameras_response(
                &state,
                &f.who,
                None,
                Some(format!("The camera was not renamed. {text}")),
                None,
                &AddCameraForm::default(),
            )
            .await
            .unwrap_or_else(IntoResponse::into_response),
            Err(page) => page.into_response(),
        },
    }
}

/// `POST /cameras/{id}/token`: issues a new upload token (`App::issue_device_token`; the old
/// one stops working) and shows it, once, on the page it redirects to.
pub async fn new_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<CsrfForm>,
) -> Response {
    match state.app.issue_device_token(&f.who, &id).await {
        Ok(token) => show_token_once(&state, &id, "replaced", &token),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// `POST /cameras/{id}/token/revoke`: revokes the camera's upload token
/// (`App::revoke_device_token`).
pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<CsrfForm>,
) -> Response {
    match state.app.revoke_device_token(&f.who, &id).await {
        Ok(()) => Redirect::to(&format!("/cameras?done=revoked#camera-{id}")).into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(Debug, Serialize)]
struct RemoveView {
    csrf: String,
    camera_id: String,
    camera_name: String,
    recordings: usize,
}

/// `GET /cameras/{id}/remove`: the confirmation step before a camera is removed, saying what
/// goes with it.
pub async fn remove_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    let device = match state.app.device(&who, &id).await {
        Ok(d) => d,
        Err(e) => return PageError::from(e).into_response(),
    };
    let recordings = match state.app.recordings(&who).await {
        Ok(list) => list.iter().filter(|r| r.device_id == device.id).count(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let layout = Layout::signed_in(&state, &who, "Remove a camera", "/cameras");
    render(
        "cameras_remove.html",
        &layout,
        RemoveView {
            csrf: layout.csrf.clone(),
            camera_id: device.id,
            camera_name: device.name,
            recordings,
        },
    )
    .into_response()
}

/// `POST /cameras/{id}/remove`: removes the camera with its recordings (`App::delete_device`;
/// clips already shared stay with the agency).
pub async fn remove_camera(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<CsrfForm>,
) -> Response {
    match state.app.delete_device(&f.who, &id).await {
        Ok(()) => Redirect::to("/cameras?done=removed").into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(Debug, Serialize)]
struct DeleteRecordingView {
    csrf: String,
    camera_id: String,
    camera_name: String,
    recording: RecordingRow,
}

/// `GET /recordings/{id}/delete`: the confirmation step before one recording is deleted.
pub async fn delete_recording_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    let page = async {
        let recording = state
            .app
            .recording(&who, &id)
            .await
            .map_err(PageError::from)?;
        let device = state.app.device(&who, &recording.device_id).await?;
        let layout = Layout::signed_in(&state, &who, "Delete a recording", "/cameras");
        render(
            "recording_delete.html",
            &layout,
            DeleteRecordingView {
                csrf: layout.csrf.clone(),
                camera_id: device.id,
                camera_name: device.name,
                recording: recording_row(&recording),
            },
        )
    };
    page.await.into_response()
}

/// `POST /recordings/{id}/delete`: deletes one of the resident's recordings
/// (`App::delete_recording`; clips already shared stay with the agency).
pub async fn delete_recording(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<CsrfForm>,
) -> Response {
    match state.app.delete_recording(&f.who, &id).await {
        Ok(deleted) => Redirect::to(&format!(
            "/cameras?done=deleted#camera-{}",
            deleted.device_id
        ))
        .into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_as_words() {
        assert_eq!(human_size(154), "154 bytes");
        assert_eq!(human_size(71_136), "71 KB");
        assert_eq!(human_size(1_536_000), "1.5 MB");
        assert_eq!(human_size(4_294_967_296), "4.3 GB");
        assert_eq!(human_duration(6_000), "6 s");
        assert_eq!(human_duration(65_000), "1 min 5 s");
        assert_eq!(human_duration(3_900_000), "1 h 5 min");
    }

    #[test]
    fn coordinates_are_read_leniently() {
        assert_eq!(coordinate(" 45.515 "), Some(45.515));
        assert_eq!(coordinate("-122,66"), Some(-122.66));
        assert_eq!(coordinate("north"), None);
        assert_eq!(coordinate("NaN"), None);
        assert_eq!(coordinate(""), None);
    }
}
