//! The evidence export (`GET /api/v1/requests/{id}/export`) and the integrity sweep: the two
//! places where stored evidence bytes are hashed again and compared with the hash taken when
//! they were received.
//!
//! An export is a ZIP streamed as it is written: each clip at `clips/<evidence_id>.<ext>`,
//! then `manifest.json` ([`Manifest`]) last, so its custody logs can include the `exported`
//! events of this very export. Memory stays flat whatever the size: the ZIP is written on a
//! blocking thread into a writer that forwards bounded chunks through a bounded channel to the
//! HTTP body, and each clip is read from the blob store a chunk at a time. A clip whose bytes
//! no longer match its hash stops the export: the client gets a broken download, never a
//! wrong one, and the clip's chain of custody records the failed check.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Datelike, Timelike, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, StreamWriter, ZipWriter};

use super::{App, AppError, Principal, Result};
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::checkpoint::Checkpoint;
use crate::domain::custody::{CustodyKind, NewCustodyEvent};
use crate::domain::evidence::{access_reason, content_type_extension};
use crate::domain::export::{
    InclusionProof, MANIFEST_FORMAT, MANIFEST_PATH, Manifest, ManifestAgency, ManifestDevice,
    ManifestItem, ManifestRequest, Submitter,
};
use crate::domain::merkle;
use crate::store::blobs::BlobError;
use crate::store::{EvidenceRecord, RequestRecord, SubmissionRecord, new_id, ts};

/// Why an investigator exported, when they gave no reason.
pub const DEFAULT_EXPORT_REASON: &str = "evidence export";
/// The integrity sweep's name in `job_runs`.
pub const INTEGRITY_SWEEP_JOB: &str = "integrity_sweep";
/// The actor of the sweep's custody events.
pub const SWEEP_ACTOR: &str = "system (integrity sweep)";
/// The actor of the custody event an export records when it finds a clip altered or missing.
pub const EXPORT_CHECK_ACTOR: &str = "system (evidence export)";

/// Bytes per chunk handed to the HTTP body.
const CHUNK: usize = 256 * 1024;
/// Chunks waiting for the client at most: with [`CHUNK`], about 1 MiB per export in flight.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Evidence items read per page by the sweep.
const SWEEP_PAGE: u32 = 500;
/// The wait suggested (`Retry-After`) when every export slot is taken.
const EXPORT_RETRY_SECS: u64 = 60;

/// An export ready to stream. Everything that can refuse it (authorization, the reason, an
/// unpublished request) has been checked; what is left can only fail mid-stream.
pub struct EvidenceExport {
    /// This export's id, recorded in each clip's `exported` custody event.
    pub export_id: String,
    /// `canvass-evidence-<public_id>.zip`.
    pub file_name: String,
    /// How many clips it holds.
    pub items: usize,
    /// The ZIP's bytes. It ends with an error when the export had to stop (a clip that does
    /// not match its hash, a store failure), so the HTTP body is cut off rather than ended.
    pub body: BoxStream<'static, io::Result<Bytes>>,
}

impl std::fmt::Debug for EvidenceExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceExport")
            .field("export_id", &self.export_id)
            .field("file_name", &self.file_name)
            .field("items", &self.items)
            .finish()
    }
}

/// What one integrity sweep found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Evidence items looked at.
    pub checked: u64,
    /// Items whose stored bytes still match the hash and size taken on receipt.
    pub matched: u64,
    /// Items whose stored bytes differ.
    pub mismatched: u64,
    /// Items whose bytes are gone from the blob store.
    pub missing: u64,
    /// Items that could not be read this time (a store error other than "not found"); no
    /// custody event is recorded for them, since nothing was checked.
    pub unreadable: u64,
    /// Every item that did not match, with what was found.
    pub failures: Vec<IntegrityFailure>,
}

impl IntegrityReport {
    /// Whether every item matched.
    pub fn is_clean(&self) -> bool {
        self.mismatched == 0 && self.missing == 0 && self.unreadable == 0
    }
}

