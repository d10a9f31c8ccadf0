//! Moderators: the list, and a new moderator's account.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{CreatedQuery, Errors, elsewhere};
use crate::app::Principal;
use crate::app::accounts::StaffAccount;
use crate::domain::password;
use crate::store::{UserRecord, ts};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiQuery;
use crate::web::pages::render::{Layout, PageError, render};
use crate::web::pages::session::{PageForm, SessionForm, SignedIn};

/// A moderator in the list.
#[derive(Debug, Serialize)]
struct ModeratorRow {
    id: String,
    email: String,
    name: String,
    second_factor: bool,
    disabled: bool,
    created_at: String,
}

fn moderator_row(u: &UserRecord) -> ModeratorRow {
    ModeratorRow {
        id: u.id.clone(),
        email: u.email.clone(),
        name: u.display_name.clone().unwrap_or_default(),
        second_factor: u.totp_enabled,
        disabled: u.disabled,
        created_at: ts(u.created_at),
    }
}

/// The new-moderator form as typed (never the password), with its problems.
#[derive(Debug, Default, Serialize)]
struct FormView {
    email: String,
    display_name: String,
    errors: Errors,
}

#[derive(Debug, Serialize)]
struct View {
    csrf: String,
    moderators: Vec<ModeratorRow>,
    form: FormView,
    created: Option<String>,
    min_password: usize,
}

async fn page(
    state: &AppState,
    who: &Principal,
    form: FormView,
    created: Option<String>,
) -> Result<Response, PageError> {
    let moderators = state.app.list_moderators(who).await?;
    let created = created.and_then(|id| {
        moderators
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.email.clone())
    });
    let layout = Layout::signed_in(state, who, "Moderators", "/admin/moderators");
    let view = View {
        csrf: layout.csrf.clone(),
        moderators: moderators.iter().map(moderator_row).collect(),
        form,
        created,
        min_password: password::MIN_LEN,
    };
    Ok(render("admin_moderators.html", &layout, view)?.into_response())
}

/// `GET /admin/moderators`: every moderator (`App::list_moderators`) and the form for a new one.
pub async fn list_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    query: Result<ApiQuery<CreatedQuery>, ApiError>,
) -> Result<Response, PageError> {
    if let Some(r) = elsewhere(&who) {
        return Ok(r);
    }
    let q = query.map(|ApiQuery(q)| q).unwrap_or_default();
    page(&state, &who, FormView::default(), q.created).await
}

/// The new-moderator form.
#[derive(Debug, Deserialize)]
pub struct ModeratorForm {
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
}

impl PageForm for ModeratorForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /admin/moderators`: creates a moderator (`App::create_moderator`), who sets up a
/// second factor at first sign-in.
pub async fn create(
    State(state): State<AppState>,
    f: SessionForm<ModeratorForm>,
) -> Result<Response, PageError> {
    let (who, form) = (f.who, f.form);
    let input = StaffAccount {
        email: form.email.clone(),
        password: form.password.clone(),
        display_name: Some(form.display_name.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    match state.app.create_moderator(&who, input).await {
        Ok(user) => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("created", &user.id)
                .finish();
            Ok(Redirect::to(&format!("/admin/moderators?{query}")).into_response())
        }
        Err(e) => {
            let view = FormView {
                email: form.email,
                display_name: form.display_name,
                errors: Errors::from_app(e)?,
            };
            page(&state, &who, view, None).await
        }
    }
}
