//! Rows of `community_requests` and their history in `request_events`.
//!
//! Every change happens inside a [`Tx`], together with its history event.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Result, StoreError, Tx, flag, opt_ts, parse_ts, ts};

/// A community request as stored.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// Its id.
    pub id: String,
    /// The agency that asks.
    pub agency_id: String,
    /// The agency's name (joined in).
    pub agency_name: String,
    /// The investigator who created it.
    pub created_by: String,
    /// `pending_review`, `rejected`, `withdrawn` or `published`.
    pub status: String,
    /// The content.
    pub content: RequestContent,
    /// The automated pre-screen's findings (JSON array).
    pub findings: serde_json::Value,
    /// 1 at submission, +1 per revision.
    pub revision: i64,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Uploads are accepted until then.
    pub response_deadline: Option<DateTime<Utc>>,
    /// Unguessable id for share links.
    pub public_id: Option<String>,
    /// Its leaf in the transparency log.
    pub log_index: Option<i64>,
}

/// What an investigator writes (validated by `domain::request`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestContent {
    /// Incident type name.
    pub incident_type: String,
    /// Details text.
    pub details: String,
    /// Start of the footage wanted.
    pub footage_start: DateTime<Utc>,
    /// End of the footage wanted.
    pub footage_end: DateTime<Utc>,
    /// Investigator's name.
    pub contact_name: String,
    /// Investigator's phone.
    pub contact_phone: String,
    /// Investigator's email.
    pub contact_email: String,
    /// GeoJSON Polygon.
    pub area: serde_json::Value,
    /// Geodesic area in square miles.
    pub area_sq_mi: f64,
    /// The agency's case number.
    pub investigation_code: String,
    /// An ongoing threat to physical safety.
    pub ongoing_threat: bool,
    /// Suspects (JSON array).
    pub suspects: serde_json::Value,
}

/// One entry of a request's history.
#[derive(Debug, Clone)]
pub struct RequestEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor_id: String,
    /// `submitted`, `revised`, `approved`, `rejected` or `withdrawn`.
    pub kind: String,
    /// The revision it concerns.
    pub revision: i64,
    /// Guideline codes (decisions).
    pub reasons: Vec<String>,
    /// The moderator's note (decisions).
    pub note: Option<String>,
    /// The content at submission or revision.
    pub snapshot: Option<serde_json::Value>,
}

/// Counts for the public transparency report.
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// Agency name.
    pub agency: String,
    /// Incident type.
    pub incident_type: String,
    /// `published`, `rejected` or `withdrawn`.
    pub outcome: String,
    /// How many.
    pub count: i64,
}

pub(super) const SELECT: &str = "SELECT r.id, r.agency_id, a.name AS agency_name, r.created_by, r.status, \
    r.incident_type, r.details, r.footage_start, r.footage_end, r.contact_name, r.contact_phone, \
    r.contact_email, r.area, r.area_sq_mi, r.investigation_code, r.ongoing_threat, r.suspects, \
    r.findings, r.revision, r.created_at, r.updated_at, r.published_at, r.response_deadline, \
    r.public_id, r.log_index FROM community_requests r JOIN agencies a ON a.id = r.agency_id";

fn json(row: &AnyRow, col: &str) -> Result<serde_json::Value> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

pub(super) fn from_row(row: &AnyRow) -> Result<RequestRecord> {
    Ok(RequestRecord {
        id: row.try_get("id")?,
        agency_id: row.try_get("agency_id")?,
        agency_name: row.try_get("agency_name")?,
        created_by: row.try_get("created_by")?,
        status: row.try_get("status")?,
        content: RequestContent {
            incident_type: row.try_get("incident_type")?,
            details: row.try_get("details")?,
            footage_start: parse_ts(&row.try_get::<String, _>("footage_start")?)?,
            footage_end: parse_ts(&row.try_get::<String, _>("footage_end")?)?,
            contact_name: row.try_get("contact_name")?,
            contact_phone: row.try_get("contact_phone")?,
            contact_email: row.try_get("contact_email")?,
            area: json(row, "area")?,
            area_sq_mi: row.try_get("area_sq_mi")?,
            investigation_code: row.try_get("investigation_code")?,
            ongoing_threat: flag(row, "ongoing_threat")?,
            suspects: json(row, "suspects")?,
        },
        findings: json(row, "findings")?,
        revision: row.try_get("revision")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        published_at: opt_ts(row.try_get("published_at")?)?,
        response_deadline: opt_ts(row.try_get("response_deadline")?)?,
        public_id: row.try_get("public_id")?,
        log_index: row.try_get("log_index")?,
    })
}