/// One evidence item that failed the sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityFailure {
    /// The item.
    pub evidence_id: String,
    /// `mismatch`, `missing` or `unreadable`.
    pub outcome: &'static str,
    /// What was found, in words.
    pub message: String,
}

/// The result of hashing an item's stored bytes again.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rehash {
    /// Same hash and size as on receipt.
    Match,
    /// Different bytes: what was read (the read stops once it passes the expected size).
    Mismatch { sha256: String, size: u64 },
    /// No object at the item's key.
    Missing,
}

impl Rehash {
    fn judge(item: &EvidenceRecord, sha256: String, size: u64) -> Rehash {
        if size == item.size && sha256.eq_ignore_ascii_case(&item.sha256) {
            Rehash::Match
        } else {
            Rehash::Mismatch { sha256, size }
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            Rehash::Match => "match",
            Rehash::Mismatch { .. } => "mismatch",
            Rehash::Missing => "missing",
        }
    }

    /// The `integrity_checked` event's detail.
    fn detail(&self, item: &EvidenceRecord, export_id: Option<&str>) -> Value {
        let (sha256, size) = match self {
            Rehash::Match => (Some(item.sha256.as_str()), Some(item.size)),
            Rehash::Mismatch { sha256, size } => (Some(sha256.as_str()), Some(*size)),
            Rehash::Missing => (None, None),
        };
        let mut detail = json!({
            "outcome": self.outcome(),
            "sha256": sha256,
            "expected": item.sha256,
            "size": size,
            "expected_size": item.size,
        });
        if let Some(id) = export_id {
            detail["export"] = json!(id);
        }
        detail
    }

    fn message(&self, item: &EvidenceRecord) -> String {
        match self {
            Rehash::Match => format!(
                "SHA-256 {} and {} bytes, as received",
                item.sha256, item.size
            ),
            Rehash::Mismatch { sha256, size } => format!(
                "the stored bytes do not match: read {size} bytes with SHA-256 {sha256}, expected \
                 {} bytes with SHA-256 {}",
                item.size, item.sha256
            ),
            Rehash::Missing => format!(
                "the stored bytes are missing from the blob store (key {})",
                item.object_key
            ),
        }
    }
}

fn is_missing(e: &BlobError) -> bool {
    matches!(e, BlobError::Store(object_store::Error::NotFound { .. }))
}

/// The file a clip is stored at in the ZIP. The extension comes from the content type the
/// server sniffed on upload, never from the resident's file name.
pub fn clip_path(item: &EvidenceRecord) -> String {
    format!(
        "clips/{}.{}",
        item.id,
        content_type_extension(&item.content_type)
    )
}

/// `canvass-evidence-<public_id>.zip`, with only characters a header cannot misread.
pub fn export_file_name(request: &RequestRecord) -> String {
    let id: String = request
        .public_id
        .as_deref()
        .unwrap_or(&request.id)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    format!("canvass-evidence-{id}.zip")
}

fn actor_of(who: &Principal) -> String {
    format!("{} {}", who.role.as_str(), who.email)
}

fn zip_time(t: DateTime<Utc>) -> zip::DateTime {
    let parts = (
        u16::try_from(t.year()).ok(),
        u8::try_from(t.month()).ok(),
        u8::try_from(t.day()).ok(),
        u8::try_from(t.hour()).ok(),
        u8::try_from(t.minute()).ok(),
        u8::try_from(t.second()).ok(),
    );
    match parts {
        (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) => {
            zip::DateTime::from_date_and_time(y, mo, d, h, mi, s).unwrap_or_default()
        }
        _ => zip::DateTime::default(),
    }
}

