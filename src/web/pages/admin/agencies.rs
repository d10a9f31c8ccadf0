//! Agencies: the list, a new agency (its jurisdiction drawn on a map or pasted as GeoJSON), and
//! one agency's page: verify it, enable its evidence account, rename or redraw it, and add its
//! members.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{CreatedQuery, Errors, elsewhere, ticked};
use crate::app::Principal;
use crate::app::accounts::StaffAccount;
use crate::app::agencies::{AGENCY_KINDS, AgencyInput, AgencyUpdate};
use crate::domain::Role;
use crate::domain::local_time::DEFAULT_TIME_ZONE;
use crate::store::{AgencyRecord, UserRecord, ts};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiQuery;
use crate::web::pages::assets;
use crate::web::pages::render::{Layout, PageError, humanize, render};
use crate::web::pages::session::{PageForm, SessionForm, SignedIn};

/// An agency in the list.
#[derive(Debug, Serialize)]
struct AgencyRow {
    id: String,
    name: String,
    kind: String,
    verified: bool,
    evidence_enabled: bool,
    time_zone: String,
    created_at: String,
}

fn agency_row(a: &AgencyRecord) -> AgencyRow {
    AgencyRow {
        id: a.id.clone(),
        name: a.name.clone(),
        kind: humanize(&a.kind),
        verified: a.verified,
        evidence_enabled: a.evidence_enabled,
        time_zone: a.time_zone.clone(),
        created_at: ts(a.created_at),
    }
}

#[derive(Debug, Serialize)]
struct ListView {
    agencies: Vec<AgencyRow>,
    created: Option<String>,
}

/// `GET /admin`: every agency (`App::list_agencies`) with its verified and evidence flags.
pub async fn list_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    query: Result<ApiQuery<CreatedQuery>, ApiError>,
) -> Result<Response, PageError> {
    if let Some(r) = elsewhere(&who) {
        return Ok(r);
    }
    let q = query.map(|ApiQuery(q)| q).unwrap_or_default();
    let agencies = state.app.list_agencies(&who).await?;
    let created = q
        .created
        .and_then(|id| agencies.iter().find(|a| a.id == id).map(|a| a.name.clone()));
    let layout = Layout::signed_in(&state, &who, "Agencies", "/admin");
    let view = ListView {
        agencies: agencies.iter().map(agency_row).collect(),
        created,
    };
    Ok(render("admin_agencies.html", &layout, view)?.into_response())
}

/// An agency kind as a choice.
#[derive(Debug, Serialize)]
struct KindOption {
    code: &'static str,
    label: String,
}

/// The files of the jurisdiction drawing tool, when it is built in (`js/draw-area.js`, on
/// Leaflet-Geoman); without them the page offers the GeoJSON field alone.
#[derive(Debug, Serialize)]
struct DrawAssets {
    script: String,
    geoman_js: String,
    geoman_css: String,
}

fn draw_assets() -> Option<DrawAssets> {
    Some(DrawAssets {
        script: assets::url("js/draw-area.js")?,
        geoman_js: assets::url("vendor/geoman/leaflet-geoman.js")?,
        geoman_css: assets::url("vendor/geoman/leaflet-geoman.css")?,
    })
}

/// The agency form as typed, with its problems.
#[derive(Debug, Serialize)]
struct AgencyFormView {
    name: String,
    kind: String,
    time_zone: String,
    verified: bool,
    evidence_enabled: bool,
    /// The GeoJSON field's text.
    jurisdiction_text: String,
    /// The drawing tool's field: a Polygon it draws, editable, on load (empty for none).
    jurisdiction_input: String,
    errors: Errors,
}

impl AgencyFormView {
    fn from_form(form: &AgencyForm, errors: Errors) -> Self {
        AgencyFormView {
            name: form.name.clone(),
            kind: form.kind.clone(),
            time_zone: form.time_zone.clone(),
            verified: ticked(&form.verified),
            evidence_enabled: ticked(&form.evidence_enabled),
            // What was given shows again in both fields, so a refused form keeps the drawing.
            jurisdiction_text: form.jurisdiction_given().unwrap_or_default().to_owned(),
            jurisdiction_input: form.jurisdiction_given().unwrap_or_default().to_owned(),
            errors,
        }
    }

