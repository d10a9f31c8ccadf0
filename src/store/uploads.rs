//! Rows of `uploads` (tus uploads in progress) and `blob_segments` (the objects holding an
//! upload's bytes, one per `PATCH`, which the finished recording keeps).
//!
//! Every change of an upload's offset is one transaction with its new segment row and hasher
//! state, and is conditional on the offset it started from, so of two concurrent `PATCH`es
//! at the same offset exactly one wins.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use super::blobs::Segment;
use super::recordings::NewRecording;
use super::{Db, Result, StoreError, i64_of, time, ts, u64_col};

/// An unfinished upload as stored.
#[derive(Debug, Clone)]
pub struct UploadRecord {
    /// Its id (the recording's id once finished).
    pub id: String,
    /// The resident it belongs to.
    pub owner_id: String,
    /// The camera the recording is from.
    pub device_id: String,
    /// The whole file's length in bytes.
    pub upload_length: u64,
    /// Bytes received and committed so far.
    pub upload_offset: u64,
    /// Hex of the serialized SHA-256 state after `upload_offset` bytes.
    pub hash_state: String,
    /// `Upload-Metadata` as the client sent it.
    pub metadata: String,
    /// The file name from the metadata.
    pub filename: Option<String>,
    /// When the recording starts.
    pub started_at: DateTime<Utc>,
    /// When it ends.
    pub ended_at: DateTime<Utc>,
    /// When the upload was created.
    pub created_at: DateTime<Utc>,
    /// When it expires unless finished.
    pub expires_at: DateTime<Utc>,
}

/// An upload to create.
#[derive(Debug, Clone)]
pub struct NewUpload<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its owner.
    pub owner_id: &'a str,
    /// Its camera.
    pub device_id: &'a str,
    /// The whole file's length.
    pub upload_length: u64,
    /// Hex of the initial SHA-256 state.
    pub hash_state: &'a str,
    /// `Upload-Metadata` as sent.
    pub metadata: &'a str,
    /// The file name from the metadata.
    pub filename: Option<&'a str>,
    /// When the recording starts.
    pub started_at: DateTime<Utc>,
    /// When it ends.
    pub ended_at: DateTime<Utc>,
    /// When the upload expires.
    pub expires_at: DateTime<Utc>,
}

/// How committing a `PATCH`'s segment went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentCommit {
    /// The offset moved and the segment is recorded.
    Committed,
    /// The upload is no longer at the offset this `PATCH` started from (another won), or is
    /// gone: nothing was written.
    Lost,
}

/// How finishing an upload went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishOutcome {
    /// The upload row is gone and the recording is in its place.
    Finished,
    /// Another request finished (or removed) it first; nothing was written.
    AlreadyGone,
}

const SELECT: &str = "SELECT id, owner_id, device_id, upload_length, upload_offset, hash_state, metadata, \
     filename, started_at, ended_at, created_at, expires_at FROM uploads";

const SEGMENTS_OF_BLOB: &str = "SELECT blob_id, start_offset, length, object_key FROM blob_segments \
     WHERE blob_id = $1 ORDER BY start_offset";

fn from_row(r: &AnyRow) -> Result<UploadRecord> {
    Ok(UploadRecord {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        device_id: r.try_get("device_id")?,
        upload_length: u64_col(r, "upload_length")?,
        upload_offset: u64_col(r, "upload_offset")?,
        hash_state: r.try_get("hash_state")?,
        metadata: r.try_get("metadata")?,
        filename: r.try_get("filename")?,
        started_at: time(r, "started_at")?,
        ended_at: time(r, "ended_at")?,
        created_at: time(r, "created_at")?,
        expires_at: time(r, "expires_at")?,
    })
}

/// A `blob_segments` row (`blob_id, start_offset, length, object_key`).
pub(crate) fn segment_from_row(r: &AnyRow) -> Result<Segment> {
    Ok(Segment {
        start: u64_col(r, "start_offset")?,
        length: u64_col(r, "length")?,
        key: r.try_get("object_key")?,
    })
}

