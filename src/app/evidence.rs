//! "Choose videos to share" and what follows: a resident's submission, the agency's copy of each
//! clip (hashed as it is copied), the chain of custody, and the agency's review.
//!
//! Privacy (DESIGN rule 6): what a resident may share is worked out for that resident alone,
//! from their own recordings; the agency sees submissions and nothing about who did not share.

use std::collections::HashMap;
use std::ops::Range;

use bytes::Bytes;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::recordings::requested_range;
use super::uploads::blob_error;
use super::{App, AppError, Principal, Result};
use crate::domain::Role;
use crate::domain::area::{self, Shape};
use crate::domain::custody::{
    self, ChainError, CustodyEvent, CustodyKind, NewCustodyEvent, resident_visible,
};
use crate::domain::evidence::{
    self as rules, RecordingFacts, Submitter, VIEW_DEDUP_MINUTES, Wanted,
};
use crate::domain::request::is_open;
use crate::domain::validation::Problems;
use crate::store::blobs::BlobError;
use crate::store::{
    EvidenceRecord, RecordingRecord, RequestRecord, SubmissionRecord, UserRecord, new_id, ts,
};

/// Why an investigator opened a clip, when they gave no reason.
pub const DEFAULT_VIEW_REASON: &str = "playback in the review page";
/// Why an investigator downloaded a clip, when they gave no reason.
pub const DEFAULT_DOWNLOAD_REASON: &str = "download";

/// What a resident may share with one request.
#[derive(Debug, Clone)]
pub struct ShareableList {
    /// The request.
    pub request: RequestRecord,
    /// The text the resident accepts by sharing.
    pub consent_notice: String,
    /// The resident's eligible recordings, oldest first.
    pub recordings: Vec<Shareable>,
}

/// One recording the resident may share.
#[derive(Debug, Clone)]
pub struct Shareable {
    /// The recording and its camera.
    pub recording: RecordingRecord,
    /// Already shared with this request (it cannot be shared again).
    pub already_shared: bool,
}

/// One submission with the clips it holds and, per clip, the custody events the caller may see.
#[derive(Debug, Clone)]
pub struct SubmissionDetail {
    /// The submission.
    pub submission: SubmissionRecord,
    /// The request it answers.
    pub request: RequestRecord,
    /// Its clips, each with the custody events the caller may see, in order.
    pub items: Vec<(EvidenceRecord, Vec<CustodyEvent>)>,
}

/// What a resident keeps as proof of what they shared: enough to match against the agency's
/// chain of custody (and any export of it) later.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Receipt {
    /// The submission.
    pub submission_id: String,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// The agency that received it.
    pub agency_id: String,
    /// The agency's name.
    pub agency_name: String,
    /// The request answered.
    pub request_id: String,
    /// The request's public id (its share link).
    pub request_public_id: Option<String>,
    /// One line per clip.
    pub items: Vec<ReceiptItem>,
}

/// One clip on a receipt.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReceiptItem {
    /// The agency's evidence id.
    pub evidence_id: String,
    /// The recording it was copied from.
    pub recording_id: String,
    /// Hex SHA-256 of the bytes received.
    pub sha256: String,
    /// Bytes received.
    pub size: u64,
    /// Hex hash of the `received` custody event that opens the clip's chain.
    pub received_event_hash: Option<String>,
}

impl SubmissionDetail {
    /// The resident's receipt.
    pub fn receipt(&self) -> Receipt {
        Receipt {
            submission_id: self.submission.id.clone(),
            created_at: self.submission.created_at,
            agency_id: self.request.agency_id.clone(),
            agency_name: self.request.agency_name.clone(),
            request_id: self.request.id.clone(),
            request_public_id: self.request.public_id.clone(),
            items: self
                .items
                .iter()
                .map(|(item, events)| ReceiptItem {
                    evidence_id: item.id.clone(),
                    recording_id: item.recording_id.clone(),
                    sha256: item.sha256.clone(),
                    size: item.size,
                    received_event_hash: events
                        .iter()
                        .find(|e| e.kind == CustodyKind::Received)
                        .map(|e| e.hash.clone()),
                })
                .collect(),
        }
    }
}

