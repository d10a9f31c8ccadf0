//! Rows of `recordings`: finished uploads, whose bytes are the `blob_segments` rows with the
//! recording's id.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use super::blobs::Segment;
use super::uploads::take_segments;
use super::{Db, Result, i64_of, opt_ts, time, ts, u64_col};

/// A recording as stored, with its camera's name and location: what a resident plays back and
/// what sharing copies.
#[derive(Debug, Clone)]
pub struct RecordingRecord {
    /// Its id (the upload's id).
    pub id: String,
    /// The resident it belongs to.
    pub owner_id: String,
    /// The camera it is from.
    pub device_id: String,
    /// The camera's name.
    pub device_name: String,
    /// The camera's latitude.
    pub device_lat: f64,
    /// The camera's longitude.
    pub device_lon: f64,
    /// SHA-256 of the bytes, lowercase hex, computed as they arrived.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its MIME type, from the container.
    pub content_type: String,
    /// The file name the camera gave, for display only.
    pub filename: Option<String>,
    /// When the recording starts (as the uploader said).
    pub started_at: DateTime<Utc>,
    /// When it ends (as the uploader said).
    pub ended_at: DateTime<Utc>,
    /// The duration the MP4 header gives, when it does.
    pub duration_ms: Option<u64>,
    /// The creation time the MP4 header gives, when it does.
    pub media_created_at: Option<DateTime<Utc>>,
    /// When the upload finished.
    pub created_at: DateTime<Utc>,
}

/// A recording to store, as an upload finishes.
#[derive(Debug, Clone)]
pub struct NewRecording<'a> {
    /// Its owner.
    pub owner_id: &'a str,
    /// Its camera.
    pub device_id: &'a str,
    /// SHA-256, lowercase hex.
    pub sha256: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// MIME type.
    pub content_type: &'a str,
    /// File name, if given.
    pub filename: Option<&'a str>,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub ended_at: DateTime<Utc>,
    /// Duration from the media, if known.
    pub duration_ms: Option<u64>,
    /// Creation time from the media, if known.
    pub media_created_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT r.id, r.owner_id, r.device_id, d.name AS device_name, d.lat AS device_lat, \
     d.lon AS device_lon, r.sha256, r.size, r.content_type, r.filename, r.started_at, r.ended_at, \
     r.duration_ms, r.media_created_at, r.created_at \
     FROM recordings r JOIN devices d ON d.id = r.device_id";

fn from_row(r: &AnyRow) -> Result<RecordingRecord> {
    let duration: Option<i64> = r.try_get("duration_ms")?;
    Ok(RecordingRecord {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        device_id: r.try_get("device_id")?,
        device_name: r.try_get("device_name")?,
        device_lat: r.try_get("device_lat")?,
        device_lon: r.try_get("device_lon")?,
        sha256: r.try_get("sha256")?,
        size: u64_col(r, "size")?,
        content_type: r.try_get("content_type")?,
        filename: r.try_get("filename")?,
        started_at: time(r, "started_at")?,
        ended_at: time(r, "ended_at")?,
        duration_ms: duration.and_then(|d| u64::try_from(d).ok()),
        media_created_at: opt_ts(r.try_get("media_created_at")?)?,
        created_at: time(r, "created_at")?,
    })
}

/// Inserts a recording with the id `id` inside the caller's transaction.
pub(crate) async fn insert_recording(
    tx: &mut sqlx::Transaction<'static, Any>,
    id: &str,
    r: &NewRecording<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    let duration = r
        .duration_ms
        .map(|d| i64_of(d, "duration_ms"))
        .transpose()?;
    sqlx::query(
        "INSERT INTO recordings (id, owner_id, device_id, sha256, size, content_type, filename, \
         started_at, ended_at, duration_ms, media_created_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id)
    .bind(r.owner_id)
    .bind(r.device_id)
    .bind(r.sha256)
    .bind(i64_of(r.size, "size")?)
    .bind(r.content_type)
    .bind(r.filename)
    .bind(ts(r.started_at))
    .bind(ts(r.ended_at))
    .bind(duration)
    .bind(r.media_created_at.map(ts))
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Db {
    /// A recording by id, whoever owns it.
    pub async fn recording(&self, id: &str) -> Result<Option<RecordingRecord>> {
        self.fetch_one_by(format!("{SELECT} WHERE r.id = $1"), id, from_row)
            .await
    }

    /// A resident's recordings, newest first (by when they start).
    pub async fn recordings_of(&self, owner_id: &str) -> Result<Vec<RecordingRecord>> {
        self.fetch_all_by(
            format!("{SELECT} WHERE r.owner_id = $1 ORDER BY r.started_at DESC, r.id DESC"),
            owner_id,
            from_row,
        )
        .await
    }

    /// A resident's recordings whose time overlaps `[start, end]` (both ends included: they
    /// start before it ends and end after it starts), oldest first. Which cameras are inside
    /// an area is the caller's test.
    pub async fn recordings_overlapping(
        &self,
        owner_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<RecordingRecord>> {
        // Times are fixed-width RFC 3339 text, so text order is time order on both databases.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE r.owner_id = $1 AND r.started_at <= $2 AND r.ended_at >= $3 \
             ORDER BY r.started_at, r.id"
        )))
        .bind(owner_id)
        .bind(ts(end))
        .bind(ts(start))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Removes a recording's row and its segment rows, in one transaction; answers the
    /// segments removed (delete their objects first; see [`Db::delete_upload`]).
    pub async fn delete_recording(&self, id: &str) -> Result<Vec<Segment>> {
        let mut tx = self.pool.begin().await?;
        let segments = take_segments(&mut tx, id).await?;
        sqlx::query("DELETE FROM recordings WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(segments)
    }
}
