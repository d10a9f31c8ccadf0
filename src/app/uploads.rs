//! tus uploads: a camera (by its token) or its owner sends a recording in pieces; when the last
//! byte arrives the file is checked to be a video and becomes a recording.
//!
//! Durability: each `PATCH` writes its bytes into a new object and then, in one transaction,
//! records the segment, the new offset and the SHA-256 state after it, on the condition that
//! the offset has not moved meanwhile. So a crash loses at most the unfinished `PATCH`, a
//! resumed upload is never read again to be hashed, and of two concurrent `PATCH`es exactly one
//! wins.

use std::fmt::Display;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::{Stream, StreamExt};
use sha1::Sha1;
use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest, Sha256};

use super::{App, AppError, Principal, Result};
use crate::domain::tus::{self, Checksum, ChecksumAlgorithm};
use crate::domain::video::{self, Container, VideoError};
use crate::domain::{Role, ValidationError};
use crate::store::blobs::{BlobWriter, Segment};
use crate::store::{FinishOutcome, NewRecording, NewUpload, SegmentCommit, UploadRecord};

/// Who is uploading: a resident, signed in or through one of their cameras' tokens.
#[derive(Debug, Clone)]
pub struct Uploader {
    /// The resident (for a camera token, its owner).
    pub principal: Principal,
    /// The camera whose token sent the request. Such a caller reaches only that camera's
    /// uploads.
    pub device_id: Option<String>,
}

/// Where an upload stands, as `HEAD` and every answer report it.
#[derive(Debug, Clone)]
pub struct UploadStatus {
    /// The upload's id (and the recording's, once finished).
    pub id: String,
    /// Bytes received and kept.
    pub offset: u64,
    /// The whole file's length.
    pub length: u64,
    /// `Upload-Metadata` as sent (rebuilt from the recording once finished).
    pub metadata: Option<String>,
    /// When the unfinished upload expires; `None` once it is a recording.
    pub expires_at: Option<DateTime<Utc>>,
    /// The recording, once the upload is finished.
    pub recording_id: Option<String>,
}

impl UploadStatus {
    fn of(u: &UploadRecord) -> Self {
        Self {
            id: u.id.clone(),
            offset: u.upload_offset,
            length: u.upload_length,
            metadata: (!u.metadata.is_empty()).then(|| u.metadata.clone()),
            expires_at: Some(u.expires_at),
            recording_id: None,
        }
    }
}

/// The SHA-256 state, serialized (sha2's `SerializableState`) as hex for `uploads.hash_state`.
fn save_hasher(h: &Sha256) -> String {
    hex::encode(h.serialize())
}

fn load_hasher(state: &str) -> Result<Sha256> {
    let bytes = hex::decode(state)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hash_state is not hex: {e}")))?;
    let array = bytes
        .as_slice()
        .try_into()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("hash_state has the wrong length")))?;
    Sha256::deserialize(array)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hash_state does not load: {e}")))
}

/// A blob store failure: ours to log, never the caller's to see.
pub(crate) fn blob_error(e: crate::store::blobs::BlobError) -> AppError {
    AppError::Internal(e.into())
}

/// The hashers for one request's `Upload-Checksum`.
enum ChunkHasher {
    Sha1(Sha1),
    Sha256(Sha256),
}

