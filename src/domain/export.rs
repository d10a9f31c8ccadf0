//! The evidence export's manifest, and everything about an export that can be checked offline.
//!
//! An export is a ZIP holding each clip at `clips/<evidence_id>.<ext>` and `manifest.json`.
//! The manifest lists every clip with its SHA-256, size and chain of custody, and carries the
//! request exactly as the transparency log holds it, with an inclusion proof, the signed
//! checkpoint the proof leads to and the log's verifier key. So anyone with the ZIP alone can
//! check that the clips are the ones received, that their custody chains are intact, and that
//! the request is the one published; with the log's key obtained independently, also that the
//! export was signed by that log.
//!
//! Reading is forward-compatible: fields this version does not know are ignored.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::checkpoint::{Checkpoint, verify_note};
use super::custody::{CustodyEvent, CustodyKind, verify_chain};
use super::merkle::{self, Hash};

/// The manifest's `format`: names this layout, versioned.
pub const MANIFEST_FORMAT: &str = "canvass-evidence-export/1";
/// Where the manifest lies in the ZIP.
pub const MANIFEST_PATH: &str = "manifest.json";

/// The manifest of an evidence export: `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`] for this layout.
    pub format: String,
    /// When the export was made, RFC 3339 UTC.
    pub exported_at: String,
    /// Who made it, in words (e.g. "investigator a@pd.example").
    pub exported_by: String,
    /// The agency the evidence was shared with.
    pub agency: ManifestAgency,
    /// The request the clips answer, with its proof of publication.
    pub request: ManifestRequest,
    /// One per clip.
    pub items: Vec<ManifestItem>,
}

/// The agency an export belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestAgency {
    /// The agency's id.
    pub id: String,
    /// The agency's name.
    pub name: String,
}

/// The request an export answers, and the proof that it is the one published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRequest {
    /// The request's id.
    pub id: String,
    /// The id in the request's share link.
    pub public_id: String,
    /// The request's position in the transparency log.
    pub log_index: u64,
    /// The log's leaf exactly as hashed: the request as published, canonical JSON.
    pub entry: String,
    /// The proof that `entry` is leaf `log_index` of the tree the checkpoint signs.
    pub inclusion_proof: InclusionProof,
    /// The signed note (C2SP) for the tree of `inclusion_proof.size` leaves.
    pub checkpoint: String,
    /// The log's verifier key in signed-note form, as `GET /api/v1/transparency/key` gives it.
    pub log_key: String,
}

/// An inclusion proof (RFC 9162 §2.1.3), as `GET /api/v1/transparency/proof/inclusion` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The leaf's index.
    pub index: u64,
    /// The tree size.
    pub size: u64,
    /// Base64 hashes, leaf to root.
    pub hashes: Vec<String>,
}

impl InclusionProof {
    /// The proof of leaf `index` in the tree of `size` leaves, from its hashes.
    pub fn new(index: u64, size: u64, hashes: &[Hash]) -> Self {
        Self {
            index,
            size,
            hashes: hashes.iter().map(|h| STANDARD.encode(h)).collect(),
        }
    }
}

/// One clip in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestItem {
    /// The evidence item's id.
    pub evidence_id: String,
    /// The clip's path in the ZIP: `clips/<evidence_id>.<ext>`.
    pub file: String,
    /// Hex SHA-256 of the clip, taken when it was received.
    pub sha256: String,
    /// The clip's size in bytes.
    pub size: u64,
    /// The clip's media type.
    pub content_type: String,
    /// The file name the resident's device gave, if any.
    pub filename: Option<String>,
    /// When the recording starts, RFC 3339 UTC.
    pub started_at: String,
    /// When the recording ends, RFC 3339 UTC.
    pub ended_at: String,
    /// The recording's length, when known.
    pub duration_ms: Option<u64>,
    /// The creation time in the media's own metadata, when it has one.
    pub media_created_at: Option<String>,
    /// The camera that recorded it.
    pub device: ManifestDevice,
    /// The submission the clip came in.
    pub submission_id: String,
    /// When the resident shared it, RFC 3339 UTC.
    pub submitted_at: String,
    /// Who shared it (they were told this goes to the investigator).
    pub submitter: Submitter,
    /// The clip's chain of custody, in order.
    pub custody: Vec<CustodyEvent>,
}

