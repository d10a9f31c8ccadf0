//! The platform admin's pages: agencies (with their jurisdiction drawn on a map), moderators and
//! the audit log. The same `app` functions as the JSON API, which check the role; these pages
//! only send other roles to their own home.

mod agencies;
mod audit;
mod moderators;

use std::collections::BTreeMap;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use serde::{Deserialize, Serialize};

use super::render::{PageError, home_for, humanize};
use crate::app::{AppError, Principal};
use crate::domain::Role;
use crate::domain::ValidationError;
use crate::web::AppState;

/// This area's page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(agencies::list_page))
        .route(
            "/admin/agencies/new",
            get(agencies::new_page).post(agencies::create),
        )
        .route(
            "/admin/agencies/{id}",
            get(agencies::edit_page).post(agencies::update),
        )
        .route("/admin/agencies/{id}/members", post(agencies::add_member))
        .route(
            "/admin/moderators",
            get(moderators::list_page).post(moderators::create),
        )
        .route("/admin/audit", get(audit::audit_page))
}

/// A list page's query: the item just created (an agency, a moderator), for the confirmation.
#[derive(Debug, Default, Deserialize)]
pub struct CreatedQuery {
    #[serde(default)]
    created: Option<String>,
}

/// Admin pages are the platform admin's; anyone else goes to their own home. (Navigation
/// only: the `app` functions refuse other roles themselves.)
fn elsewhere(who: &Principal) -> Option<Response> {
    (who.role != Role::Admin).then(|| Redirect::to(home_for(who.role).0).into_response())
}

/// `text` with a capital first letter and a full stop (only the first letter changes: the rest
/// may hold codes and emails).
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '?', '!']) {
        out.push('.');
    }
    out
}

/// Words that start a problem written to follow the field's name ("is required").
const FOLLOWS_NAME: [&str; 7] = ["is", "are", "must", "has", "needs", "should", "contains"];

/// Each field's problems as one sentence to show beside it: `name` → "Name is required.".
/// The key is the field's top-level name (`jurisdiction.coordinates` → `jurisdiction`).
pub(super) fn field_errors(v: &ValidationError) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (path, problems) in &v.details {
        let field = path.split('.').next().unwrap_or(path).to_owned();
        for problem in problems {
            let first = problem.split_whitespace().next().unwrap_or_default();
            let sentence = if FOLLOWS_NAME.contains(&first) {
                sentence(&format!("{} {problem}", humanize(&field)))
            } else {
                sentence(problem)
            };
            out.entry(field.clone())
                .and_modify(|s| {
                    s.push(' ');
                    s.push_str(&sentence);
                })
                .or_insert(sentence);
        }
    }
    out
}

/// The problems of a refused form, beside the fields of the admin's forms (each form uses the
/// ones it has); what fits no field shows above the form.
#[derive(Debug, Default, Serialize)]
struct Errors {
    name: Option<String>,
    kind: Option<String>,
    time_zone: Option<String>,
    jurisdiction: Option<String>,
    email: Option<String>,
    password: Option<String>,
    display_name: Option<String>,
    role: Option<String>,
    other: Option<String>,
}

impl Errors {
    /// The form's problems from `app`'s refusal; a refusal that is not about the form (not
    /// allowed, not found, …) stays an error page.
    fn from_app(e: AppError) -> Result<Errors, PageError> {
        let mut errors = Errors::default();
        match e {
            AppError::Invalid(v) => {
                for (field, text) in field_errors(&v) {
                    let slot = match field.as_str() {
                        "name" => &mut errors.name,
                        "kind" => &mut errors.kind,
                        "time_zone" => &mut errors.time_zone,
                        "jurisdiction" => &mut errors.jurisdiction,
                        "email" => &mut errors.email,
                        "password" => &mut errors.password,
                        "display_name" => &mut errors.display_name,
                        "role" => &mut errors.role,
                        _ => &mut errors.other,
                    };
                    match slot {
                        Some(s) => {
                            s.push(' ');
                            s.push_str(&text);
                        }
                        None => *slot = Some(text),
                    }
                }
            }
            AppError::Conflict {
                code: "email_taken",
                message,
            } => errors.email = Some(sentence(&message)),
            e @ AppError::Conflict { .. } => errors.other = Some(PageError::from(e).message),
            e => return Err(e.into()),
        }
        Ok(errors)
    }
}

/// Whether a checkbox was ticked (browsers send `on`, or its `value`).
fn ticked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_problems_read_as_sentences() {
        let mut v = ValidationError::field("invalid_input", "name", "is required");
        v.details.insert(
            "jurisdiction.coordinates".into(),
            vec!["a ring needs at least 4 positions".into()],
        );
        v.details
            .entry("name".into())
            .or_default()
            .push("must not be blank".into());
        let e = field_errors(&v);
        assert_eq!(e["name"], "Name is required. Name must not be blank.");
        assert_eq!(e["jurisdiction"], "A ring needs at least 4 positions.");
    }
}
