//! A resident's recordings: listing, playing back and deleting them. Only their owner sees
//! them; what reaches an agency is a separate copy made when the resident shares a clip.

use std::ops::Range;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use super::{App, AppError, Principal, Result};
use crate::domain::Role;
use crate::domain::evidence::{ByteRange, parse_range};
use crate::store::RecordingRecord;
use crate::store::blobs::{BlobError, Segment};

/// A recording's bytes, whole or one range, ready to stream.
pub struct RecordingContent {
    /// The recording.
    pub record: RecordingRecord,
    /// The bytes sent: `Some` for a partial answer (206), `None` for the whole recording.
    pub range: Option<Range<u64>>,
    /// The bytes.
    pub body: BoxStream<'static, std::result::Result<Bytes, BlobError>>,
}

impl std::fmt::Debug for RecordingContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingContent")
            .field("record", &self.record.id)
            .field("range", &self.range)
            .finish()
    }
}

/// The part of `size` bytes that a `Range` header asks for: `None` for all of them, and 416
/// ([`AppError::RangeNotSatisfiable`]) for a range that lies past the end. Serves recordings
/// and evidence alike.
pub(crate) fn requested_range(header: Option<&str>, size: u64) -> Result<Option<Range<u64>>> {
    match parse_range(header, size) {
        ByteRange::Full => Ok(None),
        ByteRange::Partial(r) => Ok(Some(r)),
        ByteRange::Unsatisfiable => Err(AppError::RangeNotSatisfiable { size }),
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

    /// One of the caller's recordings with its bytes' segments, in order.
    pub async fn recording_with_segments(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<(RecordingRecord, Vec<Segment>)> {
        let r = self.owned_recording(who, id).await?;
        let segments = self.db.segments(&r.id).await?;
        Ok((r, segments))
    }

    /// One of the caller's recordings and its bytes, whole or the one `range` (the `Range`
    /// header) asks for, to play it back.
    pub async fn recording_content(
        &self,
        who: &Principal,
        id: &str,
        range: Option<&str>,
    ) -> Result<RecordingContent> {
        let (record, segments) = self.recording_with_segments(who, id).await?;
        let range = requested_range(range, record.size)?;
        let body = self
            .blobs
            .read_segments(segments, range.clone().unwrap_or(0..record.size));
        Ok(RecordingContent {
            record,
            range,
            body,
        })
    }

    /// Deletes one of the caller's recordings: its objects, then its rows. Evidence already
    /// shared from it stays (the agency's copy). Answers the recording as it was.
    pub async fn delete_recording(&self, who: &Principal, id: &str) -> Result<RecordingRecord> {
        let r = self.owned_recording(who, id).await?;
        let segments = self.db.segments(&r.id).await?;
        self.delete_objects_then_rows(&segments, self.db.delete_recording(&r.id))
            .await?;
        Ok(r)
    }
}
