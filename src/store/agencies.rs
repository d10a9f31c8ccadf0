//! Rows of `agencies`.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Result, StoreError, flag, parse_ts, ts};

/// An agency as stored.
#[derive(Debug, Clone)]
pub struct AgencyRecord {
    /// Its id.
    pub id: String,
    /// Its public name.
    pub name: String,
    /// `law_enforcement` or `fire`.
    pub kind: String,
    /// GeoJSON Polygon or MultiPolygon, as validated on the way in.
    pub jurisdiction: serde_json::Value,
    /// Verified by a platform admin.
    pub verified: bool,
    /// Its evidence account is enabled.
    pub evidence_enabled: bool,
    /// IANA time zone name: the investigator's pages show and take times in it.
    pub time_zone: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A new agency.
#[derive(Debug, Clone)]
pub struct NewAgency<'a> {
    /// Its public name.
    pub name: &'a str,
    /// `law_enforcement` or `fire`.
    pub kind: &'a str,
    /// Validated GeoJSON.
    pub jurisdiction: &'a serde_json::Value,
    /// Verified at creation.
    pub verified: bool,
    /// Evidence account enabled at creation.
    pub evidence_enabled: bool,
    /// Validated IANA time zone name.
    pub time_zone: &'a str,
}

/// Changes to an agency; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgencyChanges {
    /// New name.
    pub name: Option<String>,
    /// New validated jurisdiction.
    pub jurisdiction: Option<serde_json::Value>,
    /// New verification state.
    pub verified: Option<bool>,
    /// New evidence account state.
    pub evidence_enabled: Option<bool>,
    /// New validated time zone.
    pub time_zone: Option<String>,
}

macro_rules! agency_columns {
    () => {
        "id, name, kind, jurisdiction, verified, evidence_enabled, time_zone, created_at"
    };
}

fn from_row(row: &AnyRow) -> Result<AgencyRecord> {
    let jurisdiction: String = row.try_get("jurisdiction")?;
    Ok(AgencyRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        jurisdiction: serde_json::from_str(&jurisdiction)
            .map_err(|e| StoreError::Corrupt(format!("jurisdiction: {e}")))?,
        verified: flag(row, "verified")?,
        evidence_enabled: flag(row, "evidence_enabled")?,
        time_zone: row.try_get("time_zone")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
    })
}

impl Db {
    /// Inserts an agency and returns it.
    pub async fn insert_agency(
        &self,
        new: &NewAgency<'_>,
        now: DateTime<Utc>,
    ) -> Result<AgencyRecord> {
        let id = super::new_id();
        sqlx::query(
            "INSERT INTO agencies (id, name, kind, jurisdiction, verified, evidence_enabled, time_zone, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&id)
        .bind(new.name)
        .bind(new.kind)
        .bind(new.jurisdiction.to_string())
        .bind(new.verified)
        .bind(new.evidence_enabled)
        .bind(new.time_zone)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        self.agency(&id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("inserted agency vanished".into()))
    }

    /// The agency with this id.
    pub async fn agency(&self, id: &str) -> Result<Option<AgencyRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            agency_columns!(),
            " FROM agencies WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every agency, by name.
    pub async fn agencies(&self) -> Result<Vec<AgencyRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            agency_columns!(),
            " FROM agencies ORDER BY name, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Applies changes and returns the agency as it now is.
    pub async fn update_agency(
        &self,
        id: &str,
        changes: &AgencyChanges,
        now: DateTime<Utc>,
    ) -> Result<Option<AgencyRecord>> {
        sqlx::query(
            "UPDATE agencies SET name = COALESCE($1, name), jurisdiction = COALESCE($2, jurisdiction), \
             verified = COALESCE($3, verified), evidence_enabled = COALESCE($4, evidence_enabled), \
             time_zone = COALESCE($5, time_zone), updated_at = $6 WHERE id = $7",
        )
        .bind(changes.name.as_deref())
        .bind(changes.jurisdiction.as_ref().map(|j| j.to_string()))
        .bind(changes.verified)
        .bind(changes.evidence_enabled)
        .bind(changes.time_zone.as_deref())
        .bind(ts(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.agency(id).await
    }
}
