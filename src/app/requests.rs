//! Community requests: an investigator's draft, revisions and withdrawal; what each role sees.

use super::{App, AppError, Principal, Result};
use crate::domain::Role;
use crate::domain::area::{self, Shape};
use crate::domain::guidelines::{self, ScreenContext};
use crate::domain::request::{self, Draft, ValidRequest};
use crate::store::{RequestContent, RequestEvent, RequestRecord};

/// The most requests one list answers.
pub const LIST_LIMIT: i64 = 500;

/// How much of a request the caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The agency that asks: everything, with findings and moderation.
    Agency,
    /// Platform staff: everything, with findings and moderation.
    Staff,
    /// A resident whose home is in the area: the published post only.
    Resident,
}

/// A request with what the caller may see of its moderation.
#[derive(Debug, Clone)]
pub struct RequestDetail {
    /// The request.
    pub record: RequestRecord,
    /// Who is looking.
    pub audience: Audience,
    /// The latest moderation decision, for the agency and staff.
    pub decision: Option<RequestEvent>,
}

fn content_of(v: &ValidRequest) -> RequestContent {
    RequestContent {
        incident_type: v.incident_type.as_str().to_owned(),
        details: v.details.clone(),
        footage_start: v.footage_start,
        footage_end: v.footage_end,
        contact_name: v.investigator.name.clone(),
        contact_phone: v.investigator.phone.clone(),
        contact_email: v.investigator.email.clone(),
        area: v.area.clone(),
        area_sq_mi: v.area_sq_mi,
        investigation_code: v.investigation_code.clone(),
        ongoing_threat: v.ongoing_threat,
        suspects: serde_json::to_value(&v.suspects).unwrap_or_default(),
    }
}

fn findings_of(v: &ValidRequest) -> serde_json::Value {
    let ctx = ScreenContext {
        ongoing_threat: v.ongoing_threat,
        privacy_exempt_incident: v.incident_type.is_privacy_exempt(),
    };
    serde_json::to_value(guidelines::screen(&v.details, &ctx)).unwrap_or_default()
}

fn snapshot(content: &RequestContent) -> serde_json::Value {
    serde_json::to_value(content).unwrap_or_default()
}

fn duplicate_code(code: &str) -> AppError {
    AppError::Conflict {
        code: "duplicate_investigation_code",
        message: format!("your agency already has a request with investigation code {code:?}"),
    }
}

fn immutable() -> AppError {
    AppError::Conflict {
        code: "request_immutable",
        message: "a published request can be neither edited nor deleted, by anyone".into(),
    }
}

impl App {
    /// Checks the caller is an investigator of a verified agency with an evidence account,
    /// then validates the draft against that agency's jurisdiction.
    async fn validate_draft(
        &self,
        who: &Principal,
        draft: &Draft,
    ) -> Result<(String, ValidRequest)> {
        self.require_role(who, &[Role::Investigator], "requests")
            .await?;
        let agency_id = who
            .agency_id
            .clone()
            .ok_or(AppError::Forbidden("you belong to no agency"))?;
        let agency = self
            .db
            .agency(&agency_id)
            .await?
            .ok_or(AppError::NotFound("agency"))?;
        if !agency.verified {
            return Err(AppError::Refused {
                code: "agency_not_verified",
                message: "your agency is not verified yet; a platform admin must verify it first"
                    .into(),
            });
        }
        if !agency.evidence_enabled {
            return Err(AppError::Refused {
                code: "evidence_account_required",
                message:
                    "your agency's evidence account is not enabled; a platform admin must enable it"
                        .into(),
            });
        }
        let jurisdiction =
            area::parse(&agency.jurisdiction, Shape::PolygonOrMulti).map_err(|e| {
                AppError::Internal(anyhow::anyhow!("stored jurisdiction is invalid: {e}"))
            })?;
        let valid = request::validate(draft, &jurisdiction, self.now(), &self.settings.requests)?;
        Ok((agency_id, valid))
    }

