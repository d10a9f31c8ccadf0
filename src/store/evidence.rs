//! What residents share and what the agency holds: `submissions`, `evidence_items`, and the
//! hash-chained `custody_events`. (The recordings a resident chooses from are
//! [`Db::recordings_overlapping`].)
//!
//! The three evidence tables are append-only (the database refuses `UPDATE` and `DELETE`), so
//! this file only ever inserts into them. Custody events are appended in exactly one place,
//! [`Db::append_custody`], which reads the chain's last event and links the new one to it in a
//! single transaction.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Db, Result, StoreError, Tx, i64_of, opt_ts, time, ts, u64_col};
use crate::domain::custody::{self, CustodyEvent, CustodyKind, NewCustodyEvent};

/// How many times an append is tried when concurrent appends to the same chain collide.
const APPEND_ATTEMPTS: usize = 6;

/// One resident's answer to one request, with who they were at that moment.
#[derive(Debug, Clone)]
pub struct SubmissionRecord {
    /// Its id.
    pub id: String,
    /// The request answered.
    pub request_id: String,
    /// The request's agency.
    pub agency_id: String,
    /// The resident who shared.
    pub resident_id: String,
    /// The resident's display name then.
    pub display_name: String,
    /// The resident's home address then.
    pub home_address: String,
    /// The resident's email then.
    pub email: String,
    /// The notice the resident accepted, word for word.
    pub consent_text: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A shared clip: the agency's copy and what is known about it.
#[derive(Debug, Clone)]
pub struct EvidenceRecord {
    /// Its id.
    pub id: String,
    /// The submission it came in.
    pub submission_id: String,
    /// The request it answers.
    pub request_id: String,
    /// The agency that holds it.
    pub agency_id: String,
    /// The resident's recording it was copied from (which may since have been deleted).
    pub recording_id: String,
    /// Hex SHA-256 of the bytes, verified on receipt.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    /// MIME type.
    pub content_type: String,
    /// The name the resident uploaded it under.
    pub filename: Option<String>,
    /// When recording started.
    pub started_at: DateTime<Utc>,
    /// When recording ended.
    pub ended_at: DateTime<Utc>,
    /// Length, when known.
    pub duration_ms: Option<i64>,
    /// The creation time the file states, when it states one.
    pub media_created_at: Option<DateTime<Utc>>,
    /// The camera's name then.
    pub device_name: String,
    /// The camera's latitude then.
    pub device_lat: f64,
    /// The camera's longitude then.
    pub device_lon: f64,
    /// Where the agency's copy lives in the blob store.
    pub object_key: String,
    /// When it was received.
    pub created_at: DateTime<Utc>,
}

const SUBMISSION_SELECT: &str = "SELECT s.id, s.request_id, s.agency_id, s.resident_id, \
    s.display_name, s.home_address, s.email, s.consent_text, s.created_at FROM submissions s";

const EVIDENCE_SELECT: &str = "SELECT e.id, e.submission_id, e.request_id, e.agency_id, \
    e.recording_id, e.sha256, e.size, e.content_type, e.filename, e.started_at, e.ended_at, \
    e.duration_ms, e.media_created_at, e.device_name, e.device_lat, e.device_lon, e.object_key, \
    e.created_at FROM evidence_items e";

const CUSTODY_SELECT: &str = "SELECT c.evidence_id, c.seq, c.kind, c.actor_id, c.actor, c.at, \
    c.source_ip, c.reason, c.detail, c.prev_hash, c.hash FROM custody_events c";

fn submission_from_row(row: &AnyRow) -> Result<SubmissionRecord> {
    Ok(SubmissionRecord {
        id: row.try_get("id")?,
        request_id: row.try_get("request_id")?,
        agency_id: row.try_get("agency_id")?,
        resident_id: row.try_get("resident_id")?,
        display_name: row.try_get("display_name")?,
        home_address: row.try_get("home_address")?,
        email: row.try_get("email")?,
        consent_text: row.try_get("consent_text")?,
        created_at: time(row, "created_at")?,
    })
}

fn evidence_from_row(row: &AnyRow) -> Result<EvidenceRecord> {
    Ok(EvidenceRecord {
        id: row.try_get("id")?,
        submission_id: row.try_get("submission_id")?,
        request_id: row.try_get("request_id")?,
        agency_id: row.try_get("agency_id")?,
        recording_id: row.try_get("recording_id")?,
        sha256: row.try_get("sha256")?,
        size: u64_col(row, "size")?,
        content_type: row.try_get("content_type")?,
        filename: row.try_get("filename")?,
        started_at: time(row, "started_at")?,
        ended_at: time(row, "ended_at")?,
        duration_ms: row.try_get("duration_ms")?,
        media_created_at: opt_ts(row.try_get("media_created_at")?)?,
        device_name: row.try_get("device_name")?,
        device_lat: row.try_get("device_lat")?,
        device_lon: row.try_get("device_lon")?,
        object_key: row.try_get("object_key")?,
        created_at: time(row, "created_at")?,
    })
}

fn custody_from_row(row: &AnyRow) -> Result<CustodyEvent> {
    let kind: String = row.try_get("kind")?;
    let detail: String = row.try_get("detail")?;
    Ok(CustodyEvent {
        evidence_id: row.try_get("evidence_id")?,
        seq: u64_col(row, "seq")?,
        kind: CustodyKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("custody kind {kind:?}")))?,
        actor_id: row.try_get("actor_id")?,
        actor: row.try_get("actor")?,
        at: row.try_get("at")?,
        source_ip: row.try_get("source_ip")?,
        reason: row.try_get("reason")?,
        detail: serde_json::from_str(&detail)
            .map_err(|e| StoreError::Corrupt(format!("custody detail: {e}")))?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Whether a failed append may succeed when tried again: another append took the same seq
/// first, or the database gave up waiting for another writer.
fn is_contention(e: &StoreError) -> bool {
    if e.is_unique_violation() {
        return true;
    }
    let StoreError::Database(sqlx::Error::Database(db)) = e else {
        return false;
    };
    // SQLite: SQLITE_BUSY and its extended codes; PostgreSQL: serialization failure, deadlock.
    matches!(
        db.code().as_deref(),
        Some("5" | "261" | "517" | "40001" | "40P01")
    )
}

impl Db {
    /// The recordings a resident has already shared with a request.
    pub async fn shared_recording_ids(
        &self,
        request_id: &str,
        resident_id: &str,
    ) -> Result<HashSet<String>> {
        let rows = sqlx::query(
            "SELECT e.recording_id FROM evidence_items e JOIN submissions s ON s.id = e.submission_id \
             WHERE e.request_id = $1 AND s.resident_id = $2",
        )
        .bind(request_id)
        .bind(resident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>("recording_id")?))
            .collect()
    }

    /// One submission.
    pub async fn submission(&self, id: &str) -> Result<Option<SubmissionRecord>> {
        self.fetch_one_by(
            format!("{SUBMISSION_SELECT} WHERE s.id = $1"),
            id,
            submission_from_row,
        )
        .await
    }

    /// A request's submissions, oldest first.
    pub async fn submissions_for_request(&self, request_id: &str) -> Result<Vec<SubmissionRecord>> {
        self.fetch_all_by(
            format!("{SUBMISSION_SELECT} WHERE s.request_id = $1 ORDER BY s.created_at, s.id"),
            request_id,
            submission_from_row,
        )
        .await
    }

    /// A resident's submissions, newest first.
    pub async fn submissions_of_resident(
        &self,
        resident_id: &str,
    ) -> Result<Vec<SubmissionRecord>> {
        self.fetch_all_by(
            format!(
                "{SUBMISSION_SELECT} WHERE s.resident_id = $1 ORDER BY s.created_at DESC, s.id"
            ),
            resident_id,
            submission_from_row,
        )
        .await
    }

    /// One evidence item.
    pub async fn evidence_item(&self, id: &str) -> Result<Option<EvidenceRecord>> {
        self.fetch_one_by(
            format!("{EVIDENCE_SELECT} WHERE e.id = $1"),
            id,
            evidence_from_row,
        )
        .await
    }

    /// Every evidence item of a request, in the order received.
    pub async fn evidence_items_for_request(
        &self,
        request_id: &str,
    ) -> Result<Vec<EvidenceRecord>> {
        self.fetch_all_by(
            format!("{EVIDENCE_SELECT} WHERE e.request_id = $1 ORDER BY e.created_at, e.id"),
            request_id,
            evidence_from_row,
        )
        .await
    }

    /// The evidence items of one submission, in the order received.
    pub async fn evidence_items_for_submission(
        &self,
        submission_id: &str,
    ) -> Result<Vec<EvidenceRecord>> {
        self.fetch_all_by(
            format!("{EVIDENCE_SELECT} WHERE e.submission_id = $1 ORDER BY e.created_at, e.id"),
            submission_id,
            evidence_from_row,
        )
        .await
    }

    /// Every evidence item a resident has shared.
    pub async fn evidence_items_of_resident(
        &self,
        resident_id: &str,
    ) -> Result<Vec<EvidenceRecord>> {
        self.fetch_all_by(
            format!(
                "{EVIDENCE_SELECT} JOIN submissions s ON s.id = e.submission_id \
             WHERE s.resident_id = $1 ORDER BY e.created_at, e.id"
            ),
            resident_id,
            evidence_from_row,
        )
        .await
    }

    /// An evidence item's chain of custody, in order.
    pub async fn custody_events(&self, evidence_id: &str) -> Result<Vec<CustodyEvent>> {
        self.fetch_all_by(
            format!("{CUSTODY_SELECT} WHERE c.evidence_id = $1 ORDER BY c.seq"),
            evidence_id,
            custody_from_row,
        )
        .await
    }

    /// The custody events of one kind about the clips a resident shared, by item and seq.
    pub async fn custody_events_of_resident(
        &self,
        resident_id: &str,
        kind: CustodyKind,
    ) -> Result<Vec<CustodyEvent>> {
        let sql = format!(
            "{CUSTODY_SELECT} JOIN evidence_items e ON e.id = c.evidence_id \
             JOIN submissions s ON s.id = e.submission_id \
             WHERE s.resident_id = $1 AND c.kind = $2 ORDER BY c.evidence_id, c.seq"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(resident_id)
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(custody_from_row).collect()
    }

    /// Appends an event to an evidence item's chain of custody and answers it as stored.
    ///
    /// The last event is read and the new one linked to it in one transaction. Two appends
    /// racing for the same item compute the same seq; the primary key (evidence_id, seq) lets
    /// only one in, and the other reads the chain again and retries.
    pub async fn append_custody(
        &self,
        evidence_id: &str,
        new: &NewCustodyEvent,
    ) -> Result<CustodyEvent> {
        match self.append_custody_inner(evidence_id, new, None).await? {
            Some(e) => Ok(e),
            None => Err(StoreError::Corrupt(
                "an unconditional custody append was skipped".into(),
            )),
        }
    }

    /// Like [`Db::append_custody`], but appends nothing (and answers `None`) when the same
    /// account already recorded an event of the same kind about the item at or after `since`.
    /// The check runs inside the append's transaction, so racing requests add one event, not
    /// one each.
    pub async fn append_custody_unless_since(
        &self,
        evidence_id: &str,
        new: &NewCustodyEvent,
        since: DateTime<Utc>,
    ) -> Result<Option<CustodyEvent>> {
        self.append_custody_inner(evidence_id, new, Some(since))
            .await
    }

    async fn append_custody_inner(
        &self,
        evidence_id: &str,
        new: &NewCustodyEvent,
        unless_since: Option<DateTime<Utc>>,
    ) -> Result<Option<CustodyEvent>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_append(evidence_id, new, unless_since).await {
                Err(e) if attempt < APPEND_ATTEMPTS && is_contention(&e) => {
                    // A short, growing pause lets the other append commit first.
                    let pause = 5 * attempt as u64 + rand::random_range(0..10_u64);
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                other => return other,
            }
        }
    }

    async fn try_append(
        &self,
        evidence_id: &str,
        new: &NewCustodyEvent,
        unless_since: Option<DateTime<Utc>>,
    ) -> Result<Option<CustodyEvent>> {
        // On SQLite, take the write lock at BEGIN: a deferred transaction that reads and then
        // writes fails at once (SQLITE_BUSY_SNAPSHOT) when another writer committed between,
        // whereas an immediate one waits its turn (busy_timeout).
        // On PostgreSQL, lock the item's row: appends to one chain then queue up instead of
        // colliding on (evidence_id, seq) and retrying. The retry stays as a safety net.
        let mut tx = Tx(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        });
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM evidence_items WHERE id = $1 FOR UPDATE")
                .bind(evidence_id)
                .fetch_optional(&mut *tx.0)
                .await?;
        }
        if let (Some(since), Some(actor_id)) = (unless_since, new.actor_id.as_deref()) {
            let recent = sqlx::query(
                "SELECT 1 AS hit FROM custody_events WHERE evidence_id = $1 AND kind = $2 \
                 AND actor_id = $3 AND at >= $4 LIMIT 1",
            )
            .bind(evidence_id)
            .bind(new.kind.as_str())
            .bind(actor_id)
            .bind(ts(since))
            .fetch_optional(&mut *tx.0)
            .await?;
            if recent.is_some() {
                return Ok(None);
            }
        }
        let sql = format!("{CUSTODY_SELECT} WHERE c.evidence_id = $1 ORDER BY c.seq DESC LIMIT 1");
        let last = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(evidence_id)
            .fetch_optional(&mut *tx.0)
            .await?
            .as_ref()
            .map(custody_from_row)
            .transpose()?;
        let event = custody::next_event(evidence_id, last.as_ref(), new.clone());
        tx.insert_custody_event(&event).await?;
        tx.commit().await?;
        Ok(Some(event))
    }
}

