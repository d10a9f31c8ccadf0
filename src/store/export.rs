//! What the evidence export and the integrity sweep need beyond the evidence tables' own
//! readers (`store::evidence`): every evidence id in pages, the scheduled jobs' last runs, and
//! the integrity figures for `/metrics`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Db, Result, parse_ts, ts};

impl Db {
    /// Up to `limit` evidence ids after `after` (all from the start when `None`), in id order:
    /// a sweep over every item pages through them so it never holds the whole table.
    pub async fn evidence_ids_after(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM evidence_items WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>("id")?))
            .collect()
    }

    /// When the scheduled job `name` last ran, if it ever did.
    pub async fn job_last_run(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        let at: Option<String> =
            sqlx::query_scalar("SELECT last_run_at FROM job_runs WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        at.as_deref().map(parse_ts).transpose()
    }

    /// Records that `name` ran at `at`.
    pub async fn record_job_run(&self, name: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO job_runs (name, last_run_at) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at",
        )
        .bind(name)
        .bind(ts(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims the run of `name` at `now` when it last ran at or before `due_before` (or never):
    /// answers whether this caller won. One statement, so of several instances checking at
    /// once only one runs the job.
    pub async fn claim_job_run(
        &self,
        name: &str,
        now: DateTime<Utc>,
        due_before: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO job_runs (name, last_run_at) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at \
             WHERE job_runs.last_run_at <= $3",
        )
        .bind(name)
        .bind(ts(now))
        .bind(ts(due_before))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives back a claim made by [`Db::claim_job_run`] whose run failed, so the job is due
    /// again: restores the previous last run, or forgets the job when it had none.
    pub async fn release_job_run(&self, name: &str, previous: Option<DateTime<Utc>>) -> Result<()> {
        match previous {
            Some(at) => self.record_job_run(name, at).await,
            None => {
                sqlx::query("DELETE FROM job_runs WHERE name = $1")
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    }

    /// How many evidence items failed their latest integrity check (outcome `mismatch` or
    /// `missing`), whether by the sweep or by an export. Read from `evidence_integrity`, kept
    /// with each item's custody chain, so the figure survives restarts, is the same on every
    /// instance, and costs a look at the failing items only; an item whose bytes are restored
    /// counts again as good once a later check matches.
    pub async fn integrity_failures(&self) -> Result<i64> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM evidence_integrity WHERE outcome <> 'match'")
                .fetch_one(&self.pool)
                .await?;
        Ok(n)
    }
}
