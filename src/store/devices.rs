//! Rows of `devices`: residents' cameras and the hashes of their upload tokens.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::blobs::Segment;
use super::{Db, Result, time, ts};

/// A camera as stored. The upload token itself is never stored, only its hash.
#[derive(Debug, Clone)]
pub struct DeviceRecord {
    /// Its id.
    pub id: String,
    /// The resident who owns it.
    pub owner_id: String,
    /// Its name, as the owner calls it.
    pub name: String,
    /// Where it is: latitude.
    pub lat: f64,
    /// Where it is: longitude.
    pub lon: f64,
    /// Its H3 cell at the home resolution (see `domain::geo_index`).
    pub cell: i64,
    /// Whether it has a live upload token.
    pub has_token: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// A camera to register.
#[derive(Debug, Clone)]
pub struct NewDevice<'a> {
    /// Its owner.
    pub owner_id: &'a str,
    /// Its name, trimmed.
    pub name: &'a str,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// H3 cell of the location.
    pub cell: i64,
    /// SHA-256 hex of its first upload token.
    pub token_hash: &'a str,
}

const SELECT: &str =
    "SELECT id, owner_id, name, lat, lon, cell, token_hash, created_at FROM devices";

fn from_row(r: &AnyRow) -> Result<DeviceRecord> {
    Ok(DeviceRecord {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        name: r.try_get("name")?,
        lat: r.try_get("lat")?,
        lon: r.try_get("lon")?,
        cell: r.try_get("cell")?,
        has_token: r.try_get::<Option<String>, _>("token_hash")?.is_some(),
        created_at: time(r, "created_at")?,
    })
}

impl Db {
    /// Registers a camera and answers it.
    pub async fn insert_device(
        &self,
        d: &NewDevice<'_>,
        now: DateTime<Utc>,
    ) -> Result<DeviceRecord> {
        let id = super::new_id();
        sqlx::query(
            "INSERT INTO devices (id, owner_id, name, lat, lon, cell, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(d.owner_id)
        .bind(d.name)
        .bind(d.lat)
        .bind(d.lon)
        .bind(d.cell)
        .bind(d.token_hash)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        self.device(&id)
            .await?
            .ok_or_else(|| super::StoreError::Corrupt(format!("device {id} vanished")))
    }

    /// A camera by id, whoever owns it.
    pub async fn device(&self, id: &str) -> Result<Option<DeviceRecord>> {
        self.fetch_one_by(format!("{SELECT} WHERE id = $1"), id, from_row)
            .await
    }

    /// A resident's cameras, oldest first.
    pub async fn devices_of(&self, owner_id: &str) -> Result<Vec<DeviceRecord>> {
        self.fetch_all_by(
            format!("{SELECT} WHERE owner_id = $1 ORDER BY created_at, id"),
            owner_id,
            from_row,
        )
        .await
    }

    /// The camera whose live upload token has this hash.
    pub async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<DeviceRecord>> {
        self.fetch_one_by(
            format!("{SELECT} WHERE token_hash = $1"),
            token_hash,
            from_row,
        )
        .await
    }

    /// Renames a camera.
    pub async fn rename_device(&self, id: &str, name: &str) -> Result<()> {
        sqlx::query("UPDATE devices SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets (a new token's hash) or clears (`None`: revoked) a camera's upload token.
    pub async fn set_device_token(&self, id: &str, token_hash: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE devices SET token_hash = $1 WHERE id = $2")
            .bind(token_hash)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The blob segments of a camera's unfinished uploads and recordings: the objects to
    /// remove before its rows go.
    pub async fn device_segments(&self, id: &str) -> Result<Vec<Segment>> {
        let rows = sqlx::query(
            "SELECT blob_id, start_offset, length, object_key FROM blob_segments WHERE blob_id IN \
             (SELECT id FROM uploads WHERE device_id = $1 UNION SELECT id FROM recordings WHERE device_id = $2) \
             ORDER BY blob_id, start_offset",
        )
        .bind(id)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(super::uploads::segment_from_row).collect()
    }

    /// Removes a camera with its uploads, recordings and their segment rows, in one
    /// transaction. Answers the segments removed, so the caller can delete any object that
    /// appeared since it last looked (an upload finishing meanwhile).
    pub async fn delete_device(&self, id: &str) -> Result<Vec<Segment>> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT blob_id, start_offset, length, object_key FROM blob_segments WHERE blob_id IN \
             (SELECT id FROM uploads WHERE device_id = $1 UNION SELECT id FROM recordings WHERE device_id = $2)",
        )
        .bind(id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let segments = rows
            .iter()
            .map(super::uploads::segment_from_row)
            .collect::<Result<Vec<_>>>()?;
        sqlx::query(
            "DELETE FROM blob_segments WHERE blob_id IN \
             (SELECT id FROM uploads WHERE device_id = $1 UNION SELECT id FROM recordings WHERE device_id = $2)",
        )
        .bind(id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        // Explicit rather than left to ON DELETE CASCADE, which SQLite honours only with
        // `foreign_keys` on.
        for table in ["uploads", "recordings"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE device_id = $1"
            )))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM devices WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(segments)
    }
}