/// A camera, as its owner registered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestDevice {
    /// The name the owner gave it.
    pub name: String,
    /// Latitude, WGS84.
    pub lat: f64,
    /// Longitude, WGS84.
    pub lon: f64,
}

/// The resident who shared a clip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitter {
    /// The resident's display name.
    pub display_name: String,
    /// The resident's home address.
    pub home_address: String,
    /// The resident's email.
    pub email: String,
}

/// Something wrong with an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What it is about: a ZIP entry ("clips/abc.mp4"), "request", "custody abc", …
    pub what: String,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.message)
    }
}

/// One check made on an export, passed or not, so a report can list them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, as in [`Problem::what`].
    pub what: String,
    /// What was found: `Ok` with what holds, `Err` with what is wrong.
    pub outcome: Result<String, String>,
}

impl Check {
    fn ok(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            outcome: Ok(message.into()),
        }
    }

    fn fail(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            outcome: Err(message.into()),
        }
    }

    fn from_result(what: impl Into<String>, result: Result<String, String>) -> Self {
        Self {
            what: what.into(),
            outcome: result,
        }
    }

    /// The problem this check found, if it failed.
    pub fn problem(&self) -> Option<Problem> {
        self.outcome.as_ref().err().map(|message| Problem {
            what: self.what.clone(),
            message: message.clone(),
        })
    }
}

/// Checks everything that can be checked offline and returns every problem found (none: the
/// export is intact). `files` maps each ZIP entry name to (hex SHA-256, size) as computed by
/// the reader; `trusted_key` is a verifier key the user got independently (e.g. from the
/// deployment's `/api/v1/transparency/key`), when given.
pub fn verify_manifest(
    m: &Manifest,
    files: &BTreeMap<String, (String, u64)>,
    trusted_key: Option<&str>,
) -> Vec<Problem> {
    check_manifest(m, files, trusted_key)
        .iter()
        .filter_map(Check::problem)
        .collect()
}

/// The checks of [`verify_manifest`], each with its outcome, in report order: the format, each
/// clip and its custody, entries the manifest does not list, the request entry, the checkpoint,
/// the inclusion proof, and the trusted key.
pub fn check_manifest(
    m: &Manifest,
    files: &BTreeMap<String, (String, u64)>,
    trusted_key: Option<&str>,
) -> Vec<Check> {
    let mut checks = vec![check_format(m)];
    checks.extend(check_items(&m.items, files));
    checks.extend(check_unlisted(&m.items, files));
    checks.push(check_entry(&m.request));
    let checkpoint = verify_note(&m.request.checkpoint, m.request.log_key.trim());
    checks.push(Check::from_result(
        "checkpoint",
        match &checkpoint {
            Ok(cp) => Ok(format!(
                "signed by the log key {} (tree size {})",
                key_label(&m.request.log_key),
                cp.size
            )),
            Err(e) => Err(format!(
                "the checkpoint does not verify with the log key in the manifest: {e}"
            )),
        },
    ));
    checks.push(Check::from_result(
        "inclusion proof",
        match &checkpoint {
            Ok(cp) => check_inclusion(&m.request, cp),
            Err(_) => Err(
                "cannot be checked, because the checkpoint does not verify: the request is not shown to be in the log"
                    .to_owned(),
            ),
        },
    ));
    if let Some(trusted) = trusted_key {
        checks.push(check_trusted_key(&m.request.log_key, trusted));
    }
    checks
}

