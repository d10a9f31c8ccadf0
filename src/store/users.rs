//! Rows of `users`: every account, staff or resident.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Result, StoreError, flag, opt_ts, parse_ts, ts};
use crate::domain::{Role, geo_index};

/// An account as stored.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Its id.
    pub id: String,
    /// Lowercased email, unique.
    pub email: String,
    /// The Argon2id PHC string.
    pub password_hash: String,
    /// Its role.
    pub role: Role,
    /// The agency, for agency members.
    pub agency_id: Option<String>,
    /// Name shown to others.
    pub display_name: Option<String>,
    /// A resident's home address.
    pub home_address: Option<String>,
    /// A resident's home latitude.
    pub home_lat: Option<f64>,
    /// A resident's home longitude.
    pub home_lon: Option<f64>,
    /// The TOTP secret (base32), once enrollment has started.
    pub totp_secret: Option<String>,
    /// Whether the second factor is confirmed and required.
    pub totp_enabled: bool,
    /// The last TOTP time step accepted, so no code is accepted twice.
    pub totp_last_step: Option<i64>,
    /// Failed logins in the current window.
    pub failed_logins: i64,
    /// When the current failure window began.
    pub first_failed_at: Option<DateTime<Utc>>,
    /// Locked until then, after too many failures.
    pub locked_until: Option<DateTime<Utc>>,
    /// A disabled account cannot sign in.
    pub disabled: bool,
    /// A resident's Community Requests setting (off: an empty feed, no notifications).
    pub community_requests: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Lowercased email.
    pub email: &'a str,
    /// Argon2id PHC string.
    pub password_hash: &'a str,
    /// Its role.
    pub role: Role,
    /// The agency, for agency members.
    pub agency_id: Option<&'a str>,
    /// Name shown to others.
    pub display_name: Option<&'a str>,
    /// A resident's home address.
    pub home_address: Option<&'a str>,
    /// A resident's home as (lat, lon).
    pub home: Option<(f64, f64)>,
}

macro_rules! user_columns {
    () => {
        "id, email, password_hash, role, agency_id, display_name, home_address, home_lat, \
         home_lon, totp_secret, totp_enabled, totp_last_step, failed_logins, first_failed_at, \
         locked_until, disabled, community_requests, created_at"
    };
}

fn from_row(row: &AnyRow) -> Result<UserRecord> {
    let role: String = row.try_get("role")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        agency_id: row.try_get("agency_id")?,
        display_name: row.try_get("display_name")?,
        home_address: row.try_get("home_address")?,
        home_lat: row.try_get("home_lat")?,
        home_lon: row.try_get("home_lon")?,
        totp_secret: row.try_get("totp_secret")?,
        totp_enabled: flag(row, "totp_enabled")?,
        totp_last_step: row.try_get("totp_last_step")?,
        failed_logins: row.try_get("failed_logins")?,
        first_failed_at: opt_ts(row.try_get("first_failed_at")?)?,
        locked_until: opt_ts(row.try_get("locked_until")?)?,
        disabled: flag(row, "disabled")?,
        community_requests: flag(row, "community_requests")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
    })
}

impl Db {
    /// Inserts an account and returns it. A taken email is a unique violation.
    pub async fn insert_user(&self, new: &NewUser<'_>, now: DateTime<Utc>) -> Result<UserRecord> {
        let id = super::new_id();
        let now_s = ts(now);
        // Every stored home is indexed, whoever inserts it, so targeting never misses one.
        let home_cell = match new.home {
            Some((lat, lon)) => Some(super::cell_i64(
                geo_index::home_cell(lat, lon)
                    .map_err(|e| StoreError::Corrupt(format!("home: {e}")))?,
            )?),
            None => None,
        };
        // Not a cached prepared statement: sqlx's `Any` driver (0.9.0) sends a NULL `f64` as
        // a `float4` NULL, so on PostgreSQL a statement first prepared for a staff account (no
        // home) would be reused with `float4` parameters, and a resident's home (`f64`) then
        // fails with "incorrect binary data format in bind parameter 8".
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, agency_id, display_name, \
             home_address, home_lat, home_lon, home_cell, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .persistent(false)
        .bind(&id)
        .bind(new.email)
        .bind(new.password_hash)
        .bind(new.role.as_str())
        .bind(new.agency_id)
        .bind(new.display_name)
        .bind(new.home_address)
        .bind(new.home.map(|h| h.0))
        .bind(new.home.map(|h| h.1))
        .bind(home_cell)
        .bind(&now_s)
        .execute(&self.pool)
        .await?;
        self.user_by_id(&id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("inserted user vanished".into()))
    }

    /// The account with this id.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The account with this (lowercased) email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The members of an agency, oldest first.
    pub async fn agency_members(&self, agency_id: &str) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE agency_id = $1 ORDER BY created_at, id"
        ))
        .bind(agency_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// How many accounts exist (the demo seeds only an empty database).
    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Records a failed login's new count and window, and a lock if one was set.
    pub async fn record_login_failure(
        &self,
        user_id: &str,
        failures: u32,
        window_start: DateTime<Utc>,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<()> {
        // A lock restarts the count, so the next window starts fresh after it.
        let (failures, window) = match locked_until {
            Some(_) => (0_i64, None),
            None => (i64::from(failures), Some(ts(window_start))),
        };
        sqlx::query(
            "UPDATE users SET failed_logins = $1, first_failed_at = $2, \
             locked_until = COALESCE($3, locked_until) WHERE id = $4",
        )
        .bind(failures)
        .bind(window)
        .bind(locked_until.map(ts))
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Clears failures after a successful login.
    pub async fn record_login_success(&self, user_id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE users SET failed_logins = 0, first_failed_at = NULL, locked_until = NULL \
             WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
        )
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores a new, unconfirmed TOTP secret (enrollment restarts replace it).
    pub async fn set_totp_secret(
        &self,
        user_id: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE users SET totp_secret = $1, updated_at = $2 WHERE id = $3 AND totp_enabled = $4",
        )
        .bind(secret)
        .bind(ts(now))
        .bind(user_id)
        .bind(false)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Turns the second factor on.
    pub async fn enable_totp(&self, user_id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE users SET totp_enabled = $1, updated_at = $2 WHERE id = $3")
            .bind(true)
            .bind(ts(now))
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a TOTP step used. Answers false when that step (or a later one) was already used,
    /// so two concurrent logins with one code cannot both pass.
    pub async fn consume_totp_step(&self, user_id: &str, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Db {
    /// Disables an account; it can no longer sign in.
    pub async fn disable_user(&self, user_id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
            .bind(true)
            .bind(ts(now))
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        self.sessions.forget_user(user_id);
        Ok(())
    }
}

impl Db {
    /// Every account with `role`, oldest first (the platform admin's list of moderators).
    pub async fn users_with_role(&self, role: Role) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE role = $1 ORDER BY created_at, id"
        ))
        .bind(role.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }
}