/// Everything the writing thread needs, gathered before the first byte is sent.
struct Job {
    app: App,
    who: Principal,
    reason: String,
    export_id: String,
    exported_at: DateTime<Utc>,
    request: RequestRecord,
    log: ManifestRequest,
    /// Each clip with its submission, in the order received.
    items: Vec<(EvidenceRecord, SubmissionRecord)>,
    /// This export's place among those streamed at once, given back when the job ends
    /// (finished, failed, or the client gone).
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// Why the writing thread stopped early.
#[derive(Debug, thiserror::Error)]
enum Stop {
    /// The client closed the connection.
    #[error("the client went away")]
    ClientGone,
    /// A clip does not match its hash, or is missing.
    #[error("evidence {evidence_id} failed its integrity check: {message}")]
    Integrity {
        evidence_id: String,
        message: String,
    },
    /// Anything else: the store, the database, the ZIP writer.
    #[error("{0}")]
    Failed(String),
}

impl App {
    /// Starts the export of a request's evidence (the request's agency only; 404 for everyone
    /// else, before anything is streamed). `reason` goes into each clip's `exported` custody
    /// event (at most 500 characters; default "evidence export"). A request that was never
    /// published has no log entry to prove it by: 409 `request_not_published`.
    pub async fn export_request(
        &self,
        who: &Principal,
        request_id: &str,
        reason: Option<&str>,
    ) -> Result<EvidenceExport> {
        let request = self.agency_request(who, request_id).await?;
        let reason = access_reason(reason, DEFAULT_EXPORT_REASON)?;
        let (Some(log_index), Some(public_id)) = (
            request
                .log_index
                .filter(|_| request.status == "published")
                .and_then(|i| u64::try_from(i).ok()),
            request.public_id.clone(),
        ) else {
            return Err(AppError::Conflict {
                code: "request_not_published",
                message: format!(
                    "request {} is {}, not published: only a published request, whose entry \
                     in the transparency log proves what was asked, can be exported",
                    request.id, request.status
                ),
            });
        };
        let slot = Arc::clone(&self.export_slots)
            .try_acquire_owned()
            .map_err(|_| AppError::Busy {
                code: "too_many_exports",
                message: format!(
                    "this server is already streaming {} evidence exports, its most at once; \
                     try again in a minute",
                    self.settings.max_concurrent_exports
                ),
                retry_after: EXPORT_RETRY_SECS,
            })?;
        let log = self.log_proof(&request, log_index, public_id).await?;
        let submissions: HashMap<String, SubmissionRecord> = self
            .db
            .submissions_for_request(&request.id)
            .await?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let mut items = Vec::new();
        for item in self.db.evidence_items_for_request(&request.id).await? {
            let submission = submissions
                .get(&item.submission_id)
                .cloned()
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!(
                        "evidence {} without its submission",
                        item.id
                    ))
                })?;
            items.push((item, submission));
        }
        let job = Job {
            app: self.clone(),
            who: who.clone(),
            reason,
            export_id: new_id(),
            exported_at: self.now(),
            log,
            items,
            request,
            _slot: slot,
        };
        let export_id = job.export_id.clone();
        let file_name = export_file_name(&job.request);
        let count = job.items.len();
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || job.run(&handle, tx));
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        })
        .boxed();
        Ok(EvidenceExport {
            export_id,
            file_name,
            items: count,
            body,
        })
    }

    /// The request's log entry, its inclusion proof at the current size, and the checkpoint
    /// of that same size, so the proof leads to the signed root even while the log grows.
    async fn log_proof(
        &self,
        request: &RequestRecord,
        log_index: u64,
        public_id: String,
    ) -> Result<ManifestRequest> {
        let size = self.db.log_size().await?;
        let entry = self.log_entry(log_index).await?;
        let proof = self.inclusion_proof(log_index, size).await?;
        let known = self.db.log_nodes(&merkle::root_needs(size)).await?;
        let root = merkle::root(size, &known).map_err(|e| AppError::Internal(e.into()))?;
        let checkpoint = self.log_signer.sign(&Checkpoint {
            origin: self.log_signer.origin().to_owned(),
            size,
            root,
        });
        Ok(ManifestRequest {
            id: request.id.clone(),
            public_id,
            log_index,
            entry,
            inclusion_proof: InclusionProof::new(log_index, size, &proof.hashes),
            checkpoint,
            log_key: self.log_verifier_key(),
        })
    }

    /// Hashes every evidence item's stored bytes again and records the result in its chain of
    /// custody (`integrity_checked`, actor "system (integrity sweep)"). A mismatch or a missing
    /// blob is logged at error level and shows in `/metrics`. The run is recorded in
    /// `job_runs` at `now`.
    pub async fn integrity_sweep(&self, now: DateTime<Utc>) -> Result<IntegrityReport> {
        let mut report = IntegrityReport::default();
        let mut after: Option<String> = None;
        loop {
            let ids = self
                .db
                .evidence_ids_after(after.as_deref(), SWEEP_PAGE)
                .await?;
            let Some(last) = ids.last().cloned() else {
                break;
            };
            for id in &ids {
                if let Some(item) = self.db.evidence_item(id).await? {
                    self.sweep_item(&item, &mut report).await?;
                }
            }
            after = Some(last);
        }
        self.db.record_job_run(INTEGRITY_SWEEP_JOB, now).await?;
        if report.is_clean() {
            tracing::info!(
                checked = report.checked,
                "integrity sweep: every evidence item matches its hash"
            );
        } else {
            tracing::error!(
                checked = report.checked,
                matched = report.matched,
                mismatched = report.mismatched,
                missing = report.missing,
                unreadable = report.unreadable,
                "integrity sweep: evidence failed its integrity check"
            );
        }
        Ok(report)
    }

    async fn sweep_item(&self, item: &EvidenceRecord, report: &mut IntegrityReport) -> Result<()> {
        report.checked += 1;
        let rehash = match self.rehash(item).await {
            Ok(r) => r,
            Err(e) => {
                // Not a finding about the evidence: the store did not answer this time.
                tracing::error!(evidence = %item.id, error = %e, "integrity sweep: cannot read evidence");
                report.unreadable += 1;
                report.failures.push(IntegrityFailure {
                    evidence_id: item.id.clone(),
                    outcome: "unreadable",
                    message: format!("cannot be read: {e}"),
                });
                return Ok(());
            }
        };
        match &rehash {
            Rehash::Match => report.matched += 1,
            Rehash::Mismatch { .. } => report.mismatched += 1,
            Rehash::Missing => report.missing += 1,
        }
        if rehash != Rehash::Match {
            let message = rehash.message(item);
            tracing::error!(
                evidence = %item.id,
                outcome = rehash.outcome(),
                "integrity sweep: {message}"
            );
            report.failures.push(IntegrityFailure {
                evidence_id: item.id.clone(),
                outcome: rehash.outcome(),
                message,
            });
        }
        self.append_custody(
            &item.id,
            NewCustodyEvent {
                kind: CustodyKind::IntegrityChecked,
                actor_id: None,
                actor: SWEEP_ACTOR.into(),
                at: self.now(),
                source_ip: None,
                reason: "scheduled integrity sweep: the stored bytes were hashed again and \
                         compared with the hash taken on receipt"
                    .into(),
                detail: rehash.detail(item, None),
            },
        )
        .await?;
        Ok(())
    }

    /// Streams an item's stored bytes through SHA-256. Stops reading once more bytes than
    /// expected have come, so a corrupt object cannot keep the sweep busy.
    async fn rehash(&self, item: &EvidenceRecord) -> std::result::Result<Rehash, BlobError> {
        let mut bytes = match self.blobs.read(&item.object_key).await {
            Ok(s) => s,
            Err(e) if is_missing(&e) => return Ok(Rehash::Missing),
            Err(e) => return Err(e),
        };
        let mut hasher = Sha256::new();
        let mut size = 0_u64;
        while let Some(chunk) = bytes.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) if is_missing(&e) => return Ok(Rehash::Missing),
                Err(e) => return Err(e),
            };
            hasher.update(&chunk);
            size += chunk.len() as u64;
            if size > item.size {
                break;
            }
        }
        Ok(Rehash::judge(item, hex::encode(hasher.finalize()), size))
    }
}

