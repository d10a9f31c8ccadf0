//! `canvass verify-export`: the real binary on export ZIPs built here, intact and tampered.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

use canvass::domain::checkpoint::{Checkpoint, LogSigner};
use canvass::domain::custody::{CustodyEvent, CustodyKind, NewCustodyEvent, next_event};
use canvass::domain::export::{
    InclusionProof, MANIFEST_FORMAT, MANIFEST_PATH, Manifest, ManifestAgency, ManifestDevice,
    ManifestItem, ManifestRequest, Submitter,
};
use canvass::domain::merkle::{self, Hash, NodeId};

const ORIGIN: &str = "canvass.test/log";

fn signer() -> LogSigner {
    LogSigner::from_bytes(ORIGIN, &[3; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An export as the server would make it: the clips' bytes and the manifest.
#[derive(Clone)]
struct Fixture {
    clips: Vec<(String, Vec<u8>)>,
    manifest: Manifest,
}

fn custody(evidence_id: &str, sha256: &str, size: u64) -> Vec<CustodyEvent> {
    let steps = [
        (
            CustodyKind::Received,
            "resident Jane D.",
            json!({"sha256": sha256, "size": size}),
        ),
        (
            CustodyKind::HashVerified,
            "system (upload)",
            json!({"outcome": "match", "sha256": sha256}),
        ),
        (CustodyKind::Viewed, "investigator a@pd.example", json!({})),
        (
            CustodyKind::Exported,
            "investigator a@pd.example",
            json!({}),
        ),
    ];
    let mut events: Vec<CustodyEvent> = Vec::new();
    for (n, (kind, actor, detail)) in (0_i64..).zip(steps) {
        let e = next_event(
            evidence_id,
            events.last(),
            NewCustodyEvent {
                kind,
                actor_id: Some("u-1".into()),
                actor: actor.into(),
                at: Utc
                    .timestamp_opt(1_767_300_000 + n * 60, 123_456_000)
                    .unwrap(),
                source_ip: Some("198.51.100.4".into()),
                reason: format!("step {n}"),
                detail,
            },
        );
        events.push(e);
    }
    events
}

/// A log of six requests with ours, `entry`, at index 4; the proof and a signed checkpoint.
fn log_with(entry: &str) -> (u64, InclusionProof, String) {
    let (index, size) = (4, 6);
    let mut nodes: HashMap<NodeId, Hash> = HashMap::new();
    for n in 0..size {
        let data = if n == index {
            entry.to_owned()
        } else {
            format!("{{\"id\":\"req-other-{n}\"}}")
        };
        for (id, h) in merkle::append(n, merkle::leaf_hash(data.as_bytes()), &nodes).unwrap() {
            nodes.insert(id, h);
        }
    }
    let proof = merkle::inclusion_proof(index, size, &nodes).unwrap();
    let root = merkle::root(size, &nodes).unwrap();
    let note = signer().sign(&Checkpoint {
        origin: ORIGIN.into(),
        size,
        root,
    });
    (index, InclusionProof::new(index, size, &proof), note)
}

fn fixture() -> Fixture {
    // One clip larger than the reader's buffer, so hashing is seen to stream.
    let clips: Vec<(String, Vec<u8>)> = vec![
        (
            "ev-1".into(),
            b"CLIP-ONE-".iter().copied().cycle().take(200_000).collect(),
        ),
        ("ev-2".into(), b"CLIP-TWO".repeat(50)),
    ];
    let items = clips
        .iter()
        .map(|(id, bytes)| {
            let sha = hex(&Sha256::digest(bytes));
            let size = bytes.len() as u64;
            ManifestItem {
                evidence_id: id.clone(),
                file: format!("clips/{id}.mp4"),
                custody: custody(id, &sha, size),
                sha256: sha,
                size,
                content_type: "video/mp4".into(),
                filename: Some(format!("{id}.mp4")),
                started_at: "2026-01-01T21:00:00.000000Z".into(),
                ended_at: "2026-01-01T21:04:00.000000Z".into(),
                duration_ms: Some(240_000),
                media_created_at: Some("2026-01-01T21:00:00Z".into()),
                device: ManifestDevice {
                    name: "Porch camera".into(),
                    lat: 39.95,
                    lon: -75.16,
                },
                submission_id: "sub-1".into(),
                submitted_at: "2026-01-02T08:00:00.000000Z".into(),
                submitter: Submitter {
                    display_name: "Jane D.".into(),
                    home_address: "12 Elm Street".into(),
                    email: "jane@example.org".into(),
                },
            }
        })
        .collect();
    let entry = serde_jcs::to_string(&json!({
        "id": "req-1",
        "agency": "Springfield PD",
        "incident_type": "burglary",
        "details": "Rear door forced between 21:00 and 23:00",
        "footage_start": "2026-01-01T21:00:00.000000Z",
        "footage_end": "2026-01-01T23:00:00.000000Z",
        "investigation_code": "B-2026-001",
        "published_at": "2026-01-02T00:00:00.000000Z",
    }))
    .unwrap();
    let (log_index, inclusion_proof, checkpoint) = log_with(&entry);
    Fixture {
        clips,
        manifest: Manifest {
            format: MANIFEST_FORMAT.into(),
            exported_at: "2026-01-05T10:00:00.000000Z".into(),
            exported_by: "investigator a@pd.example".into(),
            agency: ManifestAgency {
                id: "ag-1".into(),
                name: "Springfield PD".into(),
            },
            request: ManifestRequest {
                id: "req-1".into(),
                public_id: "pub-1".into(),
                log_index,
                entry,
                inclusion_proof,
                checkpoint,
                log_key: signer().verifier_key(),
            },
            items,
        },
    }
}

/// A fresh path under the test's scratch directory.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify_export");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!(
        "{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Writes the export as the server does: stored entries, clips then the manifest.
fn write_zip(f: &Fixture, name: &str) -> PathBuf {
    let path = scratch(name);
    let mut zip = ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (id, bytes) in &f.clips {
        zip.start_file(format!("clips/{id}.mp4"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.start_file(MANIFEST_PATH, opts).unwrap();
    zip.write_all(&serde_json::to_vec_pretty(&f.manifest).unwrap())
        .unwrap();
    zip.finish().unwrap();
    path
}

struct Outcome {
    code: i32,
    output: String,
}

fn verify(path: &Path, key: Option<&str>) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_canvass"));
    cmd.arg("verify-export").arg(path);
    if let Some(key) = key {
        cmd.arg("--key").arg(key);
    }
    let out = cmd.output().unwrap();
    Outcome {
        code: out.status.code().unwrap(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Exit 1, with a FAIL line about `what` whose message holds `needle`.
fn assert_fails(o: &Outcome, what: &str, needle: &str) {
    assert_eq!(o.code, 1, "{}", o.output);
    let prefix = format!("FAIL  {what}:");
    assert!(
        o.output
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains(needle)),
        "no FAIL line for {what} saying {needle:?}:\n{}",
        o.output
    );
    assert!(o.output.contains("FAILED"), "{}", o.output);
}

#[test]
fn an_intact_export_passes() {
    let path = write_zip(&fixture(), "intact.zip");
    let o = verify(&path, None);
    assert_eq!(o.code, 0, "{}", o.output);
    assert!(o.output.contains("OK    clips/ev-1.mp4"), "{}", o.output);
    assert!(o.output.contains("OK    custody ev-2"), "{}", o.output);
    assert!(o.output.contains("OK    inclusion proof"), "{}", o.output);
    assert!(o.output.contains("OK    checkpoint"), "{}", o.output);
    assert!(o.output.contains("checks passed"), "{}", o.output);
    assert!(!o.output.contains("FAIL"), "{}", o.output);
    assert!(o.output.contains("without --key"), "{}", o.output);
}

#[test]
fn an_intact_export_passes_with_the_trusted_key_as_text_or_file() {
    let path = write_zip(&fixture(), "intact-key.zip");
    let key = signer().verifier_key();
    let o = verify(&path, Some(&key));
    assert_eq!(o.code, 0, "{}", o.output);
    assert!(o.output.contains("OK    log key"), "{}", o.output);
    let key_file = scratch("log.key");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let o = verify(&path, Some(&format!("@{}", key_file.display())));
    assert_eq!(o.code, 0, "{}", o.output);
}

#[test]
fn another_trusted_key_fails() {
    let path = write_zip(&fixture(), "other-key.zip");
    let other = LogSigner::from_bytes(ORIGIN, &[4; 32]).verifier_key();
    let o = verify(&path, Some(&other));
    assert_fails(&o, "log key", "not signed by the trusted log");
}

#[test]
fn changed_clip_bytes_fail() {
    let mut f = fixture();
    f.clips[0].1[1000] ^= 0xff;
    let o = verify(&write_zip(&f, "clip.zip"), None);
    assert_fails(&o, "clips/ev-1.mp4", "SHA-256");
}

#[test]
fn clip_bytes_changed_inside_the_zip_fail() {
    // Edited in place, so the ZIP's own checksum no longer matches either.
    let path = write_zip(&fixture(), "in-place.zip");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(8).position(|w| w == b"CLIP-TWO").unwrap();
    bytes[at + 3] = b'X';
    std::fs::write(&path, bytes).unwrap();
    let o = verify(&path, None);
    assert_fails(&o, "clips/ev-2.mp4", "SHA-256");
    assert!(
        o.output
            .contains("FAIL  clips/ev-2.mp4: the entry's bytes do not match its ZIP checksum"),
        "{}",
        o.output
    );
}

#[test]
fn edited_custody_event_fails() {
    let mut f = fixture();
    f.manifest.items[1].custody[2].actor = "nobody".into();
    let o = verify(&write_zip(&f, "custody-edit.zip"), None);
    assert_fails(&o, "custody ev-2", "event 2 was altered");
}

#[test]
fn removed_custody_event_fails() {
    let mut f = fixture();
    f.manifest.items[0].custody.remove(1);
    let o = verify(&write_zip(&f, "custody-removed.zip"), None);
    assert_fails(&o, "custody ev-1", "event 1");
}

#[test]
fn changed_inclusion_proof_fails() {
    let mut f = fixture();
    f.manifest.request.inclusion_proof.hashes[0] = STANDARD.encode([9_u8; 32]);
    let o = verify(&write_zip(&f, "proof.zip"), None);
    assert_fails(&o, "inclusion proof", "does not lead");
}

#[test]
fn changed_checkpoint_signature_fails() {
    let mut f = fixture();
    let note = &f.manifest.request.checkpoint;
    let start = note.rfind(' ').unwrap() + 1;
    let mut sig = STANDARD.decode(note[start..].trim_end()).unwrap();
    sig[20] ^= 1;
    f.manifest.request.checkpoint = format!("{}{}\n", &note[..start], STANDARD.encode(sig));
    let o = verify(&write_zip(&f, "signature.zip"), None);
    assert_fails(&o, "checkpoint", "does not verify");
}

#[test]
fn changed_request_entry_fails() {
    let mut f = fixture();
    f.manifest.request.entry = f.manifest.request.entry.replace("burglary", "robbery");
    let o = verify(&write_zip(&f, "entry.zip"), None);
    assert_fails(&o, "inclusion proof", "entry or the proof was altered");
}

#[test]
fn unlisted_file_fails() {
    let f = fixture();
    let path = scratch("extra.zip");
    let mut zip = ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (id, bytes) in &f.clips {
        zip.start_file(format!("clips/{id}.mp4"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.start_file("clips/planted.mp4", opts).unwrap();
    zip.write_all(b"planted").unwrap();
    zip.start_file(MANIFEST_PATH, opts).unwrap();
    zip.write_all(&serde_json::to_vec(&f.manifest).unwrap())
        .unwrap();
    zip.finish().unwrap();
    let o = verify(&path, None);
    assert_fails(&o, "clips/planted.mp4", "not listed");
}

#[test]
fn unreadable_exports_exit_2() {
    let not_zip = scratch("not.zip");
    std::fs::write(&not_zip, b"this is not a zip file").unwrap();
    let o = verify(&not_zip, None);
    assert_eq!(o.code, 2, "{}", o.output);
    assert!(o.output.contains("cannot be read as a ZIP"), "{}", o.output);

    let o = verify(&scratch("absent.zip"), None);
    assert_eq!(o.code, 2, "{}", o.output);

    let no_manifest = scratch("no-manifest.zip");
    let mut zip = ZipWriter::new(std::fs::File::create(&no_manifest).unwrap());
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    zip.start_file("clips/ev-1.mp4", opts).unwrap();
    zip.write_all(b"x").unwrap();
    zip.finish().unwrap();
    let o = verify(&no_manifest, None);
    assert_eq!(o.code, 2, "{}", o.output);
    assert!(o.output.contains("no manifest.json"), "{}", o.output);

    let bad_manifest = scratch("bad-manifest.zip");
    let mut zip = ZipWriter::new(std::fs::File::create(&bad_manifest).unwrap());
    zip.start_file(MANIFEST_PATH, opts).unwrap();
    zip.write_all(b"{\"format\": 1}").unwrap();
    zip.finish().unwrap();
    let o = verify(&bad_manifest, None);
    assert_eq!(o.code, 2, "{}", o.output);
    assert!(o.output.contains("is not a"), "{}", o.output);

    let path = write_zip(&fixture(), "missing-key-file.zip");
    let o = verify(&path, Some("@/nonexistent/canvass.key"));
    assert_eq!(o.code, 2, "{}", o.output);
}

#[test]
fn help_documents_the_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_canvass"))
        .args(["verify-export", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Exit codes"), "{text}");
    assert!(text.contains("--key"), "{text}");
}