fn check_format(m: &Manifest) -> Check {
    if m.format == MANIFEST_FORMAT {
        Check::ok("manifest", format!("format {MANIFEST_FORMAT}"))
    } else {
        Check::fail(
            "manifest",
            format!(
                "format is {:?}, expected {MANIFEST_FORMAT:?}; this verifier may not understand it",
                m.format
            ),
        )
    }
}

/// Each clip: listed once, present with its hash and size; its custody chain intact and
/// anchored on the hash taken on receipt.
fn check_items(items: &[ManifestItem], files: &BTreeMap<String, (String, u64)>) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut seen_files = BTreeSet::new();
    let mut seen_ids = BTreeSet::new();
    for item in items {
        if !seen_ids.insert(item.evidence_id.as_str()) {
            checks.push(Check::fail(
                format!("custody {}", item.evidence_id),
                "the evidence item is listed more than once in the manifest",
            ));
        }
        checks.push(Check::from_result(
            item.file.as_str(),
            check_file(item, files, &mut seen_files),
        ));
        let custody = format!("custody {}", item.evidence_id);
        checks.push(Check::from_result(
            custody.as_str(),
            match verify_chain(&item.evidence_id, &item.custody) {
                Ok(()) => Ok(format!("{} events, hash chain intact", item.custody.len())),
                Err(e) => Err(e.to_string()),
            },
        ));
        checks.push(Check::from_result(custody, check_received(item)));
    }
    checks
}

fn check_file<'a>(
    item: &'a ManifestItem,
    files: &BTreeMap<String, (String, u64)>,
    seen: &mut BTreeSet<&'a str>,
) -> Result<String, String> {
    if item.file == MANIFEST_PATH {
        return Err("a clip cannot be the manifest itself".to_owned());
    }
    if !seen.insert(item.file.as_str()) {
        return Err("listed for more than one item in the manifest".to_owned());
    }
    let Some((sha256, size)) = files.get(&item.file) else {
        return Err("listed in the manifest but missing from the export".to_owned());
    };
    let mut wrong = Vec::new();
    if !sha256.eq_ignore_ascii_case(&item.sha256) {
        wrong.push(format!(
            "its SHA-256 is {sha256}, the manifest says {}",
            item.sha256
        ));
    }
    if *size != item.size {
        wrong.push(format!(
            "its size is {size} bytes, the manifest says {}",
            item.size
        ));
    }
    if wrong.is_empty() {
        Ok(format!(
            "SHA-256 {sha256}, {size} bytes, as in the manifest"
        ))
    } else {
        Err(format!("altered: {}", wrong.join("; ")))
    }
}

/// The chain's `received` event holds the hash taken when the clip arrived; the manifest's
/// hash must be that one, or a replaced clip could come with a matching new hash.
fn check_received(item: &ManifestItem) -> Result<String, String> {
    let Some(received) = item
        .custody
        .iter()
        .find(|e| e.kind == CustodyKind::Received)
    else {
        return Err("no received event records the hash taken on receipt".to_owned());
    };
    let Some(recorded) = received.detail.get("sha256").and_then(|v| v.as_str()) else {
        return Err(format!(
            "the received event (seq {}) records no SHA-256",
            received.seq
        ));
    };
    if !recorded.eq_ignore_ascii_case(&item.sha256) {
        return Err(format!(
            "the received event (seq {}) records SHA-256 {recorded}, but the manifest lists {}",
            received.seq, item.sha256
        ));
    }
    if let Some(size) = received.detail.get("size").and_then(|v| v.as_u64())
        && size != item.size
    {
        return Err(format!(
            "the received event (seq {}) records {size} bytes, but the manifest lists {}",
            received.seq, item.size
        ));
    }
    Ok("the SHA-256 taken on receipt matches the clip's".to_owned())
}