/// The ZIP being written, and the switch that cuts the output off. Dropped before it is
/// finished (any early return), it cuts the output off first, so the ZIP writer's own
/// clean-up on drop (which writes a central directory) cannot make a partial export look
/// complete: once cut, the output swallows everything.
struct ZipOut {
    zip: Option<ZipWriter<StreamWriter<ChannelWriter>>>,
    cut: Arc<AtomicBool>,
}

impl ZipOut {
    fn zip(&mut self) -> std::result::Result<&mut ZipWriter<StreamWriter<ChannelWriter>>, Stop> {
        self.zip
            .as_mut()
            .ok_or_else(|| Stop::Failed("the ZIP was already finished".into()))
    }

    fn finish(&mut self) -> std::result::Result<(), Stop> {
        let zip = self
            .zip
            .take()
            .ok_or_else(|| Stop::Failed("the ZIP was already finished".into()))?;
        let mut inner = zip.finish().map_err(|e| Stop::Failed(e.to_string()))?;
        inner.flush().map_err(|e| Stop::Failed(e.to_string()))?;
        Ok(())
    }
}

impl Drop for ZipOut {
    fn drop(&mut self) {
        if self.zip.is_some() {
            self.cut.store(true, Ordering::SeqCst);
        }
    }
}

/// A `Write` that hands the bytes to the HTTP body in [`CHUNK`]-sized pieces through a bounded
/// channel, waiting while the client is slow: the writing thread never gets ahead of it by
/// more than the channel holds.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
    cut: Arc<AtomicBool>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.cut.load(Ordering::SeqCst) {
            // Cut off: swallow what the ZIP writer's clean-up writes, so nothing more reaches
            // the client and the clean-up does not complain on stderr.
            return Ok(data.len());
        }
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.cut.load(Ordering::SeqCst) {
            self.buf.clear();
            return Ok(());
        }
        self.send()
    }
}