    /// Creates a request, pending review, with the automated pre-screen's findings.
    pub async fn create_request(&self, who: &Principal, draft: Draft) -> Result<RequestDetail> {
        let (agency_id, valid) = self.validate_draft(who, &draft).await?;
        let id = self
            .insert_request(&agency_id, &who.user_id, &valid, self.now())
            .await?;
        self.request_detail(who, &id, None).await
    }

    /// Stores a validated request with its findings and its first history event.
    pub(crate) async fn insert_request(
        &self,
        agency_id: &str,
        actor_id: &str,
        valid: &ValidRequest,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String> {
        let content = content_of(valid);
        let findings = findings_of(valid);
        let mut tx = self.db.begin().await?;
        let id = match tx
            .insert_request(agency_id, actor_id, &content, &findings, now)
            .await
        {
            Ok(id) => id,
            Err(e) if e.is_unique_violation() => {
                return Err(duplicate_code(&content.investigation_code));
            }
            Err(e) => return Err(e.into()),
        };
        tx.insert_request_event(
            &id,
            actor_id,
            "submitted",
            1,
            &[],
            None,
            Some(&snapshot(&content)),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Revises a pending or rejected request; it goes back to the moderation queue.
    pub async fn revise_request(
        &self,
        who: &Principal,
        id: &str,
        draft: Draft,
    ) -> Result<RequestDetail> {
        let record = self.request_for_change(who, id).await?;
        let (_, valid) = self.validate_draft(who, &draft).await?;
        let content = content_of(&valid);
        let findings = findings_of(&valid);
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let revised = match tx.revise_request(id, &content, &findings, now).await {
            Ok(r) => r,
            Err(e) if e.is_unique_violation() => {
                return Err(duplicate_code(&content.investigation_code));
            }
            Err(e) => return Err(e.into()),
        };
        if !revised {
            return Err(self.not_revisable(id).await);
        }
        let revision = record.revision + 1;
        tx.insert_request_event(
            id,
            &who.user_id,
            "revised",
            revision,
            &[],
            None,
            Some(&snapshot(&content)),
            now,
        )
        .await?;
        tx.commit().await?;
        self.request_detail(who, id, None).await
    }

    /// Withdraws a request before publication. Its history stays.
    pub async fn withdraw_request(&self, who: &Principal, id: &str) -> Result<()> {
        let record = self.request_for_change(who, id).await?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if !tx
            .set_request_status(id, &["pending_review", "rejected"], "withdrawn", now)
            .await?
        {
            return Err(self.not_revisable(id).await);
        }
        tx.insert_request_event(
            id,
            &who.user_id,
            "withdrawn",
            record.revision,
            &[],
            None,
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The error for a request that can no longer change, by its current state.
    async fn not_revisable(&self, id: &str) -> AppError {
        match self.db.request(id).await {
            Ok(Some(r)) if r.status == "published" => immutable(),
            Ok(_) => AppError::Conflict {
                code: "request_withdrawn",
                message: "this request was withdrawn; create a new one instead".into(),
            },
            Err(e) => e.into(),
        }
    }

    /// A request the caller wants to change: published ones are immutable for everyone (checked
    /// first, so admins get the same answer); otherwise only the agency's investigators may.
    async fn request_for_change(&self, who: &Principal, id: &str) -> Result<RequestRecord> {
        let record = self.visible_request(who, id, None).await?.0;
        if record.status == "published" {
            return Err(immutable());
        }
        self.require_role(who, &[Role::Investigator], "requests")
            .await?;
        if record.status == "withdrawn" {
            return Err(self.not_revisable(id).await);
        }
        Ok(record)
    }

    /// Finds a request and decides what the caller may see of it; 404 when nothing. A resident
    /// sees a published request over their home, or one whose share link they hold (`via`).
    async fn visible_request(
        &self,
        who: &Principal,
        id: &str,
        via: Option<&str>,
    ) -> Result<(RequestRecord, Audience)> {
        let target = format!("request:{id}");
        let Some(record) = self.db.request(id).await? else {
            return Err(AppError::NotFound("request"));
        };
        let audience = match who.role {
            Role::Admin | Role::Moderator => Some(Audience::Staff),
            Role::AgencyAdmin | Role::Investigator => (who.agency_id.as_deref()
                == Some(record.agency_id.as_str()))
            .then_some(Audience::Agency),
            Role::Resident => (record.status == "published"
                && (via.is_some() && via == record.public_id.as_deref()
                    || self.home_in_area(who, &record).await?))
                .then_some(Audience::Resident),
        };
        match audience {
            Some(a) => Ok((record, a)),
            // A resident's miss is not audited: the server keeps no record of who tried to
            // read which request (DESIGN rule 6). Staff probing another agency's request are.
            None if who.role == Role::Resident => Err(AppError::NotFound("request")),
            None => Err(self.not_found_for(who, &target, "request").await),
        }
    }

    /// Whether a resident's home lies in a request's area (boundary included).
    async fn home_in_area(&self, who: &Principal, record: &RequestRecord) -> Result<bool> {
        let Some((lat, lon)) = who.home else {
            return Ok(false);
        };
        super::residents::area_holds(record, lat, lon)
    }

    /// One request, as the caller may see it.
    pub async fn request_detail(
        &self,
        who: &Principal,
        id: &str,
        via: Option<&str>,
    ) -> Result<RequestDetail> {
        let (record, audience) = self.visible_request(who, id, via).await?;
        let decision = match audience {
            Audience::Resident => None,
            _ => self
                .db
                .request_events(id)
                .await?
                .into_iter()
                .rev()
                .find(|e| e.kind == "approved" || e.kind == "rejected"),
        };
        Ok(RequestDetail {
            record,
            audience,
            decision,
        })
    }

    /// A request's history (agency and platform staff).
    pub async fn request_history(&self, who: &Principal, id: &str) -> Result<Vec<RequestEvent>> {
        let (_, audience) = self.visible_request(who, id, None).await?;
        if audience == Audience::Resident {
            // Not audited, like every resident's miss (no record of who read what).
            return Err(AppError::NotFound("request"));
        }
        Ok(self.db.request_events(id).await?)
    }

    /// Requests: an agency's own for its members, all for moderators and admins.
    pub async fn list_requests(&self, who: &Principal) -> Result<Vec<RequestDetail>> {
        self.require_role(who, super::STAFF, "requests").await?;
        let (agency, audience) = match who.role {
            Role::Admin | Role::Moderator => (None, Audience::Staff),
            _ => (
                Some(who.agency_id.as_deref().unwrap_or("-")),
                Audience::Agency,
            ),
        };
        let records = self.db.requests(agency, LIST_LIMIT).await?;
        Ok(records
            .into_iter()
            .map(|record| RequestDetail {
                record,
                audience,
                decision: None,
            })
            .collect())
    }
}

impl App {
    /// Validates a draft exactly as [`App::create_request`] does and answers it with the
    /// automated pre-screen's findings, storing nothing: the "Check" step of the new-request
    /// page, so the investigator sees what the moderator will see before submitting. (The
    /// investigation code's uniqueness is checked only on submission.)
    pub async fn check_request(
        &self,
        who: &Principal,
        draft: &Draft,
    ) -> Result<(ValidRequest, Vec<guidelines::Finding>)> {
        let (_, valid) = self.validate_draft(who, draft).await?;
        let ctx = ScreenContext {
            ongoing_threat: valid.ongoing_threat,
            privacy_exempt_incident: valid.incident_type.is_privacy_exempt(),
        };
        let findings = guidelines::screen(&valid.details, &ctx);
        Ok((valid, findings))
    }
}

impl App {
    /// A request as [`App::revise_request`] would find it, changing nothing: the same refusals
    /// (published: 409 `request_immutable`; withdrawn; not an investigator of its agency), for
    /// the page that shows the revision form before anything is posted.
    pub async fn revisable_request(&self, who: &Principal, id: &str) -> Result<RequestDetail> {
        self.request_for_change(who, id).await?;
        self.request_detail(who, id, None).await
    }
}
