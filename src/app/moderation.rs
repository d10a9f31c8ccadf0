//! Moderation: the queue, and decisions. Approval publishes the request and appends it to
//! the transparency log in one transaction.

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::json;

use super::requests::{Audience, RequestDetail};
use super::{App, AppError, Principal, Result};
use crate::domain::Role;
use crate::domain::area::{self, Shape};
use crate::domain::guidelines::Guideline;
use crate::domain::validation::Problems;
use crate::domain::{geo_index, merkle};
use crate::store::{RequestRecord, cell_i64};

/// The most requests the queue answers at once.
pub const QUEUE_LIMIT: i64 = 200;

/// A moderator's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Publish.
    Approve,
    /// Send back to the agency with reasons.
    Reject,
}

/// The leaf the transparency log holds for a published request: canonical JSON (RFC 8785).
pub fn log_entry(record: &RequestRecord) -> Result<String> {
    let c = &record.content;
    let published_at = record
        .published_at
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unpublished request in the log")))?;
    let entry = json!({
        "id": record.id,
        "agency": record.agency_name,
        "incident_type": c.incident_type,
        "details": c.details,
        "footage_start": crate::store::ts(c.footage_start),
        "footage_end": crate::store::ts(c.footage_end),
        "area": c.area,
        "investigation_code": c.investigation_code,
        "published_at": crate::store::ts(published_at),
    });
    serde_jcs::to_string(&entry)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("canonical JSON: {e}")))
}

fn new_public_id() -> String {
    use base64::Engine;
    let mut bytes = [0_u8; 16];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl App {
    /// Requests waiting for review, oldest first, with their findings (moderators only).
    pub async fn moderation_queue(&self, who: &Principal) -> Result<Vec<RequestDetail>> {
        self.require_role(who, &[Role::Moderator], "moderation")
            .await?;
        let records = self.db.pending_requests(QUEUE_LIMIT).await?;
        Ok(records
            .into_iter()
            .map(|record| RequestDetail {
                record,
                audience: Audience::Staff,
                decision: None,
            })
            .collect())
    }

    /// Approves (publishes) or rejects a pending request. A rejection needs at least one
    /// guideline reason; a request that is not pending answers 409.
    pub async fn decide(
        &self,
        who: &Principal,
        id: &str,
        decision: Decision,
        reasons: &[String],
        note: Option<&str>,
    ) -> Result<RequestDetail> {
        self.require_role(who, &[Role::Moderator], "moderation")
            .await?;
        let mut p = Problems::new();
        for r in reasons {
            if Guideline::parse(r).is_none() {
                p.add(
                    "reasons",
                    format!(
                        "{r:?} is not a guideline code; use {}",
                        Guideline::ALL.map(Guideline::as_str).join(", ")
                    ),
                );
            }
        }
        if decision == Decision::Reject && reasons.is_empty() {
            p.add("reasons", "a rejection needs at least one guideline reason");
        }
        if let Some(n) = note
            && n.chars().count() > 2_000
        {
            p.add(
                "note",
                format!(
                    "is {} characters long; the limit is 2000",
                    n.chars().count()
                ),
            );
        }
        p.finish("invalid_decision", "The decision is not valid")?;
        let record = self
            .db
            .request(id)
            .await?
            .ok_or(AppError::NotFound("request"))?;
        if record.status != "pending_review" {
            return Err(not_pending(&record.status));
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        // Whole seconds, so the published time reads the same in the API and in the log.
        let now = self.now().trunc_subsecs(0);
        match decision {
            Decision::Reject => {
                self.reject(&who.user_id, &record, reasons, note, now)
                    .await?
            }
            Decision::Approve => {
                self.publish(&who.user_id, &record, reasons, note, now)
                    .await?
            }
        }
        self.request_detail(who, id, None).await
    }

    pub(crate) async fn reject(
        &self,
        actor_id: &str,
        record: &RequestRecord,
        reasons: &[String],
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        if !tx
            .set_request_status(&record.id, &["pending_review"], "rejected", now)
            .await?
        {
            return Err(not_pending("changed"));
        }
        tx.insert_request_event(
            &record.id,
            actor_id,
            "rejected",
            record.revision,
            reasons,
            note,
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Publication: status, deadline, share id, and the log append, all in one transaction, so
    /// no request is ever published without its leaf (or the other way round).
    pub(crate) async fn publish(
        &self,
        actor_id: &str,
        record: &RequestRecord,
        reasons: &[String],
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let deadline = now + self.settings.requests.response_window;
        let mut tx = self.db.begin().await?;
        let index = tx.reserve_log_index().await?;
        let log_index = i64::try_from(index).map_err(|e| AppError::Internal(e.into()))?;
        if !tx
            .publish_request(&record.id, now, deadline, &new_public_id(), log_index)
            .await?
        {
            return Err(not_pending("changed"));
        }
        let mut published = record.clone();
        published.published_at = Some(now);
        let entry = log_entry(&published)?;
        let leaf = merkle::leaf_hash(entry.as_bytes());
        let known = tx.log_nodes(&merkle::append_needs(index)).await?;
        let nodes =
            merkle::append(index, leaf, &known).map_err(|e| AppError::Internal(e.into()))?;
        tx.append_log(index, &record.id, &entry, &leaf, &nodes)
            .await?;
        // The area's cover makes the request findable from a home; the fan-out job works out
        // who to notify after this answer has gone, so the answer says nothing about them.
        let area = area::parse(&record.content.area, Shape::Polygon)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored area is invalid: {e}")))?;
        let polygon = area
            .0
            .first()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("empty area")))?;
        let cells: Vec<i64> = geo_index::area_cover(polygon)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("area cover: {e}")))?
            .into_iter()
            .map(cell_i64)
            .collect::<std::result::Result<_, _>>()?;
        tx.insert_request_cells(&record.id, &cells).await?;
        tx.insert_fanout_job(&record.id, now).await?;
        tx.insert_request_event(
            &record.id,
            actor_id,
            "approved",
            record.revision,
            reasons,
            note,
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        // Residents of this server see it in their feeds from the next read.
        self.refresh_feed_index().await;
        Ok(())
    }
}

fn not_pending(status: &str) -> AppError {
    AppError::Conflict {
        code: "request_not_pending",
        message: format!("only a request pending review can be decided; this one is {status}"),
    }
}