impl Job {
    /// Writes the ZIP (on a blocking thread) and ends the body: cleanly when every clip
    /// matched, with an error otherwise.
    fn run(self, handle: &Handle, tx: mpsc::Sender<io::Result<Bytes>>) {
        let cut = Arc::new(AtomicBool::new(false));
        let mut out = ZipOut {
            zip: Some(ZipWriter::new_stream(ChannelWriter {
                tx: tx.clone(),
                buf: Vec::with_capacity(CHUNK),
                cut: cut.clone(),
            })),
            cut: cut.clone(),
        };
        let result = self.write(handle, &mut out);
        // Cut off whatever the writer still holds before the body learns the outcome.
        drop(out);
        let stop = match result {
            Ok(()) => return,
            Err(_) if tx.is_closed() => Stop::ClientGone,
            Err(stop) => stop,
        };
        match &stop {
            Stop::ClientGone => tracing::info!(
                export = %self.export_id,
                request = %self.request.id,
                "evidence export: the client went away before the end"
            ),
            Stop::Integrity { evidence_id, .. } => tracing::error!(
                export = %self.export_id,
                request = %self.request.id,
                evidence = %evidence_id,
                "evidence export stopped: {stop}"
            ),
            Stop::Failed(_) => tracing::error!(
                export = %self.export_id,
                request = %self.request.id,
                "evidence export failed: {stop}"
            ),
        }
        if !matches!(stop, Stop::ClientGone) {
            let _ = tx.blocking_send(Err(io::Error::other(stop.to_string())));
        }
    }