    fn from_agency(a: &AgencyRecord) -> Self {
        AgencyFormView {
            name: a.name.clone(),
            kind: a.kind.clone(),
            time_zone: a.time_zone.clone(),
            verified: a.verified,
            evidence_enabled: a.evidence_enabled,
            jurisdiction_text: serde_json::to_string_pretty(&a.jurisdiction).unwrap_or_default(),
            // The tool edits one Polygon; a MultiPolygon is only outlined (`data-bounds`).
            jurisdiction_input: if a.jurisdiction["type"] == "Polygon" {
                a.jurisdiction.to_string()
            } else {
                String::new()
            },
            errors: Errors::default(),
        }
    }
}

/// What the agency form pages share.
#[derive(Debug, Serialize)]
struct FormChoices {
    kinds: Vec<KindOption>,
    /// Every IANA time zone name, for the field's suggestions.
    time_zones: Vec<&'static str>,
    draw: Option<DrawAssets>,
}

fn form_choices() -> FormChoices {
    FormChoices {
        kinds: AGENCY_KINDS
            .into_iter()
            .map(|code| KindOption {
                code,
                label: humanize(code),
            })
            .collect(),
        time_zones: chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect(),
        draw: draw_assets(),
    }
}

#[derive(Debug, Serialize)]
struct NewView {
    csrf: String,
    form: AgencyFormView,
    choices: FormChoices,
}

fn new_response(state: &AppState, who: &Principal, form: AgencyFormView) -> Response {
    let layout = Layout::signed_in(state, who, "New agency", "/admin");
    let view = NewView {
        csrf: layout.csrf.clone(),
        form,
        choices: form_choices(),
    };
    render("admin_agency_new.html", &layout, view).into_response()
}

/// `GET /admin/agencies/new`: the form for a new agency.
pub async fn new_page(State(state): State<AppState>, SignedIn(who): SignedIn) -> Response {
    if let Some(r) = elsewhere(&who) {
        return r;
    }
    let form = AgencyFormView {
        name: String::new(),
        kind: AGENCY_KINDS[0].to_owned(),
        time_zone: DEFAULT_TIME_ZONE.to_owned(),
        verified: false,
        evidence_enabled: false,
        jurisdiction_text: String::new(),
        jurisdiction_input: String::new(),
        errors: Errors::default(),
    };
    new_response(&state, &who, form)
}

/// The agency form (new and edit).
#[derive(Debug, Deserialize)]
pub struct AgencyForm {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    time_zone: String,
    /// GeoJSON written by the drawing tool (hidden).
    #[serde(default)]
    jurisdiction: String,
    /// GeoJSON typed or pasted: the keyboard's way, read when nothing was drawn.
    #[serde(default)]
    jurisdiction_text: String,
    #[serde(default)]
    verified: Option<String>,
    #[serde(default)]
    evidence_enabled: Option<String>,
}

impl PageForm for AgencyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl AgencyForm {
    /// The jurisdiction's text: the GeoJSON field, else the drawing tool's field. The drawing
    /// tool copies each drawing into the GeoJSON field and each edit of that field into its
    /// own, so with scripts both agree; without them only the GeoJSON field can change, and
    /// it must win over the tool's field, which still holds what the page was loaded with.
    fn jurisdiction_given(&self) -> Option<&str> {
        [&self.jurisdiction_text, &self.jurisdiction]
            .into_iter()
            .map(|t| t.trim())
            .find(|t| !t.is_empty())
    }

    /// The jurisdiction given, parsed; `None` when there is none.
    fn jurisdiction(&self) -> Option<Result<serde_json::Value, String>> {
        let text = self.jurisdiction_given()?;
        Some(
            serde_json::from_str(text)
                .map_err(|e| format!("Jurisdiction is not valid GeoJSON: {e}.")),
        )
    }

    fn time_zone(&self) -> Option<String> {
        Some(self.time_zone.trim().to_owned()).filter(|z| !z.is_empty())
    }
}