/// One clip with where it came from, for the agency.
#[derive(Debug, Clone)]
pub struct EvidenceDetail {
    /// The clip.
    pub item: EvidenceRecord,
    /// The submission it came in (the submitter as they were then).
    pub submission: SubmissionRecord,
    /// The request it answers.
    pub request: RequestRecord,
}

/// What an investigator asks of a clip's bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContentRequest<'a> {
    /// The `Range` header, when sent.
    pub range: Option<&'a str>,
    /// A download (`?disposition=attachment`) rather than playback.
    pub download: bool,
    /// Why, in the investigator's words.
    pub reason: Option<&'a str>,
}

/// A clip's bytes, ready to stream.
pub struct EvidenceContent {
    /// The clip.
    pub item: EvidenceRecord,
    /// The bytes sent: `Some` for a partial answer (206), `None` for the whole clip.
    pub range: Option<Range<u64>>,
    /// The bytes.
    pub body: BoxStream<'static, std::result::Result<Bytes, BlobError>>,
}

impl std::fmt::Debug for EvidenceContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceContent")
            .field("item", &self.item.id)
            .field("range", &self.range)
            .finish()
    }
}

/// A clip's chain of custody and whether it verifies.
#[derive(Debug, Clone)]
pub struct CustodyLog {
    /// The clip.
    pub evidence_id: String,
    /// The events, in order.
    pub events: Vec<CustodyEvent>,
    /// `Ok` when every link and hash checks out.
    pub verified: std::result::Result<(), ChainError>,
}

fn already_shared(recording_id: &str) -> AppError {
    AppError::Conflict {
        code: "already_shared",
        message: format!(
            "recording {recording_id} was already shared with this request; it cannot be shared \
             twice"
        ),
    }
}

/// The actor of a custody event, in words.
fn actor_of(who: &Principal) -> String {
    format!("{} {}", who.role.as_str(), who.email)
}

/// The submitter's details as they are now; a resident always has them.
fn submitter_of(user: &UserRecord) -> Result<(String, String, String)> {
    let home_address = user
        .home_address
        .clone()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("resident without a home address")))?;
    let display_name = user
        .display_name
        .clone()
        .unwrap_or_else(|| user.email.clone());
    Ok((display_name, home_address, user.email.clone()))
}

impl App {
    /// A published request the resident can see, for sharing; 404 otherwise.
    async fn request_to_share_with(
        &self,
        who: &Principal,
        id: &str,
        via: Option<&str>,
    ) -> Result<RequestRecord> {
        self.require_role(who, &[Role::Resident], "submissions")
            .await?;
        // For a resident this answers only a published request over their home (or whose
        // share link they hold), and 404, unaudited, for anything else.
        let detail = self.request_detail(who, id, via).await?;
        if detail.record.status != "published" {
            return Err(AppError::NotFound("request"));
        }
        Ok(detail.record)
    }