    fn write(&self, handle: &Handle, out: &mut ZipOut) -> std::result::Result<(), Stop> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(true)
            .last_modified_time(zip_time(self.exported_at));
        let io_error = |e: io::Error| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                Stop::ClientGone
            } else {
                Stop::Failed(e.to_string())
            }
        };
        for (item, _) in &self.items {
            out.zip()?
                .start_file(clip_path(item), options)
                .map_err(|e| Stop::Failed(e.to_string()))?;
            let rehash = self.copy_clip(handle, item, out.zip()?, io_error)?;
            if rehash != Rehash::Match {
                return Err(self.integrity_failure(handle, item, &rehash));
            }
        }
        // Every clip is the one received: only now is the export recorded.
        for (item, _) in &self.items {
            handle
                .block_on(self.app.append_custody(
                    &item.id,
                    NewCustodyEvent {
                        kind: CustodyKind::Exported,
                        actor_id: Some(self.who.user_id.clone()),
                        actor: actor_of(&self.who),
                        at: self.app.now(),
                        source_ip: self.who.source_ip.clone(),
                        reason: self.reason.clone(),
                        detail: json!({
                            "sha256": item.sha256,
                            "outcome": "match",
                            "export": self.export_id,
                        }),
                    },
                ))
                .map_err(|e| Stop::Failed(e.to_string()))?;
        }
        self.audit(
            handle,
            Outcome::Success,
            &format!("export {}: {} clip(s)", self.export_id, self.items.len()),
        )?;
        let manifest = self.manifest(handle)?;
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Stop::Failed(e.to_string()))?;
        let zip = out.zip()?;
        zip.start_file(MANIFEST_PATH, options)
            .map_err(|e| Stop::Failed(e.to_string()))?;
        zip.write_all(&json).map_err(io_error)?;
        out.finish()?;
        tracing::info!(
            export = %self.export_id,
            request = %self.request.id,
            clips = self.items.len(),
            "evidence exported"
        );
        Ok(())
    }

    /// Streams one clip into the ZIP, hashing it on the way.
    fn copy_clip(
        &self,
        handle: &Handle,
        item: &EvidenceRecord,
        zip: &mut ZipWriter<StreamWriter<ChannelWriter>>,
        io_error: impl Fn(io::Error) -> Stop,
    ) -> std::result::Result<Rehash, Stop> {
        let read_error =
            |e: BlobError| Stop::Failed(format!("cannot read evidence {}: {e}", item.id));
        let mut bytes = match handle.block_on(self.app.blobs.read(&item.object_key)) {
            Ok(s) => s,
            Err(e) if is_missing(&e) => return Ok(Rehash::Missing),
            Err(e) => return Err(read_error(e)),
        };
        let mut hasher = Sha256::new();
        let mut size = 0_u64;
        while let Some(chunk) = handle.block_on(bytes.next()) {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) if is_missing(&e) => return Ok(Rehash::Missing),
                Err(e) => return Err(read_error(e)),
            };
            hasher.update(&chunk);
            size += chunk.len() as u64;
            if size > item.size {
                // Longer than received: altered, whatever follows. Send none of the excess.
                break;
            }
            zip.write_all(&chunk).map_err(&io_error)?;
        }
        Ok(Rehash::judge(item, hex::encode(hasher.finalize()), size))
    }

    /// Records the failed check in the clip's chain of custody and in the audit log, and
    /// answers the reason to stop.
    fn integrity_failure(&self, handle: &Handle, item: &EvidenceRecord, rehash: &Rehash) -> Stop {
        let message = rehash.message(item);
        tracing::error!(
            evidence = %item.id,
            export = %self.export_id,
            outcome = rehash.outcome(),
            "evidence failed its integrity check during an export: {message}"
        );
        let recorded = handle.block_on(self.app.append_custody(
            &item.id,
            NewCustodyEvent {
                kind: CustodyKind::IntegrityChecked,
                actor_id: None,
                actor: EXPORT_CHECK_ACTOR.into(),
                at: self.app.now(),
                source_ip: None,
                reason: format!(
                    "the stored bytes were hashed again while evidence export {} was written \
                     and did not match the hash taken on receipt; the export was stopped",
                    self.export_id
                ),
                detail: rehash.detail(item, Some(&self.export_id)),
            },
        ));
        if let Err(e) = recorded {
            tracing::error!(evidence = %item.id, error = %e, "cannot record the failed integrity check");
        }
        let _ = self.audit(
            handle,
            Outcome::Failure,
            &format!(
                "export {} stopped: evidence {} {}",
                self.export_id,
                item.id,
                rehash.outcome()
            ),
        );
        Stop::Integrity {
            evidence_id: item.id.clone(),
            message,
        }
    }

    fn audit(
        &self,
        handle: &Handle,
        outcome: Outcome,
        detail: &str,
    ) -> std::result::Result<(), Stop> {
        let target = format!("request:{}", self.request.id);
        handle
            .block_on(self.app.audit(self.who.audit_entry(
                AuditAction::EvidenceExport,
                Some(&target),
                outcome,
                Some(detail),
            )))
            .map_err(|e| Stop::Failed(e.to_string()))
    }

    /// The manifest, with each clip's custody log as it now stands (its `exported` event
    /// included).
    fn manifest(&self, handle: &Handle) -> std::result::Result<Manifest, Stop> {
        let mut items = Vec::with_capacity(self.items.len());
        for (item, submission) in &self.items {
            let custody = handle
                .block_on(self.app.db.custody_events(&item.id))
                .map_err(|e| Stop::Failed(e.to_string()))?;
            items.push(ManifestItem {
                evidence_id: item.id.clone(),
                file: clip_path(item),
                sha256: item.sha256.clone(),
                size: item.size,
                content_type: item.content_type.clone(),
                filename: item.filename.clone(),
                started_at: ts(item.started_at),
                ended_at: ts(item.ended_at),
                duration_ms: item.duration_ms.and_then(|d| u64::try_from(d).ok()),
                media_created_at: item.media_created_at.map(ts),
                device: ManifestDevice {
                    name: item.device_name.clone(),
                    lat: item.device_lat,
                    lon: item.device_lon,
                },
                submission_id: submission.id.clone(),
                submitted_at: ts(submission.created_at),
                submitter: Submitter {
                    display_name: submission.display_name.clone(),
                    home_address: submission.home_address.clone(),
                    email: submission.email.clone(),
                },
                custody,
            });
        }
        Ok(Manifest {
            format: MANIFEST_FORMAT.to_owned(),
            exported_at: ts(self.exported_at),
            exported_by: actor_of(&self.who),
            agency: ManifestAgency {
                id: self.request.agency_id.clone(),
                name: self.request.agency_name.clone(),
            },
            request: self.log.clone(),
            items,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn zip_time_is_the_utc_time() {
        let t = DateTime::parse_from_rfc3339("2026-11-25T13:45:30Z")
            .unwrap()
            .with_timezone(&Utc);
        let z = zip_time(t);
        assert_eq!(
            (
                z.year(),
                z.month(),
                z.day(),
                z.hour(),
                z.minute(),
                z.second()
            ),
            (2026, 11, 25, 13, 45, 30)
        );
    }

    #[test]
    fn channel_writer_sends_bounded_chunks_and_stops_when_cut() {
        let (tx, mut rx) = mpsc::channel(16);
        let cut = Arc::new(AtomicBool::new(false));
        let mut w = ChannelWriter {
            tx,
            buf: Vec::new(),
            cut: cut.clone(),
        };
        w.write_all(&vec![7_u8; CHUNK * 2 + 10]).unwrap();
        w.flush().unwrap();
        let sizes: Vec<usize> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|c| c.unwrap().len())
            .collect();
        assert_eq!(sizes, [CHUNK, CHUNK, 10]);
        w.write_all(b"held back").unwrap();
        cut.store(true, Ordering::SeqCst);
        w.write_all(&vec![1_u8; CHUNK * 2]).unwrap();
        w.flush().unwrap();
        assert!(rx.try_recv().is_err(), "nothing is sent once cut off");
    }
}
