//! A resident's recordings: listing, playing back and deleting them. Only their owner sees
//! them; what reaches an agency is a separate copy made when the resident shares a clip.

use std::ops::Range;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use super::{App, AppError, Principal, Result};
use crate::domain::Role;
use crate::store::RecordingRecord;
use crate::store::blobs::{BlobError, Blobs, Segment};

/// A recording's bytes, ready to stream whole or in part.
#[derive(Debug, Clone)]
pub struct RecordingBytes {
    /// The whole size.
    pub size: u64,
    /// Its pieces, in order.
    pub segments: Vec<Segment>,
    blobs: Blobs,
}

impl RecordingBytes {
    /// `range` of the bytes (clamped to the size), as a stream.
    pub fn stream(self, range: Range<u64>) -> BoxStream<'static, Result<Bytes, BlobError>> {
        let range = range.start.min(self.size)..range.end.min(self.size);
        self.blobs.read_segments(self.segments, range)
    }
}

impl App {
    /// The caller's recording `id`: residents only; another resident's answers 404.
    async fn owned_recording(&self, who: &Principal, id: &str) -> Result<RecordingRecord> {
        self.require_role(who, &[Role::Resident], "recordings")
            .await?;
        match self.db.recording(id).await? {
            Some(r) if r.owner_id == who.user_id => Ok(r),
            Some(_) => Err(self
                .not_found_for(who, &format!("recording:{id}"), "recording")
                .await),
            None => Err(AppError::NotFound("recording")),
        }
    }

    /// The caller's recordings, newest first.
    pub async fn recordings(&self, who: &Principal) -> Result<Vec<RecordingRecord>> {
        self.require_role(who, &[Role::Resident], "recordings")
            .await?;
        Ok(self.db.recordings_of(&who.user_id).await?)
    }

    /// One of the caller's recordings, with its camera's name and location.
    pub async fn recording(&self, who: &Principal, id: &str) -> Result<RecordingRecord> {
        self.owned_recording(who, id).await
    }

    /// One of the caller's recordings with its bytes' segments (for playback, and for sharing
    /// it, which copies them).
    pub async fn recording_with_segments(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<(RecordingRecord, Vec<Segment>)> {
        let r = self.owned_recording(who, id).await?;
        let segments = self.db.segments(&r.id).await?;
        Ok((r, segments))
    }

    /// One of the caller's recordings and its bytes, to play it back.
    pub async fn recording_content(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<(RecordingRecord, RecordingBytes)> {
        let (r, segments) = self.recording_with_segments(who, id).await?;
        let bytes = RecordingBytes {
            size: r.size,
            segments,
            blobs: self.blobs.clone(),
        };
        Ok((r, bytes))
    }

    /// Deletes one of the caller's recordings: its objects, then its rows. Evidence already
    /// shared from it stays (the agency's copy).
    pub async fn delete_recording(&self, who: &Principal, id: &str) -> Result<()> {
        let r = self.owned_recording(who, id).await?;
        let segments = self.db.segments(&r.id).await?;
        self.delete_objects(&segments).await?;
        self.db.delete_recording(&r.id).await?;
        Ok(())
    }
}