fn check_unlisted(items: &[ManifestItem], files: &BTreeMap<String, (String, u64)>) -> Vec<Check> {
    let listed: BTreeSet<&str> = items.iter().map(|i| i.file.as_str()).collect();
    let unlisted: Vec<Check> = files
        .keys()
        .filter(|name| name.as_str() != MANIFEST_PATH && !listed.contains(name.as_str()))
        .map(|name| {
            Check::fail(
                name.as_str(),
                "in the export but not listed in the manifest",
            )
        })
        .collect();
    if unlisted.is_empty() {
        vec![Check::ok("export", "every file is listed in the manifest")]
    } else {
        unlisted
    }
}

/// The leaf is the request as published; only its `id` ties it to the manifest (the leaf holds
/// neither the share link's id nor its own index).
fn check_entry(r: &ManifestRequest) -> Check {
    let parsed: Result<serde_json::Value, _> = serde_json::from_str(&r.entry);
    let result = match parsed {
        Err(e) => Err(format!("the log entry is not JSON: {e}")),
        Ok(v) => match v.get("id").and_then(|id| id.as_str()) {
            None => Err("the log entry has no id".to_owned()),
            Some(id) if id != r.id => {
                Err(format!("the log entry is for request {id}, not {}", r.id))
            }
            Some(_) => Ok(format!("the log entry is request {} as published", r.id)),
        },
    };
    Check::from_result("request", result)
}

fn check_inclusion(r: &ManifestRequest, cp: &Checkpoint) -> Result<String, String> {
    let p = &r.inclusion_proof;
    if p.index != r.log_index {
        return Err(format!(
            "the proof is for index {}, but the request's log index is {}",
            p.index, r.log_index
        ));
    }
    if p.size != cp.size {
        return Err(format!(
            "the proof is for tree size {}, but the checkpoint is for size {}",
            p.size, cp.size
        ));
    }
    let mut hashes = Vec::with_capacity(p.hashes.len());
    for (i, h) in p.hashes.iter().enumerate() {
        let hash = STANDARD
            .decode(h)
            .ok()
            .and_then(|b| Hash::try_from(b).ok())
            .ok_or_else(|| format!("proof hash {i} is not base64 of 32 bytes"))?;
        hashes.push(hash);
    }
    let leaf = merkle::leaf_hash(r.entry.as_bytes());
    if merkle::verify_inclusion(&leaf, r.log_index, cp.size, &hashes, &cp.root) {
        Ok(format!(
            "the request is entry {} of the log's {} entries under the signed root",
            r.log_index, cp.size
        ))
    } else {
        Err(format!(
            "the request entry at index {} does not lead to the checkpoint's root at size {}: the entry or the proof was altered",
            r.log_index, cp.size
        ))
    }
}

fn check_trusted_key(log_key: &str, trusted: &str) -> Check {
    let (log_key, trusted) = (log_key.trim(), trusted.trim());
    if log_key == trusted {
        Check::ok("log key", format!("the trusted key {}", key_label(trusted)))
    } else {
        Check::fail(
            "log key",
            format!(
                "the export was not signed by the trusted log: it carries key {}, the trusted key is {}",
                key_label(log_key),
                key_label(trusted)
            ),
        )
    }
}