    async fn resident(&self, who: &Principal) -> Result<UserRecord> {
        self.db
            .user_by_id(&who.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// "Choose videos to share": the resident's own recordings that overlap the request's
    /// timeframe, from their cameras inside its area, with the notice they accept by sharing.
    pub async fn shareable_recordings(
        &self,
        who: &Principal,
        request_id: &str,
        via: Option<&str>,
    ) -> Result<ShareableList> {
        let request = self.request_to_share_with(who, request_id, via).await?;
        let user = self.resident(who).await?;
        let (display_name, home_address, email) = submitter_of(&user)?;
        let area = request_area(&request)?;
        let wanted = Wanted {
            footage_start: request.content.footage_start,
            footage_end: request.content.footage_end,
            area: &area,
        };
        let candidates = self
            .db
            .recordings_overlapping(&who.user_id, wanted.footage_start, wanted.footage_end)
            .await?;
        let shared = self
            .db
            .shared_recording_ids(&request.id, &who.user_id)
            .await?;
        let recordings = candidates
            .into_iter()
            .filter(|r| rules::eligibility(&facts(r), &wanted).is_ok())
            .map(|recording| Shareable {
                already_shared: shared.contains(&recording.id),
                recording,
            })
            .collect();
        let consent_notice = rules::consent_notice(
            &request.agency_name,
            &Submitter {
                display_name: &display_name,
                home_address: &home_address,
                email: &email,
            },
        );
        Ok(ShareableList {
            request,
            consent_notice,
            recordings,
        })
    }

    /// Shares recordings with a request: checks in the documented order (visible, window open,
    /// consent, selection, ownership, eligibility, not shared yet), copies each clip into the
    /// agency's evidence store while hashing it, and records the submission, the items and
    /// their first custody events in one transaction.
    pub async fn share_recordings(
        &self,
        who: &Principal,
        request_id: &str,
        via: Option<&str>,
        recording_ids: Option<&Value>,
        consent: Option<&Value>,
    ) -> Result<SubmissionDetail> {
        let request = self.request_to_share_with(who, request_id, via).await?;
        let deadline = request
            .response_deadline
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("published without a deadline")))?;
        if !is_open(deadline, self.now()) {
            return Err(AppError::Gone {
                code: "response_window_closed",
                message: format!(
                    "this request stopped accepting videos when its response window closed at {}; \
                     the request stays readable, but new shares are refused",
                    ts(deadline)
                ),
            });
        }
        if consent != Some(&Value::Bool(true)) {
            return Err(crate::domain::ValidationError::field(
                "consent_required",
                "consent",
                rules::consent_required_message(&request.agency_name),
            )
            .into());
        }
        let ids = rules::validate_selection(recording_ids)?;

        let mut recordings = Vec::with_capacity(ids.len());
        for id in &ids {
            match self.db.recording(id).await? {
                Some(r) if r.owner_id == who.user_id => recordings.push(r),
                _ => {
                    return Err(self
                        .not_found_for(who, &format!("recording:{id}"), "recording")
                        .await);
                }
            }
        }
        let area = request_area(&request)?;
        let wanted = Wanted {
            footage_start: request.content.footage_start,
            footage_end: request.content.footage_end,
            area: &area,
        };
        let mut p = Problems::new();
        for (i, r) in recordings.iter().enumerate() {
            if let Err(why) = rules::eligibility(&facts(r), &wanted) {
                let name = r.filename.as_deref().unwrap_or("unnamed");
                p.add(
                    &format!("recording_ids.{i}"),
                    format!("recording {} ({name}) cannot be shared: {why}", r.id),
                );
            }
        }
        p.finish(
            "recording_not_eligible",
            "Only recordings that overlap the requested timeframe, from cameras inside the \
             request's area, can be shared",
        )?;
        let shared = self
            .db
            .shared_recording_ids(&request.id, &who.user_id)
            .await?;
        if let Some(r) = recordings.iter().find(|r| shared.contains(&r.id)) {
            return Err(already_shared(&r.id));
        }

        let user = self.resident(who).await?;
        let (display_name, home_address, email) = submitter_of(&user)?;
        let consent_text = rules::consent_notice(
            &request.agency_name,
            &Submitter {
                display_name: &display_name,
                home_address: &home_address,
                email: &email,
            },
        );

        // Copy first, outside the transaction: copying takes as long as the clips are large,
        // and a transaction must not wait on it. A copy that is never recorded is deleted.
        let mut copies: Vec<(String, String)> = Vec::with_capacity(recordings.len());
        for r in &recordings {
            let evidence_id = new_id();
            let key = format!("evidence/{}/{evidence_id}", request.agency_id);
            if let Err(e) = self.copy_recording(r, &key).await {
                self.delete_copies(&copies).await;
                return Err(e);
            }
            copies.push((evidence_id, key));
        }

        // Microseconds, as stored, so the answer and every later read agree to the digit.
        let now = self.now().trunc_subsecs(6);
        let submission = SubmissionRecord {
            id: new_id(),
            request_id: request.id.clone(),
            agency_id: request.agency_id.clone(),
            resident_id: who.user_id.clone(),
            display_name: display_name.clone(),
            home_address,
            email,
            consent_text,
            created_at: now,
        };
        let public_id = request
            .public_id
            .clone()
            .unwrap_or_else(|| request.id.clone());
        let mut items = Vec::with_capacity(recordings.len());
        for (r, (evidence_id, key)) in recordings.iter().zip(&copies) {
            let item = EvidenceRecord {
                id: evidence_id.clone(),
                submission_id: submission.id.clone(),
                request_id: request.id.clone(),
                agency_id: request.agency_id.clone(),
                recording_id: r.id.clone(),
                sha256: r.sha256.to_ascii_lowercase(),
                size: r.size,
                content_type: r.content_type.clone(),
                filename: r.filename.clone(),
                started_at: r.started_at,
                ended_at: r.ended_at,
                duration_ms: r.duration_ms.and_then(|d| i64::try_from(d).ok()),
                media_created_at: r.media_created_at,
                device_name: r.device_name.clone(),
                device_lat: r.device_lat,
                device_lon: r.device_lon,
                object_key: key.clone(),
                created_at: now,
            };
            let received = custody::next_event(
                evidence_id,
                None,
                NewCustodyEvent {
                    kind: CustodyKind::Received,
                    actor_id: Some(who.user_id.clone()),
                    actor: format!("resident {display_name}"),
                    at: now,
                    source_ip: who.source_ip.clone(),
                    reason: format!(
                        "shared by the resident in answer to community request {public_id}"
                    ),
                    detail: json!({"sha256": item.sha256, "size": item.size}),
                },
            );
            let verified = custody::next_event(
                evidence_id,
                Some(&received),
                NewCustodyEvent {
                    kind: CustodyKind::HashVerified,
                    actor_id: None,
                    actor: "system".into(),
                    at: now,
                    source_ip: None,
                    reason: "the SHA-256 of the copy, computed as it was received, was compared \
                             with the one taken when the recording was uploaded"
                        .into(),
                    detail: json!({"sha256": item.sha256, "outcome": "match"}),
                },
            );
            items.push((item, vec![received, verified]));
        }

        match self.record_submission(&submission, &items).await {
            Ok(()) => {}
            Err(e) => {
                self.delete_copies(&copies).await;
                if let AppError::Store(s) = &e
                    && s.is_unique_violation()
                {
                    // Another share of the same recording committed first (a double submit).
                    let first = recordings.first().map_or("", |r| r.id.as_str());
                    let shared = self
                        .db
                        .shared_recording_ids(&request.id, &who.user_id)
                        .await?;
                    let dup = recordings
                        .iter()
                        .find(|r| shared.contains(&r.id))
                        .map_or(first, |r| r.id.as_str());
                    return Err(already_shared(dup));
                }
                return Err(e);
            }
        }
        Ok(SubmissionDetail {
            submission,
            request,
            items,
        })
    }