/// `POST /admin/agencies/new`: creates the agency (`App::create_agency`) and goes back to the
/// list; a refused form comes back with each problem beside its field.
pub async fn create(
    State(state): State<AppState>,
    f: SessionForm<AgencyForm>,
) -> Result<Response, PageError> {
    let (who, form) = (f.who, f.form);
    // Without a usable jurisdiction `app` is still asked, with none, so that every other
    // problem shows at once too.
    let (jurisdiction, problem) = match form.jurisdiction() {
        Some(Ok(v)) => (v, None),
        Some(Err(e)) => (serde_json::Value::Null, Some(e)),
        None => (
            serde_json::Value::Null,
            Some("Draw the jurisdiction on the map, or paste it as GeoJSON.".to_owned()),
        ),
    };
    let input = AgencyInput {
        name: form.name.clone(),
        kind: form.kind.clone(),
        jurisdiction,
        verified: ticked(&form.verified),
        evidence_enabled: ticked(&form.evidence_enabled),
        time_zone: form.time_zone(),
    };
    match state.app.create_agency(&who, input).await {
        Ok(agency) => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("created", &agency.id)
                .finish();
            Ok(Redirect::to(&format!("/admin?{query}")).into_response())
        }
        Err(e) => {
            let mut errors = Errors::from_app(e)?;
            if problem.is_some() {
                errors.jurisdiction = problem;
            }
            Ok(new_response(
                &state,
                &who,
                AgencyFormView::from_form(&form, errors),
            ))
        }
    }
}

/// A member in the agency's list.
#[derive(Debug, Serialize)]
struct MemberRow {
    id: String,
    email: String,
    name: String,
    role: String,
    second_factor: bool,
    created_at: String,
}

fn member_row(u: &UserRecord) -> MemberRow {
    MemberRow {
        id: u.id.clone(),
        email: u.email.clone(),
        name: u.display_name.clone().unwrap_or_default(),
        role: humanize(u.role.as_str()),
        second_factor: u.totp_enabled,
        created_at: ts(u.created_at),
    }
}

/// The add-member form as typed (never the password), with its problems.
#[derive(Debug, Serialize)]
struct MemberFormView {
    email: String,
    display_name: String,
    role: String,
    errors: Errors,
}

impl Default for MemberFormView {
    fn default() -> Self {
        MemberFormView {
            email: String::new(),
            display_name: String::new(),
            role: Role::AgencyAdmin.as_str().to_owned(),
            errors: Errors::default(),
        }
    }
}

#[derive(Debug, Serialize)]
struct EditView {
    csrf: String,
    agency: AgencyRow,
    jurisdiction_json: String,
    form: AgencyFormView,
    choices: FormChoices,
    members: Vec<MemberRow>,
    member_form: MemberFormView,
    notice: Option<String>,
}

/// The agency's page, with either form as typed when given.
async fn edit_response(
    state: &AppState,
    who: &Principal,
    id: &str,
    form: Option<AgencyFormView>,
    member_form: MemberFormView,
    notice: Option<String>,
) -> Result<Response, PageError> {
    let agency = state.app.get_agency(who, id).await?;
    let members = state.app.list_agency_members(who, id).await?;
    let layout = Layout::signed_in(state, who, &agency.name, "/admin");
    let view = EditView {
        csrf: layout.csrf.clone(),
        agency: agency_row(&agency),
        jurisdiction_json: agency.jurisdiction.to_string(),
        form: form.unwrap_or_else(|| AgencyFormView::from_agency(&agency)),
        choices: form_choices(),
        members: members.iter().map(member_row).collect(),
        member_form,
        notice,
    };
    Ok(render("admin_agency.html", &layout, view)?.into_response())
}

/// The agency page's query: what was just done, for the confirmation.
#[derive(Debug, Default, Deserialize)]
pub struct EditQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    member_added: Option<String>,
}