/// `NAME+HEX8` of a verifier key, how signed notes name keys; the key itself if malformed.
fn key_label(key: &str) -> String {
    let key = key.trim();
    let mut parts = key.splitn(3, '+');
    match (parts.next(), parts.next()) {
        (Some(name), Some(hash)) => format!("{name}+{hash}"),
        _ => key.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashMap;

    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::domain::checkpoint::LogSigner;
    use crate::domain::custody::{NewCustodyEvent, event_hash, next_event};
    use crate::domain::merkle::NodeId;

    const ORIGIN: &str = "canvass.example/log";
    const INDEX: u64 = 3;
    const SIZE: u64 = 6;

    fn signer() -> LogSigner {
        LogSigner::from_bytes(ORIGIN, &[9; 32])
    }

    fn entry(id: &str) -> String {
        serde_jcs::to_string(&json!({
            "id": id,
            "agency": "Springfield PD",
            "incident_type": "burglary",
            "details": "Back door forced",
            "published_at": "2026-01-02T03:04:05.000000Z",
        }))
        .unwrap()
    }

    /// A log of SIZE entries with ours at INDEX.
    fn tree(entry: &str) -> HashMap<NodeId, Hash> {
        let mut nodes = HashMap::new();
        for n in 0..SIZE {
            let data = if n == INDEX {
                entry.to_owned()
            } else {
                format!("{{\"id\":\"other-{n}\"}}")
            };
            for (id, h) in merkle::append(n, merkle::leaf_hash(data.as_bytes()), &nodes).unwrap() {
                nodes.insert(id, h);
            }
        }
        nodes
    }

    fn custody(evidence_id: &str, sha256: &str, size: u64) -> Vec<CustodyEvent> {
        let mut events: Vec<CustodyEvent> = Vec::new();
        let kinds = [
            (
                CustodyKind::Received,
                json!({"sha256": sha256, "size": size}),
            ),
            (
                CustodyKind::HashVerified,
                json!({"outcome": "match", "sha256": sha256}),
            ),
            (CustodyKind::Viewed, json!({})),
            (CustodyKind::Exported, json!({})),
        ];
        for (n, (kind, detail)) in (0_i64..).zip(kinds) {
            let e = next_event(
                evidence_id,
                events.last(),
                NewCustodyEvent {
                    kind,
                    actor_id: Some("u1".into()),
                    actor: "investigator a@pd.example".into(),
                    at: Utc.timestamp_opt(1_767_000_000 + n, 0).unwrap(),
                    source_ip: Some("192.0.2.1".into()),
                    reason: format!("step {n}"),
                    detail,
                },
            );
            events.push(e);
        }
        events
    }

    fn clip(n: u8) -> Vec<u8> {
        vec![n; 100 + usize::from(n)]
    }

    fn item(n: u8) -> ManifestItem {
        let bytes = clip(n);
        let sha = hex::encode(Sha256::digest(&bytes));
        let id = format!("ev-{n}");
        ManifestItem {
            file: format!("clips/{id}.mp4"),
            custody: custody(&id, &sha, bytes.len() as u64),
            evidence_id: id,
            sha256: sha,
            size: bytes.len() as u64,
            content_type: "video/mp4".into(),
            filename: Some("front.mp4".into()),
            started_at: "2026-01-01T21:00:00.000000Z".into(),
            ended_at: "2026-01-01T21:05:00.000000Z".into(),
            duration_ms: Some(300_000),
            media_created_at: None,
            device: ManifestDevice {
                name: "Front door".into(),
                lat: 40.0,
                lon: -75.0,
            },
            submission_id: "sub-1".into(),
            submitted_at: "2026-01-03T10:00:00.000000Z".into(),
            submitter: Submitter {
                display_name: "Jane D.".into(),
                home_address: "1 Elm St".into(),
                email: "jane@example.org".into(),
            },
        }
    }

    fn signed(size: u64, root: Hash) -> String {
        signer().sign(&Checkpoint {
            origin: ORIGIN.into(),
            size,
            root,
        })
    }

    fn manifest() -> Manifest {
        let entry = entry("req-1");
        let nodes = tree(&entry);
        let proof = merkle::inclusion_proof(INDEX, SIZE, &nodes).unwrap();
        let root = merkle::root(SIZE, &nodes).unwrap();
        Manifest {
            format: MANIFEST_FORMAT.into(),
            exported_at: "2026-01-04T00:00:00.000000Z".into(),
            exported_by: "investigator a@pd.example".into(),
            agency: ManifestAgency {
                id: "ag-1".into(),
                name: "Springfield PD".into(),
            },
            request: ManifestRequest {
                id: "req-1".into(),
                public_id: "pub-1".into(),
                log_index: INDEX,
                entry,
                inclusion_proof: InclusionProof::new(INDEX, SIZE, &proof),
                checkpoint: signed(SIZE, root),
                log_key: signer().verifier_key(),
            },
            items: vec![item(1), item(2)],
        }
    }

    fn files(m: &Manifest) -> BTreeMap<String, (String, u64)> {
        let mut files: BTreeMap<String, (String, u64)> = m
            .items
            .iter()
            .map(|i| (i.file.clone(), (i.sha256.clone(), i.size)))
            .collect();
        files.insert(MANIFEST_PATH.into(), ("whatever".into(), 1));
        files
    }

    fn problems(m: &Manifest, f: &BTreeMap<String, (String, u64)>) -> Vec<Problem> {
        verify_manifest(m, f, None)
    }

    /// Exactly one problem, about `what`, whose message holds `needle`.
    fn assert_one(problems: &[Problem], what: &str, needle: &str) {
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0].what, what, "{problems:#?}");
        assert!(
            problems[0].message.contains(needle),
            "{:?} lacks {needle:?}",
            problems[0].message
        );
    }

    #[test]
    fn a_valid_export_has_no_problems() {
        let m = manifest();
        assert_eq!(problems(&m, &files(&m)), vec![]);
        let key = signer().verifier_key();
        assert_eq!(verify_manifest(&m, &files(&m), Some(&key)), vec![]);
        // Every check is reported, passed ones too.
        let checks = check_manifest(&m, &files(&m), Some(&key));
        assert!(checks.iter().all(|c| c.outcome.is_ok()));
        for what in [
            "manifest",
            "clips/ev-1.mp4",
            "custody ev-2",
            "export",
            "request",
            "checkpoint",
            "inclusion proof",
            "log key",
        ] {
            assert!(checks.iter().any(|c| c.what == what), "{what}");
        }
    }

    #[test]
    fn manifest_round_trips_through_json_and_ignores_unknown_fields() {
        let m = manifest();
        let mut v = serde_json::to_value(&m).unwrap();
        v["future_field"] = json!(1);
        v["items"][0]["future_field"] = json!("x");
        v["items"][0].as_object_mut().unwrap().remove("filename");
        let back: Manifest = serde_json::from_value(v).unwrap();
        let mut expected = m;
        expected.items[0].filename = None;
        assert_eq!(back, expected);
    }

    #[test]
    fn wrong_format_is_a_problem() {
        let mut m = manifest();
        m.format = "canvass-evidence-export/9".into();
        assert_one(&problems(&m, &files(&m)), "manifest", "format");
    }

    #[test]
    fn changed_file_hash_is_a_problem() {
        let m = manifest();
        let mut f = files(&m);
        f.get_mut("clips/ev-1.mp4").unwrap().0 = hex::encode(Sha256::digest(b"other"));
        assert_one(&problems(&m, &f), "clips/ev-1.mp4", "SHA-256");
    }

    #[test]
    fn changed_file_size_is_a_problem() {
        let m = manifest();
        let mut f = files(&m);
        f.get_mut("clips/ev-2.mp4").unwrap().1 += 1;
        assert_one(&problems(&m, &f), "clips/ev-2.mp4", "size");
    }

    #[test]
    fn missing_file_is_a_problem() {
        let m = manifest();
        let mut f = files(&m);
        f.remove("clips/ev-1.mp4");
        assert_one(&problems(&m, &f), "clips/ev-1.mp4", "missing");
    }

    #[test]
    fn extra_file_is_a_problem() {
        let m = manifest();
        let mut f = files(&m);
        f.insert("clips/planted.mp4".into(), ("00".repeat(32), 5));
        assert_one(&problems(&m, &f), "clips/planted.mp4", "not listed");
    }

    #[test]
    fn manifest_hash_changed_with_the_clip_is_caught_by_custody() {
        // A swapped clip with its new hash written into the manifest: the received event
        // still holds the original hash.
        let mut m = manifest();
        let new_sha = hex::encode(Sha256::digest(b"swapped"));
        m.items[0].sha256.clone_from(&new_sha);
        let mut f = files(&m);
        f.insert(m.items[0].file.clone(), (new_sha, m.items[0].size));
        assert_one(&problems(&m, &f), "custody ev-1", "received event");
    }

    #[test]
    fn edited_custody_event_is_a_problem() {
        let mut m = manifest();
        m.items[1].custody[2].reason = "nothing to see".into();
        assert_one(&problems(&m, &files(&m)), "custody ev-2", "event 2");
        let mut m = manifest();
        m.items[0].custody[1].detail = json!({"outcome": "mismatch"});
        assert_one(&problems(&m, &files(&m)), "custody ev-1", "event 1");
        let mut m = manifest();
        m.items[0].custody[3].at = "2020-01-01T00:00:00.000000Z".into();
        assert_one(&problems(&m, &files(&m)), "custody ev-1", "event 3");
    }

    #[test]
    fn edited_received_hash_rehashed_still_breaks_the_chain() {
        let mut m = manifest();
        let e = &mut m.items[0].custody[0];
        e.detail["sha256"] = json!("ff".repeat(32));
        e.hash = event_hash(e);
        let p = problems(&m, &files(&m));
        assert!(
            p.iter()
                .any(|p| p.what == "custody ev-1" && p.message.contains("event 1")),
            "{p:#?}"
        );
        assert!(
            p.iter()
                .any(|p| p.what == "custody ev-1" && p.message.contains("received event")),
            "{p:#?}"
        );
    }

    #[test]
    fn removed_custody_event_is_a_problem() {
        let mut m = manifest();
        m.items[0].custody.remove(1);
        assert_one(&problems(&m, &files(&m)), "custody ev-1", "event 1");
        let mut m = manifest();
        m.items[0].custody.remove(0);
        let p = problems(&m, &files(&m));
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(p.iter().all(|p| p.what == "custody ev-1"));
    }

    #[test]
    fn changed_entry_is_a_problem() {
        let mut m = manifest();
        m.request.entry = m.request.entry.replace("Back door", "Front door");
        assert_one(
            &problems(&m, &files(&m)),
            "inclusion proof",
            "does not lead",
        );
    }

    #[test]
    fn entry_for_another_request_is_a_problem() {
        let mut m = manifest();
        m.request.id = "req-2".into();
        assert_one(&problems(&m, &files(&m)), "request", "req-1");
        let mut m = manifest();
        m.request.entry = "not json".into();
        let p = problems(&m, &files(&m));
        assert!(p.iter().any(|p| p.what == "request"), "{p:#?}");
        assert!(p.iter().any(|p| p.what == "inclusion proof"), "{p:#?}");
    }

    #[test]
    fn changed_proof_hash_is_a_problem() {
        let mut m = manifest();
        m.request.inclusion_proof.hashes[0] = STANDARD.encode([7_u8; 32]);
        assert_one(
            &problems(&m, &files(&m)),
            "inclusion proof",
            "does not lead",
        );
        let mut m = manifest();
        m.request.inclusion_proof.hashes.pop();
        assert_one(
            &problems(&m, &files(&m)),
            "inclusion proof",
            "does not lead",
        );
        let mut m = manifest();
        m.request.inclusion_proof.hashes[1] = "%%%".into();
        assert_one(&problems(&m, &files(&m)), "inclusion proof", "base64");
    }

    #[test]
    fn proof_for_another_index_is_a_problem() {
        let mut m = manifest();
        m.request.inclusion_proof.index = INDEX + 1;
        assert_one(&problems(&m, &files(&m)), "inclusion proof", "index");
        let mut m = manifest();
        m.request.log_index = INDEX + 1;
        m.request.inclusion_proof.index = INDEX + 1;
        assert_one(
            &problems(&m, &files(&m)),
            "inclusion proof",
            "does not lead",
        );
    }

    #[test]
    fn checkpoint_with_another_root_or_size_is_a_problem() {
        // Even signed by the real key, a checkpoint for another tree does not fit the proof.
        let mut m = manifest();
        m.request.checkpoint = signed(SIZE, [1; 32]);
        assert_one(
            &problems(&m, &files(&m)),
            "inclusion proof",
            "does not lead",
        );
        let nodes = tree(&m.request.entry);
        let mut m = manifest();
        m.request.checkpoint = signed(SIZE - 1, merkle::root(SIZE - 1, &nodes).unwrap());
        assert_one(&problems(&m, &files(&m)), "inclusion proof", "size");
    }

    #[test]
    fn edited_checkpoint_text_is_a_problem() {
        let mut m = manifest();
        m.request.checkpoint =
            m.request
                .checkpoint
                .replacen(&format!("\n{SIZE}\n"), &format!("\n{}\n", SIZE + 1), 1);
        let p = problems(&m, &files(&m));
        assert_eq!(p.len(), 2, "{p:#?}");
        assert_eq!(p[0].what, "checkpoint");
        assert!(p[0].message.contains("does not verify"));
        assert_eq!(p[1].what, "inclusion proof");
    }

    #[test]
    fn changed_signature_is_a_problem() {
        let mut m = manifest();
        let note = &m.request.checkpoint;
        let sig_start = note.rfind(' ').unwrap() + 1;
        let mut sig = STANDARD.decode(note[sig_start..].trim_end()).unwrap();
        sig[10] ^= 1;
        m.request.checkpoint = format!("{}{}\n", &note[..sig_start], STANDARD.encode(sig));
        let p = problems(&m, &files(&m));
        assert_eq!(p[0].what, "checkpoint", "{p:#?}");
        assert!(p[0].message.contains("does not verify"), "{p:#?}");
    }

    #[test]
    fn checkpoint_by_another_key_is_a_problem() {
        let mut m = manifest();
        let other = LogSigner::from_bytes(ORIGIN, &[8; 32]);
        let root = merkle::root(SIZE, &tree(&m.request.entry)).unwrap();
        m.request.checkpoint = other.sign(&Checkpoint {
            origin: ORIGIN.into(),
            size: SIZE,
            root,
        });
        let p = problems(&m, &files(&m));
        assert_eq!(p[0].what, "checkpoint", "{p:#?}");
    }

    #[test]
    fn wrong_trusted_key_is_a_problem() {
        // A forged export, consistent in itself, signed by the forger's own key.
        let m = manifest();
        let trusted = LogSigner::from_bytes(ORIGIN, &[8; 32]).verifier_key();
        assert_one(
            &verify_manifest(&m, &files(&m), Some(&trusted)),
            "log key",
            "not signed by the trusted log",
        );
        // White space around a key read from a file does not matter.
        let same = format!("{}\n", signer().verifier_key());
        assert_eq!(verify_manifest(&m, &files(&m), Some(&same)), vec![]);
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let mut m = manifest();
        m.format = "x".into();
        m.items[0].custody[1].reason = "edited".into();
        m.request.inclusion_proof.hashes[0] = STANDARD.encode([7_u8; 32]);
        let mut f = files(&m);
        f.remove("clips/ev-2.mp4");
        f.insert("extra.txt".into(), ("00".repeat(32), 1));
        let whats: Vec<String> = problems(&m, &f).into_iter().map(|p| p.what).collect();
        assert_eq!(
            whats,
            [
                "manifest",
                "custody ev-1",
                "clips/ev-2.mp4",
                "extra.txt",
                "inclusion proof"
            ]
        );
    }

    #[test]
    fn duplicate_items_are_a_problem() {
        let mut m = manifest();
        m.items.push(item(1));
        let p = problems(&m, &files(&m));
        assert!(p.iter().any(|p| p.what == "custody ev-1"), "{p:#?}");
        assert!(p.iter().any(|p| p.what == "clips/ev-1.mp4"), "{p:#?}");
    }
}