    async fn record_submission(
        &self,
        submission: &SubmissionRecord,
        items: &[(EvidenceRecord, Vec<CustodyEvent>)],
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.insert_submission(submission).await?;
        for (item, events) in items {
            tx.insert_evidence_item(item).await?;
            for event in events {
                tx.insert_custody_event(event).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Streams a recording's bytes into a new evidence object at `key`, hashing them on the
    /// way; the object is kept only when the hash and size match the recording's.
    async fn copy_recording(&self, r: &RecordingRecord, key: &str) -> Result<()> {
        let segments = self.db.segments(&r.id).await?;
        let mut writer = self.blobs.writer(key).await.map_err(blob_error)?;
        let mut hasher = Sha256::new();
        let mut copied = 0_u64;
        let mut bytes = self.blobs.read_segments(segments, 0..r.size);
        while let Some(chunk) = bytes.next().await {
            let written = match chunk {
                Ok(chunk) => {
                    hasher.update(&chunk);
                    copied += chunk.len() as u64;
                    writer.write(chunk).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                let _ = writer.abort().await;
                return Err(blob_error(e));
            }
        }
        let sha256 = hex::encode(hasher.finalize());
        if copied != r.size || !sha256.eq_ignore_ascii_case(&r.sha256) {
            // The resident's stored bytes are not what was uploaded: never hand the agency
            // a clip that does not match its own hash.
            tracing::error!(
                recording = %r.id,
                expected_sha256 = %r.sha256,
                got_sha256 = %sha256,
                expected_size = r.size,
                got_size = copied,
                "a shared recording does not match its hash; nothing was shared"
            );
            let _ = writer.abort().await;
            let _ = self.blobs.delete(key).await;
            return Err(AppError::Internal(anyhow::anyhow!(
                "recording {} does not match its SHA-256",
                r.id
            )));
        }
        writer.finish().await.map_err(blob_error)?;
        Ok(())
    }

    /// Removes evidence copies that were never recorded (a failed or refused share).
    async fn delete_copies(&self, copies: &[(String, String)]) {
        for (_, key) in copies {
            if let Err(e) = self.blobs.delete(key).await {
                tracing::error!(key = %key, error = %e, "could not remove an unrecorded evidence copy");
            }
        }
    }

    /// What the resident has shared, newest first: per submission the request, the clips with
    /// their hashes, and only the `received` custody events (the agency's handling of the
    /// evidence is part of its investigation).
    pub async fn my_submissions(&self, who: &Principal) -> Result<Vec<SubmissionDetail>> {
        self.require_role(who, &[Role::Resident], "submissions")
            .await?;
        let submissions = self.db.submissions_of_resident(&who.user_id).await?;
        let mut items: HashMap<String, Vec<EvidenceRecord>> = HashMap::new();
        for item in self.db.evidence_items_of_resident(&who.user_id).await? {
            items
                .entry(item.submission_id.clone())
                .or_default()
                .push(item);
        }
        let mut events: HashMap<String, Vec<CustodyEvent>> = HashMap::new();
        for e in self
            .db
            .custody_events_of_resident(&who.user_id, CustodyKind::Received)
            .await?
            .into_iter()
            .filter(|e| resident_visible(e.kind))
        {
            events.entry(e.evidence_id.clone()).or_default().push(e);
        }
        let mut requests: HashMap<String, RequestRecord> = HashMap::new();
        let mut out = Vec::with_capacity(submissions.len());
        for submission in submissions {
            let request = match requests.get(&submission.request_id) {
                Some(r) => r.clone(),
                None => {
                    let r = self
                        .db
                        .request(&submission.request_id)
                        .await?
                        .ok_or_else(|| {
                            AppError::Internal(anyhow::anyhow!("submission without its request"))
                        })?;
                    requests.insert(r.id.clone(), r.clone());
                    r
                }
            };
            let items = items
                .remove(&submission.id)
                .unwrap_or_default()
                .into_iter()
                .map(|item| {
                    let ev = events.remove(&item.id).unwrap_or_default();
                    (item, ev)
                })
                .collect();
            out.push(SubmissionDetail {
                submission,
                request,
                items,
            });
        }
        Ok(out)
    }

    /// A request of the caller's own agency (its investigators and agency admins); 404 for
    /// everyone else, as if it did not exist. Staff misses are audited; residents' are not,
    /// since the server keeps no record of which requests a resident tried (DESIGN rule 6).
    pub(crate) async fn agency_request(&self, who: &Principal, id: &str) -> Result<RequestRecord> {
        let record = self.db.request(id).await?;
        match record {
            Some(r) if is_member(who, &r.agency_id) => Ok(r),
            _ if who.role == Role::Resident => Err(AppError::NotFound("request")),
            _ => Err(self
                .not_found_for(who, &format!("request:{id}"), "request")
                .await),
        }
    }

    /// An evidence item of the caller's own agency; 404 for everyone else (audited).
    pub(crate) async fn agency_evidence(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<EvidenceRecord> {
        match self.db.evidence_item(id).await? {
            Some(item) if is_member(who, &item.agency_id) => Ok(item),
            _ => Err(self
                .not_found_for(who, &format!("evidence:{id}"), "evidence")
                .await),
        }
    }

    /// A request's submissions for its agency: each with the submitter as they were when they
    /// shared, and the clips. Nothing about residents who did not share.
    pub async fn request_submissions(
        &self,
        who: &Principal,
        request_id: &str,
    ) -> Result<Vec<SubmissionDetail>> {
        let request = self.agency_request(who, request_id).await?;
        let submissions = self.db.submissions_for_request(&request.id).await?;
        let mut items: HashMap<String, Vec<EvidenceRecord>> = HashMap::new();
        for item in self.db.evidence_items_for_request(&request.id).await? {
            items
                .entry(item.submission_id.clone())
                .or_default()
                .push(item);
        }
        Ok(submissions
            .into_iter()
            .map(|submission| SubmissionDetail {
                items: items
                    .remove(&submission.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|i| (i, Vec::new()))
                    .collect(),
                submission,
                request: request.clone(),
            })
            .collect())
    }

    /// One clip's details, for its agency.
    pub async fn evidence(&self, who: &Principal, id: &str) -> Result<EvidenceDetail> {
        let item = self.agency_evidence(who, id).await?;
        let submission = self
            .db
            .submission(&item.submission_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("evidence without submission")))?;
        let request = self
            .db
            .request(&item.request_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("evidence without request")))?;
        Ok(EvidenceDetail {
            item,
            submission,
            request,
        })
    }

    /// A clip's bytes, whole or one range, for its agency. Every access is a custody event:
    /// `downloaded` for a download, else `viewed`. A `viewed` is recorded once per account and
    /// clip in [`VIEW_DEDUP_MINUTES`] minutes, because a video element plays a clip through
    /// many range requests; every download is recorded.
    pub async fn evidence_content(
        &self,
        who: &Principal,
        id: &str,
        req: ContentRequest<'_>,
    ) -> Result<EvidenceContent> {
        let item = self.agency_evidence(who, id).await?;
        let default = if req.download {
            DEFAULT_DOWNLOAD_REASON
        } else {
            DEFAULT_VIEW_REASON
        };
        let reason = rules::access_reason(req.reason, default)?;
        let range = requested_range(req.range, item.size)?;
        let bytes = range.clone().unwrap_or(0..item.size);
        // Open the object before recording the access, so a missing blob records nothing.
        let body = self
            .blobs
            .read_range(&item.object_key, bytes.clone())
            .await
            .map_err(blob_error)?;
        let now = self.now();
        let sent = if item.size == 0 {
            "bytes */0".to_owned()
        } else {
            format!(
                "bytes {}-{}/{}",
                bytes.start,
                bytes.end.saturating_sub(1),
                item.size
            )
        };
        let new = NewCustodyEvent {
            kind: if req.download {
                CustodyKind::Downloaded
            } else {
                CustodyKind::Viewed
            },
            actor_id: Some(who.user_id.clone()),
            actor: actor_of(who),
            at: now,
            source_ip: who.source_ip.clone(),
            reason,
            detail: json!({"range": sent}),
        };
        if req.download {
            self.db.append_custody(&item.id, &new).await?;
        } else {
            self.db
                .append_custody_unless_since(
                    &item.id,
                    &new,
                    now - Duration::minutes(VIEW_DEDUP_MINUTES),
                )
                .await?;
        }
        Ok(EvidenceContent { item, range, body })
    }

    /// A clip's chain of custody with the result of checking it, for its agency.
    pub async fn custody(&self, who: &Principal, id: &str) -> Result<CustodyLog> {
        let item = self.agency_evidence(who, id).await?;
        let events = self.db.custody_events(&item.id).await?;
        let verified = custody::verify_chain(&item.id, &events);
        Ok(CustodyLog {
            evidence_id: item.id,
            events,
            verified,
        })
    }

    /// Appends an event to an evidence item's chain of custody (safe against concurrent
    /// appends). For the export and the integrity sweep; callers check authorization first.
    pub async fn append_custody(
        &self,
        evidence_id: &str,
        new: NewCustodyEvent,
    ) -> Result<CustodyEvent> {
        Ok(self.db.append_custody(evidence_id, &new).await?)
    }
}

fn is_member(who: &Principal, agency_id: &str) -> bool {
    matches!(who.role, Role::Investigator | Role::AgencyAdmin)
        && who.agency_id.as_deref() == Some(agency_id)
}

fn request_area(request: &RequestRecord) -> Result<geo::Polygon<f64>> {
    let area = area::parse(&request.content.area, Shape::Polygon)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored area is invalid: {e}")))?;
    area.0
        .into_iter()
        .next()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("empty area")))
}

fn facts(r: &RecordingRecord) -> RecordingFacts {
    RecordingFacts {
        started_at: r.started_at,
        ended_at: r.ended_at,
        camera_lat: r.device_lat,
        camera_lon: r.device_lon,
    }
}
