//! `/agency/team`: the agency admin lists the agency's members, adds an investigator or another
//! agency admin, and removes one. `app` allows agency admins only (an investigator gets the
//! "Not allowed" page from it).

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::members_only;
use crate::app::accounts::StaffAccount;
use crate::app::{AppError, Principal};
use crate::domain::Role;
use crate::web::AppState;
use crate::web::pages::render::{Layout, PageError, render};
use crate::web::pages::session::{PageForm, SessionForm, SignedIn};

/// A member as the list shows them.
#[derive(Debug, Serialize)]
struct MemberView {
    id: String,
    email: String,
    name: Option<String>,
    role_label: &'static str,
    mfa_ready: bool,
    since: DateTime<Utc>,
    is_self: bool,
}

/// The add form as typed (the password is never sent back).
#[derive(Debug, Default, Serialize)]
struct AddFields {
    email: String,
    display_name: String,
    role: String,
}

#[derive(Debug, Serialize)]
struct TeamView {
    csrf: String,
    members: Vec<MemberView>,
    fields: AddFields,
    /// Problems by field (`email`, `password`, `display_name`, `role`, `form`); each present.
    errors: BTreeMap<&'static str, Vec<String>>,
    has_errors: bool,
    /// What just happened (added or removed), to confirm it.
    notice: Option<String>,
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::AgencyAdmin => "Agency admin",
        Role::Investigator => "Investigator",
        _ => "Other",
    }
}

fn empty_errors() -> BTreeMap<&'static str, Vec<String>> {
    ["form", "email", "password", "display_name", "role"]
        .into_iter()
        .map(|k| (k, Vec::new()))
        .collect()
}

async fn team(
    state: &AppState,
    who: &Principal,
    fields: AddFields,
    errors: BTreeMap<&'static str, Vec<String>>,
    notice: Option<String>,
) -> Result<Response, PageError> {
    let agency = who.agency_id.as_deref().unwrap_or("-");
    let members = state.app.list_agency_members(who, agency).await?;
    let layout = Layout::signed_in(state, who, "Your team", "/agency/team");
    let has_errors = errors.values().any(|e| !e.is_empty());
    let view = TeamView {
        csrf: layout.csrf.clone(),
        members: members
            .into_iter()
            .map(|m| MemberView {
                is_self: m.id == who.user_id,
                role_label: role_label(m.role),
                mfa_ready: m.totp_enabled,
                since: m.created_at,
                id: m.id,
                email: m.email,
                name: m.display_name.filter(|n| !n.trim().is_empty()),
            })
            .collect(),
        fields,
        errors,
        has_errors,
        notice,
    };
    Ok(render("agency_team.html", &layout, view)?.into_response())
}

/// `GET /agency/team`: the members and the form to add one.
pub async fn team_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = members_only(&who) {
        return r.into_response();
    }
    let q = query.unwrap_or_default();
    let notice = if q.contains("added=1") {
        Some("Member added. They set up their second factor when they first sign in.".to_owned())
    } else if q.contains("removed=1") {
        Some("Member removed: their account is disabled and their sessions have ended.".to_owned())
    } else {
        None
    };
    team(&state, &who, AddFields::default(), empty_errors(), notice)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// The add-a-member form.
#[derive(Debug, Deserialize)]
pub struct AddForm {
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

impl PageForm for AddForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn sentence(label: &str, problem: &str) -> String {
    let mut s = if problem.starts_with("is ") || problem.starts_with("must ") {
        format!("{label} {problem}")
    } else {
        let mut chars = problem.chars();
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

/// `POST /agency/team`: adds a member (`App::add_agency_member`); problems come back next to
/// their fields.
pub async fn add_member(State(state): State<AppState>, f: SessionForm<AddForm>) -> Response {
    if let Some(r) = members_only(&f.who) {
        return r.into_response();
    }
    let who = f.who;
    let form = f.form;
    let fields = AddFields {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        role: form.role.clone(),
    };
    let mut errors = empty_errors();
    let Some(role) = Role::parse(form.role.trim()).filter(|r| r.is_agency_member()) else {
        errors
            .entry("role")
            .or_default()
            .push("Choose investigator or agency admin.".to_owned());
        return team(&state, &who, fields, errors, None)
            .await
            .unwrap_or_else(IntoResponse::into_response);
    };
    let agency = who.agency_id.clone().unwrap_or_else(|| "-".to_owned());
    let input = StaffAccount {
        email: form.email,
        password: form.password,
        display_name: Some(form.display_name).filter(|n| !n.trim().is_empty()),
    };
    match state
        .app
        .add_agency_member(&who, &agency, input, role)
        .await
    {
        Ok(_) => Redirect::to("/agency/team?added=1").into_response(),
        Err(AppError::Invalid(v)) => {
            for (field, problems) in v.details {
                let (key, label) = match field.as_str() {
                    "email" => ("email", "The email"),
                    "password" => ("password", "The password"),
                    "display_name" => ("display_name", "The name"),
                    "role" => ("role", "The role"),
                    _ => ("form", "The member"),
                };
                errors
                    .entry(key)
                    .or_default()
                    .extend(problems.iter().map(|p| sentence(label, p)));
            }
            team(&state, &who, fields, errors, None)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        }
        Err(AppError::Conflict { message, .. }) => {
            errors
                .entry("email")
                .or_default()
                .push(sentence("The email", &message));
            team(&state, &who, fields, errors, None)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// The remove button's form.
#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    csrf: String,
}

impl PageForm for RemoveForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /agency/team/{user_id}/remove`: removes a member (`App::remove_agency_member`): the
/// account is disabled and its sessions end; its records stay for audit.
pub async fn remove_member(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    f: SessionForm<RemoveForm>,
) -> Response {
    if let Some(r) = members_only(&f.who) {
        return r.into_response();
    }
    let agency = f.who.agency_id.clone().unwrap_or_else(|| "-".to_owned());
    match state
        .app
        .remove_agency_member(&f.who, &agency, &user_id)
        .await
    {
        Ok(()) => Redirect::to("/agency/team?removed=1").into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}
