//! Revising a request before publication: `GET /agency/requests/{id}/revise` (the new-request
//! form, prefilled from the request as stored, with the moderator's reasons and note at the
//! top), `POST /agency/requests/{id}/revise/check` (the same check step: validation and the
//! pre-screen's findings, storing nothing) and `POST /agency/requests/{id}/revise`
//! (`App::revise_request`: it goes back to the moderation queue).
//!
//! A request that can no longer change (published, withdrawn) answers the app's 409 message
//! in place of the form, on every one of these addresses.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::new_request::{
    Fields, RawForm, Revision, check_or_submit, own_agency, place_errors, render_form, zone_of,
};
use super::{Decision, members_only, status_of};
use crate::app::{AppError, Principal};
use crate::domain::validation::FieldErrors;
use crate::store::RequestContent;
use crate::web::AppState;
use crate::web::pages::render::{Layout, PageError, render};
use crate::web::pages::session::{SessionForm, SignedIn};

/// What the page shows for a request that can no longer change.
#[derive(Debug, Serialize)]
struct Closed {
    id: String,
    /// The app's refusal, as a sentence.
    message: String,
}

/// The request to revise with its decision and stored content, or the page that says it can
/// no longer change (the app's 409: published requests are immutable, withdrawn ones stay so).
async fn revision(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<Result<(Revision, RequestContent), Response>, PageError> {
    let detail = match state.app.revisable_request(who, id).await {
        Ok(d) => d,
        Err(AppError::Conflict { code, message }) => {
            let layout =
                Layout::signed_in(state, who, "This request can no longer change", "/agency");
            let error = PageError::from(AppError::Conflict { code, message });
            let page = render(
                "agency_revise_closed.html",
                &layout,
                Closed {
                    id: id.to_owned(),
                    message: error.message,
                },
            )?;
            // A 409, as the API answers: the page explains it and links back to the request.
            return Ok(Err((StatusCode::CONFLICT, page).into_response()));
        }
        Err(e) => return Err(e.into()),
    };
    let r = detail.record;
    let revision = Revision {
        status: status_of(&r, state.app.now()),
        revision: r.revision,
        decision: detail.decision.map(Decision::from),
        id: r.id,
    };
    Ok(Ok((revision, r.content)))
}

/// `GET /agency/requests/{id}/revise`: the form, filled in with the request as stored.
pub async fn revise_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = members_only(&who) {
        return r.into_response();
    }
    let page = async {
        let (revise, content) = match revision(&state, &who, &id).await? {
            Ok(found) => found,
            Err(closed) => return Ok(closed),
        };
        let agency = own_agency(&state, &who).await?;
        let fields = Fields::from_stored(&content, zone_of(&agency));
        let errors = place_errors(
            &mut Fields::default(),
            &FieldErrors::new(),
            &FieldErrors::new(),
            &[],
        );
        render_form(
            &state,
            &who,
            &agency,
            fields,
            errors,
            None,
            None,
            Some(&revise),
        )
    };
    page.await.unwrap_or_else(IntoResponse::into_response)
}

/// Checks (`submit` false) or resubmits the posted revision of request `id`.
async fn post(
    state: &AppState,
    who: &Principal,
    id: &str,
    form: &RawForm,
    submit: bool,
) -> Response {
    if let Some(r) = members_only(who) {
        return r.into_response();
    }
    let page = async {
        let revise = match revision(state, who, id).await? {
            Ok((revise, _)) => revise,
            Err(closed) => return Ok(closed),
        };
        check_or_submit(state, who, form, submit, Some(&revise)).await
    };
    page.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /agency/requests/{id}/revise/check`: validates the revision as a resubmission would
/// and shows the pre-screen's findings. Nothing is stored.
pub async fn check(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<RawForm>,
) -> Response {
    post(&state, &f.who, &id, &f.form, false).await
}

/// `POST /agency/requests/{id}/revise`: resubmits the request for review
/// (`App::revise_request`) and opens it; with problems, the form again with each one next to
/// its field, everything typed kept.
pub async fn resubmit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: SessionForm<RawForm>,
) -> Response {
    post(&state, &f.who, &id, &f.form, true).await
}

/// `GET /agency/requests/{id}/revise/check` (a reload of the checked form's address): back to
/// the form.
pub async fn back_to_form(Path(id): Path<String>) -> Redirect {
    Redirect::to(&format!("/agency/requests/{id}/revise"))
}
