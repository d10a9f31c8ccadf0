//! Rows of `sessions`: one per login, found by the SHA-256 of its bearer token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::StoreError;
use crate::domain::Role;

use super::{Db, Result, flag, parse_ts, ts};

/// How long a session read from the database is used without reading it again. A session
/// revoked, or an account disabled or changed, through another server on the same database
/// stops working here within this long; through this server, at once.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(1);

/// How many sessions [`SessionCache`] keeps.
const SESSION_CACHE_ENTRIES: usize = 10_000;

/// Sessions (with their accounts) read in the last [`SESSION_CACHE_TTL`], by token hash, so
/// that most requests make no query to learn who is calling. Every write in this store to a
/// session, or to an account field read with it, drops the entries it concerns; a read that
/// raced such a write is not kept (the write moves `generation` on).
#[derive(Debug)]
pub struct SessionCache {
    entries: quick_cache::sync::Cache<String, Arc<CachedSession>>,
    generation: AtomicU64,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(SESSION_CACHE_ENTRIES),
            generation: AtomicU64::new(0),
        }
    }
}

#[derive(Debug)]
struct CachedSession {
    read_at: Instant,
    session: SessionRecord,
    user: SessionUser,
}

impl SessionCache {
    fn get(&self, token_hash: &str) -> Option<(SessionRecord, SessionUser)> {
        self.entries
            .get(token_hash)
            .filter(|c| c.read_at.elapsed() < SESSION_CACHE_TTL)
            .map(|c| (c.session.clone(), c.user.clone()))
    }

    fn keep(&self, read_at: Instant, generation: u64, session: &SessionRecord, user: &SessionUser) {
        self.entries.insert(
            session.token_hash.clone(),
            Arc::new(CachedSession {
                read_at,
                session: session.clone(),
                user: user.clone(),
            }),
        );
        // A write since the read began may have changed what was read: drop it again. Checked
        // after the insert, so a write that lands between a check and the insert still wins
        // (writers move the generation on before they remove).
        if self.generation.load(Ordering::SeqCst) != generation {
            self.entries.remove(&session.token_hash);
        }
    }

    /// Forgets one session.
    pub(crate) fn forget_session(&self, token_hash: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.remove(token_hash);
    }

    /// Forgets every session of one account.
    pub(crate) fn forget_user(&self, user_id: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.retain(|_, c| c.user.id != user_id);
    }

    /// Forgets everything.
    pub(crate) fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.clear();
    }
}

/// The account behind a session: what authorization needs, nothing more.
#[derive(Debug, Clone)]
pub struct SessionUser {
    /// The account's id.
    pub id: String,
    /// Its email.
    pub email: String,
    /// Its role.
    pub role: Role,
    /// Its agency, for agency members.
    pub agency_id: Option<String>,
    /// Its display name.
    pub display_name: Option<String>,
    /// A disabled account's sessions no longer work.
    pub disabled: bool,
    /// A resident's home (latitude, longitude): what decides which requests they see.
    pub home: Option<(f64, f64)>,
    /// A resident's Community Requests setting (off: an empty feed).
    pub community_requests: bool,
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Whose session it is.
    pub user_id: String,
    /// A session that may only enroll and confirm a second factor.
    pub mfa_pending: bool,
    /// Last request seen (coarse; see `domain::session::TOUCH_INTERVAL`).
    pub last_seen_at: DateTime<Utc>,
    /// Absolute end.
    pub expires_at: DateTime<Utc>,
    /// Set at logout.
    pub revoked: bool,
}

fn session_from_row(row: &AnyRow) -> Result<SessionRecord> {
    Ok(SessionRecord {
        token_hash: row.try_get("token_hash")?,
        user_id: row.try_get("user_id")?,
        mfa_pending: flag(row, "mfa_pending")?,
        last_seen_at: parse_ts(&row.try_get::<String, _>("last_seen_at")?)?,
        expires_at: parse_ts(&row.try_get::<String, _>("expires_at")?)?,
        revoked: row.try_get::<Option<String>, _>("revoked_at")?.is_some(),
    })
}

impl Db {
    /// Stores a new session.
    pub async fn insert_session(
        &self,
        token_hash: &str,
        user_id: &str,
        mfa_pending: bool,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let now = ts(now);
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, mfa_pending, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(mfa_pending)
        .bind(now)
        .bind(ts(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session for this token hash with the account fields a request needs, in one
    /// query: every authenticated request makes it, so it reads no more than it must.
    pub async fn session_with_user(
        &self,
        token_hash: &str,
    ) -> Result<Option<(SessionRecord, SessionUser)>> {
        if let Some(hit) = self.sessions.get(token_hash) {
            return Ok(Some(hit));
        }
        let (read_at, generation) = (
            Instant::now(),
            self.sessions.generation.load(Ordering::SeqCst),
        );
        let row = sqlx::query(
            "SELECT s.token_hash, s.user_id, s.mfa_pending, s.last_seen_at, s.expires_at, s.revoked_at, \
             u.email, u.role, u.agency_id, u.display_name, u.disabled, u.home_lat, u.home_lon, \
             u.community_requests \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        let user = SessionUser {
            id: row.try_get("user_id")?,
            email: row.try_get("email")?,
            role: Role::parse(&role)
                .ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
            agency_id: row.try_get("agency_id")?,
            display_name: row.try_get("display_name")?,
            disabled: flag(&row, "disabled")?,
            home: row
                .try_get::<Option<f64>, _>("home_lat")?
                .zip(row.try_get::<Option<f64>, _>("home_lon")?),
            community_requests: flag(&row, "community_requests")?,
        };
        let session = session_from_row(&row)?;
        self.sessions.keep(read_at, generation, &session, &user);
        Ok(Some((session, user)))
    }

    /// Moves `last_seen_at` forward (for the idle limit).
    pub async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(ts(now))
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        self.sessions.forget_session(token_hash);
        Ok(())
    }

    /// Ends a session.
    pub async fn revoke_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(ts(now))
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        self.sessions.forget_session(token_hash);
        Ok(())
    }

    /// Ends every session of an account (removal from an agency, disabling).
    pub async fn revoke_user_sessions(&self, user_id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(ts(now))
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        self.sessions.forget_user(user_id);
        Ok(())
    }

    /// Deletes sessions that ended before `cutoff`; they can never be used again.
    pub async fn delete_sessions_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        let cutoff = ts(cutoff);
        let done = sqlx::query(
            "DELETE FROM sessions WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)",
        )
        .bind(cutoff)
        .execute(&self.pool)
        .await?;
        self.sessions.forget_all();
        Ok(done.rows_affected())
    }
}