impl Db {
    /// One request.
    pub async fn request(&self, id: &str) -> Result<Option<RequestRecord>> {
        let sql = format!("{SELECT} WHERE r.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Requests, newest first: one agency's, or every agency's when `agency_id` is `None`.
    pub async fn requests(
        &self,
        agency_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RequestRecord>> {
        let sql = format!(
            "{SELECT} WHERE ($1 IS NULL OR r.agency_id = $1) ORDER BY r.created_at DESC, r.id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(agency_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Requests waiting for a moderator, oldest first.
    pub async fn pending_requests(&self, limit: i64) -> Result<Vec<RequestRecord>> {
        let sql = format!(
            "{SELECT} WHERE r.status = 'pending_review' ORDER BY r.updated_at, r.id LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// A request's history, oldest first.
    pub async fn request_events(&self, request_id: &str) -> Result<Vec<RequestEvent>> {
        let rows = sqlx::query(
            "SELECT at, actor_id, kind, revision, reasons, note, snapshot FROM request_events \
             WHERE request_id = $1 ORDER BY id",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let reasons: String = row.try_get("reasons")?;
                let snapshot: Option<String> = row.try_get("snapshot")?;
                Ok(RequestEvent {
                    at: parse_ts(&row.try_get::<String, _>("at")?)?,
                    actor_id: row.try_get("actor_id")?,
                    kind: row.try_get("kind")?,
                    revision: row.try_get("revision")?,
                    reasons: serde_json::from_str(&reasons)
                        .map_err(|e| StoreError::Corrupt(format!("reasons: {e}")))?,
                    note: row.try_get("note")?,
                    snapshot: snapshot
                        .map(|s| serde_json::from_str(&s))
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(format!("snapshot: {e}")))?,
                })
            })
            .collect()
    }

    /// Requests per agency, incident type and outcome (no other figure is ever counted).
    pub async fn request_report(&self) -> Result<Vec<ReportRow>> {
        let rows = sqlx::query(
            "SELECT a.name AS agency, r.incident_type, r.status, COUNT(*) AS n \
             FROM community_requests r JOIN agencies a ON a.id = r.agency_id \
             WHERE r.status IN ('published', 'rejected', 'withdrawn') \
             GROUP BY a.name, r.incident_type, r.status ORDER BY a.name, r.incident_type, r.status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ReportRow {
                    agency: row.try_get("agency")?,
                    incident_type: row.try_get("incident_type")?,
                    outcome: row.try_get("status")?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }
}

/// Binds $1..$14 of a statement that writes a request's content: the content, the findings
/// and the time, in the order both `insert_request` and `revise_request` use.
fn bind_content<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    c: &'q RequestContent,
    findings: &serde_json::Value,
    now: DateTime<Utc>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(&c.incident_type)
        .bind(&c.details)
        .bind(ts(c.footage_start))
        .bind(ts(c.footage_end))
        .bind(&c.contact_name)
        .bind(&c.contact_phone)
        .bind(&c.contact_email)
        .bind(c.area.to_string())
        .bind(c.area_sq_mi)
        .bind(&c.investigation_code)
        .bind(c.ongoing_threat)
        .bind(c.suspects.to_string())
        .bind(findings.to_string())
        .bind(ts(now))
}

impl Tx {
    /// Inserts a new request, pending review, and answers its id. A taken investigation code
    /// is a unique violation.
    pub async fn insert_request(
        &mut self,
        agency_id: &str,
        created_by: &str,
        content: &RequestContent,
        findings: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let id = super::new_id();
        let insert = sqlx::query(
            "INSERT INTO community_requests (incident_type, details, footage_start, footage_end, \
             contact_name, contact_phone, contact_email, area, area_sq_mi, investigation_code, \
             ongoing_threat, suspects, findings, created_at, updated_at, id, agency_id, created_by, \
             status, revision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16, $17, \
             'pending_review', 1)",
        );
        bind_content(insert, content, findings, now)
            .bind(&id)
            .bind(agency_id)
            .bind(created_by)
            .execute(&mut *self.0)
            .await?;
        Ok(id)
    }

    /// Replaces the content of a pending or rejected request and sends it back to review.
    /// Answers false when the request is no longer revisable.
    pub async fn revise_request(
        &mut self,
        id: &str,
        content: &RequestContent,
        findings: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let update = sqlx::query(
            "UPDATE community_requests SET incident_type = $1, details = $2, footage_start = $3, \
             footage_end = $4, contact_name = $5, contact_phone = $6, contact_email = $7, area = $8, \
             area_sq_mi = $9, investigation_code = $10, ongoing_threat = $11, suspects = $12, \
             findings = $13, updated_at = $14, status = 'pending_review', revision = revision + 1 \
             WHERE id = $15 AND status IN ('pending_review', 'rejected')",
        );
        let done = bind_content(update, content, findings, now)
            .bind(id)
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves a request from one of `from` to `to`. Answers false when it was in another state.
    pub async fn set_request_status(
        &mut self,
        id: &str,
        from: &[&str],
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        // At most two source states are ever needed; bind both (repeating one is harmless).
        let first = from.first().copied().unwrap_or("");
        let second = from.get(1).copied().unwrap_or(first);
        let done = sqlx::query(
            "UPDATE community_requests SET status = $1, updated_at = $2 \
             WHERE id = $3 AND status IN ($4, $5)",
        )
        .bind(to)
        .bind(ts(now))
        .bind(id)
        .bind(first)
        .bind(second)
        .execute(&mut *self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Publishes a pending request at log index `log_index`. Answers false when it was not
    /// pending (then nothing changed).
    pub async fn publish_request(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
        response_deadline: DateTime<Utc>,
        public_id: &str,
        log_index: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE community_requests SET status = 'published', published_at = $1, updated_at = $1, \
             response_deadline = $2, public_id = $3, log_index = $4 \
             WHERE id = $5 AND status = 'pending_review'",
        )
        .bind(ts(now))
        .bind(ts(response_deadline))
        .bind(public_id)
        .bind(log_index)
        .bind(id)
        .execute(&mut *self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Appends to a request's history.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_request_event(
        &mut self,
        request_id: &str,
        actor_id: &str,
        kind: &str,
        revision: i64,
        reasons: &[String],
        note: Option<&str>,
        snapshot: Option<&serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let reasons = serde_json::to_string(reasons)
            .map_err(|e| StoreError::Corrupt(format!("reasons: {e}")))?;
        sqlx::query(
            "INSERT INTO request_events (request_id, at, actor_id, kind, revision, reasons, note, snapshot) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(request_id)
        .bind(ts(now))
        .bind(actor_id)
        .bind(kind)
        .bind(revision)
        .bind(reasons)
        .bind(note)
        .bind(snapshot.map(|s| s.to_string()))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }
}