/// Reads and then removes one blob's segment rows inside `tx`, answering them in order: the
/// first half of removing an upload or a recording, whose own row goes next in the same
/// transaction.
pub(crate) async fn take_segments(
    tx: &mut sqlx::Transaction<'static, Any>,
    blob_id: &str,
) -> Result<Vec<Segment>> {
    let rows = sqlx::query(SEGMENTS_OF_BLOB)
        .bind(blob_id)
        .fetch_all(&mut **tx)
        .await?;
    let segments = rows
        .iter()
        .map(segment_from_row)
        .collect::<Result<Vec<_>>>()?;
    sqlx::query("DELETE FROM blob_segments WHERE blob_id = $1")
        .bind(blob_id)
        .execute(&mut **tx)
        .await?;
    Ok(segments)
}

impl Db {
    /// Creates an upload.
    pub async fn insert_upload(
        &self,
        u: &NewUpload<'_>,
        now: DateTime<Utc>,
    ) -> Result<UploadRecord> {
        sqlx::query(
            "INSERT INTO uploads (id, owner_id, device_id, upload_length, upload_offset, hash_state, \
             metadata, filename, started_at, ended_at, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(u.id)
        .bind(u.owner_id)
        .bind(u.device_id)
        .bind(i64_of(u.upload_length, "upload_length")?)
        .bind(u.hash_state)
        .bind(u.metadata)
        .bind(u.filename)
        .bind(ts(u.started_at))
        .bind(ts(u.ended_at))
        .bind(ts(now))
        .bind(ts(u.expires_at))
        .execute(&self.pool)
        .await?;
        self.upload(u.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("upload {} vanished", u.id)))
    }

    /// An upload by id, whoever owns it, expired or not.
    pub async fn upload(&self, id: &str) -> Result<Option<UploadRecord>> {
        self.fetch_one_by(format!("{SELECT} WHERE id = $1"), id, from_row)
            .await
    }

    /// The segments of a blob (an upload's or a recording's bytes), in order.
    pub async fn segments(&self, blob_id: &str) -> Result<Vec<Segment>> {
        self.fetch_all_by(SEGMENTS_OF_BLOB.to_owned(), blob_id, segment_from_row)
            .await
    }

    /// Records a `PATCH`'s segment, the new offset and the hasher state after it, in one
    /// transaction, but only if the upload is still at `from` (and not expired at `now`).
    pub async fn commit_segment(
        &self,
        id: &str,
        from: u64,
        segment: &Segment,
        hash_state: &str,
        now: DateTime<Utc>,
    ) -> Result<SegmentCommit> {
        let to = segment.start + segment.length;
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE uploads SET upload_offset = $1, hash_state = $2 \
             WHERE id = $3 AND upload_offset = $4 AND expires_at >= $5",
        )
        .bind(i64_of(to, "upload_offset")?)
        .bind(hash_state)
        .bind(id)
        .bind(i64_of(from, "upload_offset")?)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Ok(SegmentCommit::Lost);
        }
        sqlx::query(
            "INSERT INTO blob_segments (blob_id, start_offset, length, object_key) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(i64_of(segment.start, "start_offset")?)
        .bind(i64_of(segment.length, "length")?)
        .bind(&segment.key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(SegmentCommit::Committed)
    }

    /// Turns a complete upload into its recording, in one transaction: the upload row goes,
    /// the recording (same id, so the same segments) comes.
    pub async fn finish_upload(
        &self,
        id: &str,
        recording: &NewRecording<'_>,
        now: DateTime<Utc>,
    ) -> Result<FinishOutcome> {
        let mut tx = self.pool.begin().await?;
        let gone =
            sqlx::query("DELETE FROM uploads WHERE id = $1 AND upload_offset = upload_length")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if gone != 1 {
            return Ok(FinishOutcome::AlreadyGone);
        }
        super::recordings::insert_recording(&mut tx, id, recording, now).await?;
        tx.commit().await?;
        Ok(FinishOutcome::Finished)
    }

    /// Removes an upload's row and its segment rows, in one transaction; answers the segments
    /// that were removed (their objects are the caller's to delete, and should be deleted
    /// before this, so a failure leaves rows pointing at nothing rather than objects nobody
    /// can find).
    pub async fn delete_upload(&self, id: &str) -> Result<Vec<Segment>> {
        let mut tx = self.pool.begin().await?;
        let segments = take_segments(&mut tx, id).await?;
        sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(segments)
    }

    /// Ids of uploads that expired before `now`, oldest first, at most `limit`.
    pub async fn expired_uploads(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT id FROM uploads WHERE expires_at < $1 ORDER BY expires_at, id LIMIT $2",
        )
        .bind(ts(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("id")?))
            .collect()
    }
}