impl Tx {
    /// Inserts a submission.
    pub async fn insert_submission(&mut self, s: &SubmissionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO submissions (id, request_id, agency_id, resident_id, display_name, \
             home_address, email, consent_text, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.id)
        .bind(&s.request_id)
        .bind(&s.agency_id)
        .bind(&s.resident_id)
        .bind(&s.display_name)
        .bind(&s.home_address)
        .bind(&s.email)
        .bind(&s.consent_text)
        .bind(ts(s.created_at))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// Inserts an evidence item. A recording already shared with the request is a unique
    /// violation.
    pub async fn insert_evidence_item(&mut self, e: &EvidenceRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO evidence_items (id, submission_id, request_id, agency_id, recording_id, \
             sha256, size, content_type, filename, started_at, ended_at, duration_ms, \
             media_created_at, device_name, device_lat, device_lon, object_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(&e.id)
        .bind(&e.submission_id)
        .bind(&e.request_id)
        .bind(&e.agency_id)
        .bind(&e.recording_id)
        .bind(&e.sha256)
        .bind(i64_of(e.size, "size")?)
        .bind(&e.content_type)
        .bind(&e.filename)
        .bind(ts(e.started_at))
        .bind(ts(e.ended_at))
        .bind(e.duration_ms)
        .bind(e.media_created_at.map(ts))
        .bind(&e.device_name)
        .bind(e.device_lat)
        .bind(e.device_lon)
        .bind(&e.object_key)
        .bind(ts(e.created_at))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// Inserts a custody event built by `domain::custody::next_event`. Outside a new item's
    /// first events, use [`Db::append_custody`], which links it to the chain safely.
    pub async fn insert_custody_event(&mut self, e: &CustodyEvent) -> Result<()> {
        let detail = serde_jcs::to_string(&e.detail)
            .map_err(|err| StoreError::Corrupt(format!("custody detail: {err}")))?;
        sqlx::query(
            "INSERT INTO custody_events (evidence_id, seq, kind, actor_id, actor, at, source_ip, \
             reason, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&e.evidence_id)
        .bind(i64_of(e.seq, "custody seq")?)
        .bind(e.kind.as_str())
        .bind(&e.actor_id)
        .bind(&e.actor)
        .bind(&e.at)
        .bind(&e.source_ip)
        .bind(&e.reason)
        .bind(detail)
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .execute(&mut *self.0)
        .await?;
        if e.kind == CustodyKind::IntegrityChecked {
            // The item's latest check, for /metrics (see the evidence_integrity migration).
            let outcome = e.detail["outcome"].as_str().unwrap_or_default();
            sqlx::query(
                "INSERT INTO evidence_integrity (evidence_id, seq, outcome, checked_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (evidence_id) DO UPDATE \
                 SET seq = excluded.seq, outcome = excluded.outcome, checked_at = excluded.checked_at \
                 WHERE excluded.seq > evidence_integrity.seq",
            )
            .bind(&e.evidence_id)
            .bind(i64_of(e.seq, "custody seq")?)
            .bind(outcome)
            .bind(&e.at)
            .execute(&mut *self.0)
            .await?;
        }
        Ok(())
    }
}
