//! The append-only `audit_log`. This module only inserts and reads; triggers refuse the rest.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Db, Result, parse_ts, ts};
use crate::domain::audit::{AuditAction, Outcome};

/// One event to record.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// Who acted, when known.
    pub actor_id: Option<&'a str>,
    /// The actor's email (or the email tried, for a failed login).
    pub actor_email: Option<&'a str>,
    /// What happened.
    pub action: AuditAction,
    /// What it happened to (`user:ID`, `agency:ID`, a route).
    pub target: Option<&'a str>,
    /// The client address.
    pub source_ip: Option<&'a str>,
    /// How it ended.
    pub outcome: Outcome,
    /// A short reason, never a secret.
    pub detail: Option<&'a str>,
}

/// An event as stored.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// Its position in the log.
    pub id: i64,
    /// When, in UTC.
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actor_id: Option<String>,
    /// The actor's email, or the email tried.
    pub actor_email: Option<String>,
    /// What happened.
    pub action: String,
    /// What it happened to.
    pub target: Option<String>,
    /// The client address.
    pub source_ip: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// A short reason.
    pub detail: Option<String>,
}

impl Db {
    /// Appends one event.
    pub async fn append_audit(&self, e: &AuditEntry<'_>, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor_id, actor_email, action, target, source_ip, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(ts(now))
        .bind(e.actor_id)
        .bind(e.actor_email)
        .bind(e.action.as_str())
        .bind(e.target)
        .bind(e.source_ip)
        .bind(e.outcome.as_str())
        .bind(e.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Events newest first, before the id `before` when given.
    pub async fn audit_page(&self, before: Option<i64>, limit: i64) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT id, at, actor_id, actor_email, action, target, source_ip, outcome, detail \
             FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditRecord {
                    id: row.try_get("id")?,
                    at: parse_ts(&row.try_get::<String, _>("at")?)?,
                    actor_id: row.try_get("actor_id")?,
                    actor_email: row.try_get("actor_email")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    source_ip: row.try_get("source_ip")?,
                    outcome: row.try_get("outcome")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Db {
    /// Entries newest first, before entry `before`, narrowed by each filter given: `actor`
    /// (part of the actor's email, or the actor's id), `action` (exact), `target` (part of
    /// it), and `range` (from, inclusive; until, exclusive). The filter text is bound, never
    /// spliced into the SQL.
    pub async fn audit_search(
        &self,
        actor: Option<&str>,
        action: Option<&str>,
        target: Option<&str>,
        range: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        // $1 is `before`; text parameters follow from $2; the limit comes last.
        let mut texts: Vec<String> = Vec::new();
        let mut next = |value: String| {
            texts.push(value);
            format!("${}", texts.len() + 1)
        };
        let mut sql = String::from(
            "SELECT id, at, actor_id, actor_email, action, target, source_ip, outcome, detail \
             FROM audit_log WHERE id < $1",
        );
        if let Some(a) = actor {
            let pattern = next(format!("%{}%", like_escape(&a.to_lowercase())));
            let id = next(a.to_owned());
            sql.push_str(&format!(
                " AND (LOWER(actor_email) LIKE {pattern} ESCAPE '\\' OR actor_id = {id})"
            ));
        }
        if let Some(a) = action {
            let p = next(a.to_owned());
            sql.push_str(&format!(" AND action = {p}"));
        }
        if let Some(t) = target {
            let p = next(format!("%{}%", like_escape(&t.to_lowercase())));
            sql.push_str(&format!(" AND LOWER(target) LIKE {p} ESCAPE '\\'"));
        }
        if let Some(from) = range.0 {
            let p = next(ts(from));
            sql.push_str(&format!(" AND at >= {p}"));
        }
        if let Some(until) = range.1 {
            let p = next(ts(until));
            sql.push_str(&format!(" AND at < {p}"));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", texts.len() + 2));
        // Only this function's own fragments and numbered placeholders are in `sql`.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(before.unwrap_or(i64::MAX));
        for t in texts {
            query = query.bind(t);
        }
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditRecord {
                    id: row.try_get("id")?,
                    at: parse_ts(&row.try_get::<String, _>("at")?)?,
                    actor_id: row.try_get("actor_id")?,
                    actor_email: row.try_get("actor_email")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    source_ip: row.try_get("source_ip")?,
                    outcome: row.try_get("outcome")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}