impl ChunkHasher {
    fn new(c: &Checksum) -> Self {
        match c.algorithm {
            ChecksumAlgorithm::Sha1 => Self::Sha1(Sha1::new()),
            ChecksumAlgorithm::Sha256 => Self::Sha256(Sha256::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(bytes),
            Self::Sha256(h) => h.update(bytes),
        }
    }

    fn finalize(self) -> Vec<u8> {
        match self {
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

fn offset_mismatch(at: u64) -> AppError {
    AppError::Conflict {
        code: "offset_mismatch",
        message: format!(
            "the upload is at byte {at}; send the bytes from there with Upload-Offset: {at} \
             (HEAD tells the current offset)"
        ),
    }
}

/// What a finished file turned out to be.
struct VideoFacts {
    container: Container,
    duration_ms: Option<u64>,
    created_at: Option<DateTime<Utc>>,
}

impl App {
    /// The uploader a signed-in principal acts as: residents only (others 403).
    pub async fn uploader(&self, who: Principal) -> Result<Uploader> {
        self.require_role(&who, &[Role::Resident], "uploads")
            .await?;
        Ok(Uploader {
            principal: who,
            device_id: None,
        })
    }

    fn may_reach(who: &Uploader, owner_id: &str, device_id: &str) -> bool {
        owner_id == who.principal.user_id && who.device_id.as_deref().is_none_or(|d| d == device_id)
    }

    /// Creates an upload of `length` bytes described by `metadata` (the `Upload-Metadata`
    /// header). The recording's camera is the token's, or `device_id` in the metadata.
    pub async fn create_upload(
        &self,
        who: &Uploader,
        length: u64,
        metadata: Option<&str>,
    ) -> Result<UploadStatus> {
        if length == 0 {
            return Err(AppError::UnsupportedMedia(
                "an empty file is not a video (Upload-Length is 0)".into(),
            ));
        }
        let max = self.settings.max_upload_bytes;
        if length > max {
            return Err(AppError::TooLarge {
                code: "upload_too_large",
                message: format!(
                    "the file is {length} bytes; the largest recording accepted is {max} bytes \
                     (max_upload_bytes)"
                ),
                limit: max,
                given: length,
            });
        }
        let now = self.now();
        let meta = tus::recording_meta(metadata, now)?;
        let device_id = match (&who.device_id, &meta.device_id) {
            (Some(own), Some(given)) if own != given => {
                return Err(ValidationError::field(
                    "invalid_input",
                    "device_id",
                    "must be the id of the camera whose token sends the upload, or left out",
                )
                .into());
            }
            (Some(own), _) => own.clone(),
            (None, Some(given)) => given.clone(),
            (None, None) => {
                return Err(ValidationError::field(
                    "invalid_input",
                    "device_id",
                    "is required in Upload-Metadata when uploading with a session",
                )
                .into());
            }
        };
        let device = match self.db.device(&device_id).await? {
            Some(d) if d.owner_id == who.principal.user_id => d,
            Some(_) => {
                return Err(self
                    .not_found_for(&who.principal, &format!("device:{device_id}"), "camera")
                    .await);
            }
            None => return Err(AppError::NotFound("camera")),
        };
        let id = crate::store::new_id();
        let upload = self
            .db
            .insert_upload(
                &NewUpload {
                    id: &id,
                    owner_id: &who.principal.user_id,
                    device_id: &device.id,
                    upload_length: length,
                    hash_state: &save_hasher(&Sha256::new()),
                    metadata: metadata.unwrap_or_default(),
                    filename: meta.filename.as_deref(),
                    started_at: meta.started_at,
                    ended_at: meta.ended_at,
                    expires_at: now + self.settings.upload_expiry,
                },
                now,
            )
            .await?;
        Ok(UploadStatus::of(&upload))
    }

    /// The caller's unfinished, unexpired upload `id`; 404 otherwise.
    async fn live_upload(&self, who: &Uploader, id: &str) -> Result<UploadRecord> {
        self.live(who, id, self.db.upload(id).await?).await
    }

    /// `found`, the row of upload `id`, if it is the caller's, unfinished and unexpired.
    async fn live(
        &self,
        who: &Uploader,
        id: &str,
        found: Option<UploadRecord>,
    ) -> Result<UploadRecord> {
        match found {
            Some(u) if u.expires_at < self.now() => Err(AppError::NotFound("upload")),
            Some(u) if Self::may_reach(who, &u.owner_id, &u.device_id) => Ok(u),
            Some(_) => Err(self
                .not_found_for(&who.principal, &format!("upload:{id}"), "upload")
                .await),
            None => Err(AppError::NotFound("upload")),
        }
    }

    /// Where upload `id` stands (tus `HEAD`). A finished upload is its recording: offset and
    /// length are the recording's size.
    pub async fn upload_status(&self, who: &Uploader, id: &str) -> Result<UploadStatus> {
        if let Some(found) = self.db.upload(id).await? {
            return Ok(UploadStatus::of(&self.live(who, id, Some(found)).await?));
        }
        match self.db.recording(id).await? {
            Some(r) if Self::may_reach(who, &r.owner_id, &r.device_id) => {
                let start = r.started_at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                let end = r.ended_at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                let mut pairs = vec![
                    ("device_id", r.device_id.as_str()),
                    ("started_at", start.as_str()),
                    ("ended_at", end.as_str()),
                ];
                if let Some(f) = &r.filename {
                    pairs.push(("filename", f.as_str()));
                }
                Ok(UploadStatus {
                    id: r.id.clone(),
                    offset: r.size,
                    length: r.size,
                    metadata: Some(tus::encode_metadata(&pairs)),
                    expires_at: None,
                    recording_id: Some(r.id),
                })
            }
            Some(_) => Err(self
                .not_found_for(&who.principal, &format!("upload:{id}"), "upload")
                .await),
            None => Err(AppError::NotFound("upload")),
        }
    }

    /// Appends `body` to upload `id` at `offset` (tus `PATCH`, and the body of a
    /// creation-with-upload `POST`). The bytes stream into a new object as they arrive, hashed
    /// on the way; memory stays flat whatever the size.
    ///
    /// With `checksum`, the request's bytes must match it or nothing is kept (460). Without one,
    /// a body cut short (a dropped connection) keeps what arrived, so the client resumes from
    /// there. Bytes past the upload's length refuse the whole request (413). The request that
    /// brings the last byte also checks the file is a video and turns it into a recording; a
    /// file that is not one is removed entirely (415).
    pub async fn append_upload<S, E>(
        &self,
        who: &Uploader,
        id: &str,
        offset: u64,
        checksum: Option<Checksum>,
        mut body: S,
    ) -> Result<UploadStatus>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        let Some(found) = self.db.upload(id).await? else {
            // Finished already: only a repeat of the final (empty) request is acknowledged.
            let status = self.upload_status(who, id).await?;
            return if offset == status.length {
                Ok(status)
            } else {
                Err(offset_mismatch(status.offset))
            };
        };
        // One look-up serves both questions: finished, and the caller's.
        let upload = self.live(who, id, Some(found)).await?;
        if offset != upload.upload_offset {
            return Err(offset_mismatch(upload.upload_offset));
        }
        let room = upload.upload_length - offset;
        let hashing = BackgroundHash::start(
            load_hasher(&upload.hash_state)?,
            checksum.as_ref().map(ChunkHasher::new),
        );
        // A key no other request can choose: two PATCHes racing at one offset must not write
        // the same object, since only one of them will be recorded.
        let mut nonce = [0_u8; 6];
        rand::fill(&mut nonce);
        let key = format!("uploads/{id}/{offset:020}-{}", hex::encode(nonce));
        let mut writer: Option<BlobWriter> = None;
        let mut received: u64 = 0;
        let mut cut_short = false;
        while let Some(frame) = body.next().await {
            let bytes = match frame {
                Ok(b) => b,
                Err(e) => {
                    tracing::info!(upload = id, received, error = %e, "upload body ended early");
                    cut_short = true;
                    break;
                }
            };
            if bytes.is_empty() {
                continue;
            }
            let n = bytes.len() as u64;
            if received + n > room {
                discard(writer).await;
                return Err(AppError::TooLarge {
                    code: "upload_exceeds_length",
                    message: format!(
                        "the upload is {} bytes long and is at byte {offset}: this request brings \
                         more than the {room} bytes left; nothing of it was kept",
                        upload.upload_length
                    ),
                    limit: room,
                    given: received + n,
                });
            }
            // The same bytes (reference-counted, not copied) go to the hashing thread and to
            // the blob.
            if let Err(e) = hashing.feed(bytes.clone()).await {
                discard(writer).await;
                return Err(e);
            }
            let w = match writer.as_mut() {
                Some(w) => w,
                None => writer.insert(self.blobs.writer(&key).await.map_err(blob_error)?),
            };
            if let Err(e) = w.write(bytes).await {
                discard(writer).await;
                return Err(blob_error(e));
            }
            received += n;
        }
        // Without a checksum to check first, the segment is made durable while the hash of
        // its last bytes is still being computed.
        let mut finished = None;
        let hashed = match writer.take() {
            Some(w) if checksum.is_none() => {
                let (hashed, done) = tokio::join!(hashing.finish(), w.finish());
                finished = Some(done);
                hashed
            }
            w => {
                writer = w;
                hashing.finish().await
            }
        };
        let (hasher, chunk_hasher) = match hashed {
            Ok(h) => h,
            Err(e) => {
                discard(writer).await;
                if finished.is_some() {
                    self.blobs.delete(&key).await.map_err(blob_error)?;
                }
                return Err(e);
            }
        };
        if let (Some(expected), Some(c)) = (&checksum, chunk_hasher) {
            if cut_short {
                discard(writer).await;
                return Err(AppError::ChecksumMismatch(
                    "the body ended before all of it arrived, so it cannot match Upload-Checksum; \
                     nothing of it was kept"
                        .into(),
                ));
            }
            if c.finalize() != expected.digest {
                discard(writer).await;
                return Err(AppError::ChecksumMismatch(format!(
                    "the {} checksum of the {received} bytes received does not match \
                     Upload-Checksum; nothing of them was kept: send them again from offset {offset}",
                    expected.algorithm.as_str()
                )));
            }
        }
        if let Some(w) = writer {
            finished = Some(w.finish().await);
        }
        let mut upload = upload;
        if let Some(done) = finished {
            done.map_err(blob_error)?;
            let segment = Segment {
                start: offset,
                length: received,
                key: key.clone(),
            };
            let committed = self
                .db
                .commit_segment(id, offset, &segment, &save_hasher(&hasher), self.now())
                .await;
            match committed {
                Ok(SegmentCommit::Committed) => {}
                Ok(SegmentCommit::Lost) => {
                    self.blobs.delete(&key).await.map_err(blob_error)?;
                    // Expired or removed meanwhile: 404; otherwise another request moved it.
                    let now = self.live_upload(who, id).await?;
                    return Err(offset_mismatch(now.upload_offset));
                }
                Err(e) => {
                    if let Err(d) = self.blobs.delete(&key).await {
                        tracing::warn!(key, error = %d, "could not remove an unrecorded segment");
                    }
                    return Err(e.into());
                }
            }
            upload.upload_offset = offset + received;
        }
        if upload.upload_offset == upload.upload_length {
            return self.finish_upload(who, &upload, hasher).await;
        }
        Ok(UploadStatus::of(&upload))
    }

    /// Checks a complete upload is a video and turns it into a recording, or removes it all.
    async fn finish_upload(
        &self,
        who: &Uploader,
        upload: &UploadRecord,
        hasher: Sha256,
    ) -> Result<UploadStatus> {
        let segments = self.db.segments(&upload.id).await?;
        let mut expected = 0;
        for s in &segments {
            if s.start != expected {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "upload {} has a gap at byte {expected}",
                    upload.id
                )));
            }
            expected += s.length;
        }
        if expected != upload.upload_length {
            return Err(AppError::Internal(anyhow::anyhow!(
                "upload {} holds {expected} of {} bytes",
                upload.id,
                upload.upload_length
            )));
        }
        let facts = match self.inspect_video(&segments, upload.upload_length).await? {
            Ok(facts) => facts,
            Err(refusal) => {
                tracing::info!(upload = upload.id, reason = %refusal, "upload refused: not a video");
                self.remove_upload(&upload.id).await?;
                return Err(AppError::UnsupportedMedia(refusal.message()));
            }
        };
        let sha256 = hex::encode(hasher.finalize());
        let outcome = self
            .db
            .finish_upload(
                &upload.id,
                &NewRecording {
                    owner_id: &upload.owner_id,
                    device_id: &upload.device_id,
                    sha256: &sha256,
                    size: upload.upload_length,
                    content_type: facts.container.content_type(),
                    filename: upload.filename.as_deref(),
                    started_at: upload.started_at,
                    ended_at: upload.ended_at,
                    duration_ms: facts.duration_ms,
                    media_created_at: facts.created_at,
                },
                self.now(),
            )
            .await?;
        if outcome == FinishOutcome::AlreadyGone {
            tracing::info!(upload = upload.id, "upload finished by another request");
        }
        self.upload_status(who, &upload.id).await
    }