/// `GET /admin/agencies/{id}`: the agency's settings, its jurisdiction on a map, and its
/// members, with the forms that change them.
pub async fn edit_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    query: Result<ApiQuery<EditQuery>, ApiError>,
) -> Result<Response, PageError> {
    if let Some(r) = elsewhere(&who) {
        return Ok(r);
    }
    let q = query.map(|ApiQuery(q)| q).unwrap_or_default();
    let mut notice = match q.saved.as_deref() {
        Some("1") => Some("The agency is saved.".to_owned()),
        Some(_) => Some("Nothing changed.".to_owned()),
        None => None,
    };
    if let Some(user_id) = q.member_added {
        let members = state.app.list_agency_members(&who, &id).await?;
        notice = members.iter().find(|m| m.id == user_id).map(|m| {
            format!(
                "{} is added as {}. They set up their second factor when they first sign in.",
                m.email,
                humanize(m.role.as_str()).to_lowercase()
            )
        });
    }
    edit_response(&state, &who, &id, None, MemberFormView::default(), notice).await
}

/// `POST /admin/agencies/{id}`: saves what changed (`App::update_agency`): verification, the
/// evidence account, name, time zone, jurisdiction. Only changed fields are sent, so the
/// audit log records what really changed.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<AgencyForm>,
) -> Result<Response, PageError> {
    let (who, form) = (f.who, f.form);
    let current = state.app.get_agency(&who, &id).await?;
    let mut update = AgencyUpdate::default();
    if form.name.trim() != current.name {
        update.name = Some(form.name.clone());
    }
    if let Some(z) = form.time_zone()
        && z != current.time_zone
    {
        update.time_zone = Some(z);
    }
    let verified = ticked(&form.verified);
    if verified != current.verified {
        update.verified = Some(verified);
    }
    let evidence = ticked(&form.evidence_enabled);
    if evidence != current.evidence_enabled {
        update.evidence_enabled = Some(evidence);
    }
    let mut problem = None;
    match form.jurisdiction() {
        Some(Ok(v)) if v != current.jurisdiction => update.jurisdiction = Some(v),
        Some(Err(e)) => {
            update.jurisdiction = Some(serde_json::Value::Null);
            problem = Some(e);
        }
        _ => {}
    }
    let changed = update.name.is_some()
        || update.time_zone.is_some()
        || update.verified.is_some()
        || update.evidence_enabled.is_some()
        || update.jurisdiction.is_some();
    if !changed {
        return Ok(Redirect::to(&format!("/admin/agencies/{id}?saved=0")).into_response());
    }
    match state.app.update_agency(&who, &id, update).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/agencies/{id}?saved=1")).into_response()),
        Err(e) => {
            let mut errors = Errors::from_app(e)?;
            if problem.is_some() {
                errors.jurisdiction = problem;
            }
            let view = AgencyFormView::from_form(&form, errors);
            edit_response(
                &state,
                &who,
                &id,
                Some(view),
                MemberFormView::default(),
                None,
            )
            .await
        }
    }
}

/// The add-member form.
#[derive(Debug, Deserialize)]
pub struct MemberForm {
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
}

impl PageForm for MemberForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /admin/agencies/{id}/members`: adds an agency admin or investigator
/// (`App::add_agency_member`), who sets up a second factor at first sign-in.
pub async fn add_member(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<MemberForm>,
) -> Result<Response, PageError> {
    let (who, form) = (f.who, f.form);
    let kept = |errors| MemberFormView {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        role: form.role.clone(),
        errors,
    };
    let Some(role) = Role::parse(&form.role).filter(|r| r.is_agency_member()) else {
        let errors = Errors {
            role: Some("Choose agency admin or investigator.".into()),
            ..Errors::default()
        };
        return edit_response(&state, &who, &id, None, kept(errors), None).await;
    };
    let input = StaffAccount {
        email: form.email.clone(),
        password: form.password.clone(),
        display_name: Some(form.display_name.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    match state.app.add_agency_member(&who, &id, input, role).await {
        Ok(user) => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("member_added", &user.id)
                .finish();
            Ok(Redirect::to(&format!("/admin/agencies/{id}?{query}")).into_response())
        }
        Err(e) => {
            let errors = Errors::from_app(e)?;
            edit_response(&state, &who, &id, None, kept(errors), None).await
        }
    }
}
