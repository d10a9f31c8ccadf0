//! The notification outbox and the fan-out jobs that fill it.
//!
//! Fan-out inserts with `ON CONFLICT DO NOTHING` on (request, resident, channel), so a job
//! re-run after a crash adds only what is missing. Delivery claims due rows with a lease;
//! on PostgreSQL several workers share the queue with `FOR UPDATE SKIP LOCKED`.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::{Backend, Db, Result, ts};

/// A notification to deliver.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    /// Its row.
    pub id: i64,
    /// The request to announce.
    pub request_id: String,
    /// The resident to tell.
    pub user_id: String,
    /// `email` or `push`.
    pub channel: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// Counts by state, for operators' metrics only.
#[derive(Debug, Clone, Default)]
pub struct OutboxTotals {
    /// Waiting or retrying.
    pub pending: i64,
    /// Delivered.
    pub sent: i64,
    /// Given up.
    pub failed: i64,
    /// Cancelled by an opt-out.
    pub cancelled: i64,
}

impl Db {
    /// Publications whose recipients are not all queued yet, oldest first.
    pub async fn pending_fanout_jobs(&self, limit: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT request_id FROM fanout_jobs WHERE done_at IS NULL ORDER BY created_at LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Queues notifications (one per resident and channel); existing ones are left alone.
    pub async fn enqueue_notifications(
        &self,
        request_id: &str,
        rows: &[(String, &'static str)],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut added = 0;
        let now = ts(now);
        let mut tx = self.pool.begin().await?;
        // Multi-row inserts of 200: few round trips, well under either database's parameter limit.
        for chunk in rows.chunks(200) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("($1, ${}, ${}, $2, $2, $2)", 3 + 2 * i, 4 + 2 * i))
                .collect();
            let sql = format!(
                "INSERT INTO notification_outbox (request_id, user_id, channel, next_attempt_at, created_at, updated_at) \
                 VALUES {} ON CONFLICT (request_id, user_id, channel) DO NOTHING",
                values.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(request_id)
                .bind(&now);
            for (user, channel) in chunk {
                q = q.bind(user.as_str()).bind(*channel);
            }
            added += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Marks a fan-out job done.
    pub async fn finish_fanout_job(&self, request_id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE fanout_jobs SET done_at = $1 WHERE request_id = $2")
            .bind(ts(now))
            .bind(request_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claims up to `limit` due notifications for `lease`; a worker that dies leaves them to be
    /// claimed again when the lease ends.
    pub async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // SQLite has one writer at a time; the UPDATE below is atomic already.
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE notification_outbox SET claimed_until = $1, attempts = attempts + 1, updated_at = $2 \
             WHERE id IN (SELECT id FROM notification_outbox WHERE state = 'pending' \
             AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $2) \
             ORDER BY next_attempt_at, id LIMIT $3 {lock}) \
             RETURNING id, request_id, user_id, channel, attempts"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ts(now + lease))
            .bind(ts(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxItem {
                    id: r.try_get("id")?,
                    request_id: r.try_get("request_id")?,
                    user_id: r.try_get("user_id")?,
                    channel: r.try_get("channel")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Records the final or next state of a claimed notification.
    pub async fn settle_notification(
        &self,
        id: i64,
        state: &str,
        next_attempt_at: Option<DateTime<Utc>>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE notification_outbox SET state = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
             last_error = $3, claimed_until = NULL, updated_at = $4 WHERE id = $5",
        )
        .bind(state)
        .bind(next_attempt_at.map(ts))
        .bind(error)
        .bind(ts(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Notifications by state (operators only).
    pub async fn outbox_totals(&self) -> Result<OutboxTotals> {
        let rows =
            sqlx::query("SELECT state, COUNT(*) AS n FROM notification_outbox GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        let mut t = OutboxTotals::default();
        for r in rows {
            let state: String = r.try_get("state")?;
            let n: i64 = r.try_get("n")?;
            match state.as_str() {
                "pending" => t.pending = n,
                "sent" => t.sent = n,
                "failed" => t.failed = n,
                _ => t.cancelled = n,
            }
        }
        Ok(t)
    }

    /// The outbox rows of one request (tests and operators; never shown to an agency).
    pub async fn outbox_for_request(
        &self,
        request_id: &str,
    ) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT user_id, channel, state FROM notification_outbox WHERE request_id = $1 ORDER BY user_id, channel",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("user_id")?,
                    r.try_get("channel")?,
                    r.try_get("state")?,
                ))
            })
            .collect()
    }
}