    /// What the stored bytes are: `Ok(Err(refusal))` when they are not an accepted video.
    async fn inspect_video(
        &self,
        segments: &[Segment],
        len: u64,
    ) -> Result<std::result::Result<VideoFacts, VideoError>> {
        let head_len = len.min(video::SNIFF_BYTES as u64);
        let head = self
            .blobs
            .read_small(segments, 0..head_len)
            .await
            .map_err(blob_error)?;
        let container = match video::sniff(&head, len) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let mut facts = VideoFacts {
            container,
            duration_ms: None,
            created_at: None,
        };
        if !container.is_iso_bmff() {
            return Ok(Ok(facts));
        }
        let mut walker = video::Mp4Walker::new(len);
        while let Some(range) = walker.next_read() {
            let bytes = self
                .blobs
                .read_small(segments, range)
                .await
                .map_err(blob_error)?;
            if walker.feed(&bytes).is_err() {
                break;
            }
        }
        let layout = match walker.finish() {
            Ok(l) => l,
            Err(e) if e.is_caller_bug() => return Err(AppError::Internal(e.into())),
            Err(e) => return Ok(Err(e)),
        };
        let moov = self
            .blobs
            .read_small(segments, layout.moov)
            .await
            .map_err(blob_error)?;
        match video::parse_moov(&moov) {
            Ok(info) => {
                facts.duration_ms = info.duration_ms;
                facts.created_at = info.created_at;
                Ok(Ok(facts))
            }
            Err(e) if e.is_caller_bug() => Err(AppError::Internal(e.into())),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Deletes objects, stopping at the first failure (a retry deletes the rest: a missing
    /// object is not an error).
    pub(crate) async fn delete_objects(&self, segments: &[Segment]) -> Result<()> {
        for s in segments {
            self.blobs.delete(&s.key).await.map_err(blob_error)?;
        }
        Ok(())
    }

    /// Deletes the objects of `before` (the segments as first looked up), then the rows, with
    /// `remove_rows`, which answers the segments it removed; then any object among those that
    /// was not in `before`, since an upload's `PATCH` may have committed a segment between the
    /// two looks. Objects go first, so a failure between leaves rows that a retry cleans up,
    /// never objects that nothing points to.
    pub(crate) async fn delete_objects_then_rows(
        &self,
        before: &[Segment],
        remove_rows: impl Future<Output = crate::store::Result<Vec<Segment>>>,
    ) -> Result<()> {
        self.delete_objects(before).await?;
        let removed = remove_rows.await?;
        let late: Vec<_> = removed
            .into_iter()
            .filter(|s| !before.iter().any(|b| b.key == s.key))
            .collect();
        self.delete_objects(&late).await
    }

    /// Removes an unfinished upload: its objects, then its rows. Idempotent.
    async fn remove_upload(&self, id: &str) -> Result<()> {
        let before = self.db.segments(id).await?;
        self.delete_objects_then_rows(&before, self.db.delete_upload(id))
            .await
    }

    /// Ends an unfinished upload and removes what it received (tus termination). A finished
    /// upload is a recording, removed through the recordings instead: here it answers 404.
    pub async fn terminate_upload(&self, who: &Uploader, id: &str) -> Result<()> {
        let upload = self.live_upload(who, id).await?;
        self.remove_upload(&upload.id).await
    }

    /// Removes every upload that expired before `now`, objects first, then rows. Idempotent,
    /// and safe with several instances running it at once. Answers how many were removed.
    pub async fn expire_uploads(&self, now: DateTime<Utc>) -> Result<usize> {
        const BATCH: i64 = 100;
        let mut removed = 0;
        loop {
            let ids = self.db.expired_uploads(now, BATCH).await?;
            for id in &ids {
                self.remove_upload(id).await?;
                removed += 1;
            }
            if (ids.len() as i64) < BATCH {
                return Ok(removed);
            }
        }
    }

    /// Removes the blob store's staging files left by a process that stopped mid-write (a
    /// crash or a kill during an upload, a share or a copy). Only files untouched for
    /// [`STAGING_AGE`] go, so writes in progress, here or in another instance, are safe.
    pub async fn remove_blob_leftovers(&self) -> Result<usize> {
        self.blobs
            .remove_stale_staging(STAGING_AGE)
            .await
            .map_err(blob_error)
    }
}

/// How long a staging file must have been untouched before it counts as left behind: far
/// longer than any write pauses between two frames of a request.
pub const STAGING_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Frames waiting for the hashing thread: enough to keep it busy, few enough that memory
/// stays flat when it falls behind (the receiving side then waits).
const HASH_QUEUE_FRAMES: usize = 8;

/// The hashes of one request's bytes, computed on a blocking thread while the bytes are
/// received and written, so that hashing overlaps the network and the disk instead of
/// following them.
struct BackgroundHash {
    queue: tokio::sync::mpsc::Sender<Bytes>,
    done: tokio::task::JoinHandle<(Sha256, Option<ChunkHasher>)>,
}

impl BackgroundHash {
    /// Starts hashing onto the upload's running SHA-256 and, when the request carries
    /// `Upload-Checksum`, the request's own hash.
    fn start(mut upload: Sha256, mut request: Option<ChunkHasher>) -> Self {
        let (queue, mut frames) = tokio::sync::mpsc::channel::<Bytes>(HASH_QUEUE_FRAMES);
        let done = tokio::task::spawn_blocking(move || {
            while let Some(bytes) = frames.blocking_recv() {
                upload.update(&bytes);
                if let Some(c) = request.as_mut() {
                    c.update(&bytes);
                }
            }
            (upload, request)
        });
        Self { queue, done }
    }

    /// Hands the next bytes over, waiting while the queue is full.
    async fn feed(&self, bytes: Bytes) -> Result<()> {
        self.queue
            .send(bytes)
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the hashing thread stopped")))
    }

    /// The hashes of everything fed.
    async fn finish(self) -> Result<(Sha256, Option<ChunkHasher>)> {
        drop(self.queue);
        self.done
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("the hashing thread failed: {e}")))
    }
}

/// Drops a partly written object.
async fn discard(writer: Option<BlobWriter>) {
    if let Some(w) = writer
        && let Err(e) = w.abort().await
    {
        tracing::warn!(error = %e, "could not abort a discarded segment");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hasher_state_round_trips() {
        let mut a = Sha256::new();
        a.update(b"hello, ");
        let saved = save_hasher(&a);
        let mut b = load_hasher(&saved).unwrap();
        a.update(b"world");
        b.update(b"world");
        assert_eq!(a.finalize(), b.finalize());
        assert!(load_hasher("zz").is_err());
        assert!(load_hasher("00").is_err());
    }
}
