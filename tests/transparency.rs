#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The public transparency log, end to end: requests are published through the API (an
//! investigator creates, a moderator approves), and the log is checked the way an outside
//! auditor would: the signed checkpoint, every entry's bytes, inclusion and consistency proofs,
//! bad proof requests, and the `canvass verify-log` command against the running server,
//! including a malicious operator who rewrites an entry behind the log's back.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use canvass::domain::Role;
use canvass::domain::checkpoint::{Checkpoint, LogSigner, verify_note};
use canvass::domain::merkle::{self, Hash};
use chrono::{Duration, Utc};
use common::requests::decide;
use common::{Session, TempDir, TestApp, clear_canvass_env, time};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const LOG: &str = "/api/v1/transparency";

/// The keys of a log entry, sorted as RFC 8785 sorts them.
const ENTRY_KEYS: [&str; 9] = [
    "agency",
    "area",
    "details",
    "footage_end",
    "footage_start",
    "id",
    "incident_type",
    "investigation_code",
    "published_at",
];

/// A small area (about 0.006° × 0.004°, some 0.08 square miles) inside the test jurisdiction;
/// `n` moves it around so requests differ.
fn area(n: u32) -> Value {
    let lon = -122.685 + 0.008 * f64::from(n % 6);
    let lat = 45.505 + 0.006 * f64::from((n / 6) % 4);
    let (e, north) = (lon + 0.006, lat + 0.004);
    json!({"type": "Polygon", "coordinates": [[[lon, lat], [e, lat], [e, north], [lon, north], [lon, lat]]]})
}

/// A valid request body: footage of two hours ending a few hours ago; a unique code.
fn request_body(n: u32) -> Value {
    let end = (Utc::now() - Duration::hours(3)).format("%Y-%m-%dT%H:%M:%SZ");
    let start = (Utc::now() - Duration::hours(5)).format("%Y-%m-%dT%H:%M:%SZ");
    let code = format!(
        "TL-{n}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    json!({
        "incident_type": "package_theft",
        "details": format!("A package was taken from a porch in the evening (case {n}). Footage of the sidewalk and driveways would help."),
        "footage_start": start.to_string(),
        "footage_end": end.to_string(),
        "investigator": {"name": "Det. A. Rivera", "phone": "+1-555-0100", "email": "arivera@pd.example"},
        "area": area(n),
        "investigation_code": code,
        "ongoing_threat": false,
        "suspects": [{"descriptors": {"sex": "male", "age": "20s"}, "distinctive_features": ["red hooded jacket", "black BMX bicycle"]}]
    })
}

/// The cast: an agency, one of its investigators, and a moderator.
struct Cast {
    agency_name: String,
    investigator: Session,
    moderator: Session,
}

async fn cast(t: &TestApp, agency_name: &str) -> Cast {
    let agency = t.agency(agency_name).await;
    Cast {
        agency_name: agency_name.to_owned(),
        investigator: t.account(Role::Investigator, Some(&agency)).await,
        moderator: t.account(Role::Moderator, None).await,
    }
}

/// Creates a request (201, pending review) and answers its body.
async fn create(t: &TestApp, c: &Cast, n: u32) -> Value {
    let r = t
        .post(
            "/api/v1/requests",
            Some(&c.investigator.token),
            request_body(n),
        )
        .await;
    r.expect(201, None);
    assert_eq!(r.body["status"], "pending_review", "{}", r.text);
    r.body.clone()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Approves a request and answers the published request.
async fn approve(t: &TestApp, c: &Cast, id: &str) -> Value {
    let r = decide(t, &c.moderator, id, json!({"decision": "approve"})).await;
    r.expect(200, None);
    assert_eq!(r.body["status"], "published", "{}", r.text);
    r.body.clone()
}

/// The verifier key, as served (trimmed of its final newline).
async fn key(t: &TestApp) -> String {
    let r = t.get(&format!("{LOG}/key"), None).await;
    r.expect(200, None);
    r.text.trim_end().to_owned()
}

/// The signed checkpoint: the note as served, and what it says once verified.
async fn checkpoint(t: &TestApp) -> (String, Checkpoint) {
    let r = t.get(&format!("{LOG}/checkpoint"), None).await;
    r.expect(200, None);
    let cp = verify_note(&r.text, &key(t).await).expect("the checkpoint verifies");
    (r.text, cp)
}

async fn entry(t: &TestApp, index: u64) -> String {
    let r = t.get(&format!("{LOG}/entries/{index}"), None).await;
    r.expect(200, None);
    r.text
}

fn unb64(s: &Value) -> Hash {
    STANDARD
        .decode(s.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn hashes(body: &Value) -> Vec<Hash> {
    body["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(unb64)
        .collect()
}

async fn inclusion(t: &TestApp, index: u64, size: u64) -> Vec<Hash> {
    let r = t
        .get(&format!("{LOG}/proof/inclusion/{index}?size={size}"), None)
        .await;
    r.expect(200, None);
    assert_eq!(r.body["index"], index, "{}", r.text);
    assert_eq!(r.body["size"], size, "{}", r.text);
    hashes(&r.body)
}

async fn consistency(t: &TestApp, from: u64, to: u64) -> Vec<Hash> {
    let r = t
        .get(
            &format!("{LOG}/proof/consistency?from={from}&to={to}"),
            None,
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body["from"], from, "{}", r.text);
    assert_eq!(r.body["to"], to, "{}", r.text);
    hashes(&r.body)
}

/// RFC 9162 §2.1.1 MTH, written out independently of the crate, from the leaves' bytes.
fn reference_root(entries: &[Vec<u8>]) -> Hash {
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = (n - 1).next_power_of_two().max(1);
                let k = if k >= n { k / 2 } else { k };
                let mut h = Sha256::new();
                h.update([1_u8]);
                h.update(mth(&leaves[..k]));
                h.update(mth(&leaves[k..]));
                h.finalize().into()
            }
        }
    }
    let leaves: Vec<Hash> = entries
        .iter()
        .map(|e| {
            let mut h = Sha256::new();
            h.update([0_u8]);
            h.update(e);
            h.finalize().into()
        })
        .collect();
    mth(&leaves)
}

/// Checks the whole log of `size` entries: the root from the entries' bytes matches the signed
/// root (by the crate and by the reference above), and every inclusion proof verifies.
async fn check_whole_log(t: &TestApp, cp: &Checkpoint) -> Vec<String> {
    let mut entries = Vec::new();
    for i in 0..cp.size {
        entries.push(entry(t, i).await);
    }
    let bytes: Vec<Vec<u8>> = entries.iter().map(|e| e.as_bytes().to_vec()).collect();
    assert_eq!(
        reference_root(&bytes),
        cp.root,
        "the entries hash to the signed root"
    );
    for (i, e) in entries.iter().enumerate() {
        let i = i as u64;
        let proof = inclusion(t, i, cp.size).await;
        assert!(
            merkle::verify_inclusion(
                &merkle::leaf_hash(e.as_bytes()),
                i,
                cp.size,
                &proof,
                &cp.root
            ),
            "inclusion of {i} in {}",
            cp.size
        );
    }
    entries
}

#[tokio::test]
async fn empty_log_has_a_signed_checkpoint_of_the_empty_tree() {
    common::announce("empty_log_has_a_signed_checkpoint_of_the_empty_tree");
    let t = TestApp::start().await;

    // The key: ORIGIN+HEX8+BASE64(0x01 ‖ 32-byte Ed25519 key), whose hash belongs to it.
    let r = t.get(&format!("{LOG}/key"), None).await;
    r.expect(200, None);
    let content_type = r.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(r.text.ends_with('\n'), "{:?}", r.text);
    let key_text = r.text.trim_end();
    let mut parts = key_text.splitn(3, '+');
    let (origin, hash_hex, key_b64) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    assert!(!origin.is_empty() && !origin.contains(char::is_whitespace));
    assert_eq!(hash_hex.len(), 8, "{key_text}");
    assert!(
        hash_hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{key_text}"
    );
    let key_bytes = STANDARD.decode(key_b64).unwrap();
    assert_eq!(key_bytes.len(), 33, "{key_text}");
    assert_eq!(key_bytes[0], 0x01, "the Ed25519 algorithm byte");
    let key_hash: [u8; 32] = Sha256::new()
        .chain_update(origin.as_bytes())
        .chain_update(b"\n")
        .chain_update(&key_bytes)
        .finalize()
        .into();
    let key_hash4 = format!(
        "{:02x}{:02x}{:02x}{:02x}",
        key_hash[0], key_hash[1], key_hash[2], key_hash[3]
    );
    assert_eq!(hash_hex, key_hash4);

    // The checkpoint: exactly three body lines, a blank line, one signature line.
    let r = t.get(&format!("{LOG}/checkpoint"), None).await;
    r.expect(200, None);
    let content_type = r.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let empty_root: Hash = Sha256::digest(b"").into();
    let body = format!("{origin}\n0\n{}\n", STANDARD.encode(empty_root));
    assert_eq!(
        body,
        format!("{origin}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
    );
    let sig_line = r
        .text
        .strip_prefix(&format!("{body}\n"))
        .unwrap_or_else(|| {
            panic!(
                "the checkpoint is not the body then a blank line: {:?}",
                r.text
            )
        });
    let sig_b64 = sig_line
        .strip_prefix(&format!("\u{2014} {origin} "))
        .and_then(|s| s.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("not one signature line: {sig_line:?}"));
    assert!(!sig_b64.contains(char::is_whitespace), "{sig_line:?}");
    let sig = STANDARD.decode(sig_b64).unwrap();
    assert_eq!(sig.len(), 68, "key hash (4) and Ed25519 signature (64)");
    assert_eq!(sig[..4], key_hash[..4]);

    // It verifies with the crate's verifier, and with Ed25519 directly over the body.
    let cp = verify_note(&r.text, key_text).expect("the checkpoint verifies");
    assert_eq!(cp.origin, origin);
    assert_eq!(cp.size, 0);
    assert_eq!(cp.root, empty_root);
    assert_eq!(cp.root, merkle::empty_root());
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes[1..].try_into().unwrap()).unwrap();
    let signature = ed25519_dalek::Signature::from_bytes(&sig[4..].try_into().unwrap());
    vk.verify_strict(body.as_bytes(), &signature)
        .expect("the signature is over the body with its final newline");

    // Nothing in it yet.
    t.get(&format!("{LOG}/entries/0"), None)
        .await
        .expect(404, Some("not_found"));
    let r = t
        .get(&format!("{LOG}/proof/consistency?from=0&to=0"), None)
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.text);
    r.expect(r.status.as_u16(), Some(r.code()));
    t.stop().await;
}

#[tokio::test]
async fn published_requests_are_logged_in_order_with_verifiable_proofs() {
    common::announce("published_requests_are_logged_in_order_with_verifiable_proofs");
    let t = TestApp::start().await;
    let c = cast(&t, "Riverton Police Department").await;
    let key = key(&t).await;
    const N: u64 = 5;

    // Publish one by one, keeping each checkpoint's root: roots[k] is the root at size k.
    let mut roots: Vec<Hash> = vec![checkpoint(&t).await.1.root];
    let mut published = Vec::new();
    for n in 0..N {
        let created = create(&t, &c, n as u32).await;
        let id = id_of(&created);
        assert!(created.get("log_index").is_none(), "{created}");
        let p = approve(&t, &c, &id).await;
        assert_eq!(p["log_index"], n, "log_index is the position: {p}");
        // The agency's view says the same.
        let r = t
            .get(
                &format!("/api/v1/requests/{id}"),
                Some(&c.investigator.token),
            )
            .await;
        r.expect(200, None);
        assert_eq!(r.body["log_index"], n);
        assert_eq!(r.body["published_at"], p["published_at"]);
        let (_, cp) = checkpoint(&t).await;
        assert_eq!(cp.size, n + 1);
        roots.push(cp.root);
        published.push(p);
    }
    let (note, cp) = checkpoint(&t).await;
    assert_eq!(cp.size, N);
    let entries = check_whole_log(&t, &cp).await;

    // Each entry: canonical JSON of the request as published.
    for (i, (text, p)) in entries.iter().zip(&published).enumerate() {
        let r = t.get(&format!("{LOG}/entries/{i}"), None).await;
        let content_type = r.headers["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let v: Value = serde_json::from_str(text).expect("an entry is JSON");
        assert_eq!(
            &serde_jcs::to_string(&v).unwrap(),
            text,
            "entry {i} is canonical JSON (RFC 8785)"
        );
        assert!(!text.contains('\n') && !text.contains(": ") && !text.contains(", "));
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ENTRY_KEYS, "entry {i}: {text}");
        assert_eq!(v["id"], p["id"]);
        assert_eq!(v["agency"], c.agency_name.as_str());
        assert_eq!(v["agency"], p["agency_name"]);
        assert_eq!(v["incident_type"], p["incident_type"]);
        assert_eq!(v["details"], p["details"]);
        assert_eq!(v["area"], p["area"]);
        assert_eq!(v["area"], area(i as u32));
        assert_eq!(v["investigation_code"], p["investigation_code"]);
        assert_eq!(time(&v["footage_start"]), time(&p["footage_start"]));
        assert_eq!(time(&v["footage_end"]), time(&p["footage_end"]));
        assert_eq!(
            time(&v["published_at"]),
            time(&p["published_at"]),
            "the logged publication time is the request's"
        );
        // Nothing of the investigator's contact or the suspects goes into the public log.
        assert!(
            !text.contains("arivera@pd.example") && !text.contains("BMX"),
            "{text}"
        );
    }

    // Consistency between every pair of the checkpoints seen along the way.
    for to in 1..=N {
        for from in 1..=to {
            let proof = consistency(&t, from, to).await;
            assert_eq!(proof.is_empty(), from == to);
            assert!(
                merkle::verify_consistency(
                    from,
                    to,
                    &roots[from as usize],
                    &roots[to as usize],
                    &proof
                ),
                "consistency {from} -> {to}"
            );
        }
    }

    // Tampering with anything is caught.
    let leaf = merkle::leaf_hash(entries[2].as_bytes());
    let proof = inclusion(&t, 2, N).await;
    assert!(merkle::verify_inclusion(&leaf, 2, N, &proof, &cp.root));
    let mut bytes = entries[2].clone().into_bytes();
    let at = entries[2].find("porch").unwrap();
    bytes[at] = b'P';
    assert!(
        !merkle::verify_inclusion(&merkle::leaf_hash(&bytes), 2, N, &proof, &cp.root),
        "a changed entry byte"
    );
    for k in 0..proof.len() {
        let mut bad = proof.clone();
        bad[k][7] ^= 0x01;
        assert!(
            !merkle::verify_inclusion(&leaf, 2, N, &bad, &cp.root),
            "a changed proof hash {k}"
        );
    }
    assert!(
        !merkle::verify_inclusion(&leaf, 3, N, &proof, &cp.root),
        "another index"
    );
    let mut bad_root = cp.root;
    bad_root[0] ^= 0x80;
    assert!(
        !merkle::verify_inclusion(&leaf, 2, N, &proof, &bad_root),
        "a changed root"
    );
    let cproof = consistency(&t, 2, N).await;
    assert!(!merkle::verify_consistency(
        2, N, &roots[2], &bad_root, &cproof
    ));
    assert!(!merkle::verify_consistency(
        2, N, &roots[3], &cp.root, &cproof
    ));
    let mut bad_cproof = cproof.clone();
    bad_cproof[0][31] ^= 0x01;
    assert!(!merkle::verify_consistency(
        2,
        N,
        &roots[2],
        &cp.root,
        &bad_cproof
    ));

    // The signed note: a changed signature, size or root does not verify.
    let (body, sig_line) = note.split_once("\n\n").unwrap();
    let (prefix, sig_b64) = sig_line.trim_end().rsplit_once(' ').unwrap();
    let mut sig = STANDARD.decode(sig_b64).unwrap();
    sig[20] ^= 0x01;
    let forged = format!("{body}\n\n{prefix} {}\n", STANDARD.encode(&sig));
    assert!(verify_note(&forged, &key).is_err(), "a changed signature");
    let forged = note.replacen(&format!("\n{N}\n"), &format!("\n{}\n", N + 1), 1);
    assert_ne!(forged, note);
    assert!(verify_note(&forged, &key).is_err(), "a changed size");
    let forged = note.replacen(&STANDARD.encode(cp.root), &STANDARD.encode(bad_root), 1);
    assert_ne!(forged, note);
    assert!(verify_note(&forged, &key).is_err(), "a changed root");
    let other_key = LogSigner::generate(cp.origin.clone()).verifier_key();
    assert!(verify_note(&note, &other_key).is_err(), "another key");
    t.stop().await;
}

#[tokio::test]
async fn bad_proof_and_entry_requests_answer_client_errors() {
    common::announce("bad_proof_and_entry_requests_answer_client_errors");
    let t = TestApp::start().await;
    let c = cast(&t, "Riverton Police Department").await;
    for n in 0..3 {
        let id = id_of(&create(&t, &c, n).await);
        approve(&t, &c, &id).await;
    }
    assert_eq!(checkpoint(&t).await.1.size, 3);

    // Sizes and indexes outside the log: 4xx with the error shape, never 500.
    let big = u64::MAX;
    let huge = format!("{big}0");
    for path in [
        "/proof/inclusion/3?size=3".to_owned(),
        "/proof/inclusion/5?size=3".to_owned(),
        "/proof/inclusion/0?size=0".to_owned(),
        "/proof/inclusion/0?size=4".to_owned(),
        "/proof/inclusion/2?size=99".to_owned(),
        format!("/proof/inclusion/0?size={big}"),
        format!("/proof/inclusion/{big}?size=3"),
        format!("/proof/inclusion/{}?size={big}", big - 1),
        "/proof/consistency?from=3&to=2".to_owned(),
        "/proof/consistency?from=0&to=2".to_owned(),
        "/proof/consistency?from=0&to=0".to_owned(),
        "/proof/consistency?from=1&to=4".to_owned(),
        format!("/proof/consistency?from=1&to={big}"),
        format!("/proof/consistency?from={big}&to={big}"),
    ] {
        let r = t.get(&format!("{LOG}{path}"), None).await;
        assert!(
            r.status.is_client_error(),
            "{path}: {} {}",
            r.status,
            r.text
        );
        r.expect(r.status.as_u16(), Some(r.code()));
    }
    t.get(&format!("{LOG}/proof/inclusion/3?size=3"), None)
        .await
        .expect(422, Some("invalid_proof_request"));
    t.get(&format!("{LOG}/proof/consistency?from=3&to=2"), None)
        .await
        .expect(422, Some("invalid_proof_request"));
    t.get(&format!("{LOG}/proof/consistency?from=1&to=4"), None)
        .await
        .expect(422, Some("invalid_proof_request"));

    // Entries beyond the log, and indexes that are no index.
    for path in [
        "/entries/3".to_owned(),
        "/entries/1000000".to_owned(),
        format!("/entries/{}", i64::MAX),
        format!("/entries/{big}"),
        format!("/entries/{huge}"),
        "/entries/-1".to_owned(),
        "/entries/abc".to_owned(),
        "/entries/1.5".to_owned(),
        "/entries/%00".to_owned(),
        "/proof/inclusion/abc?size=3".to_owned(),
        format!("/proof/inclusion/{huge}?size=3"),
    ] {
        let r = t.get(&format!("{LOG}{path}"), None).await;
        assert!(
            matches!(r.status.as_u16(), 400 | 404),
            "{path}: {} {}",
            r.status,
            r.text
        );
        r.expect(r.status.as_u16(), Some(r.code()));
    }
    t.get(&format!("{LOG}/entries/3"), None)
        .await
        .expect(404, Some("not_found"));

    // Query strings that do not parse: 400 invalid_query.
    for path in [
        "/proof/inclusion/0".to_owned(),
        "/proof/inclusion/0?size=".to_owned(),
        "/proof/inclusion/0?size=abc".to_owned(),
        "/proof/inclusion/0?size=-1".to_owned(),
        format!("/proof/inclusion/0?size={huge}"),
        "/proof/inclusion/0?size=3&extra=1".to_owned(),
        "/proof/consistency".to_owned(),
        "/proof/consistency?from=1".to_owned(),
        "/proof/consistency?to=3".to_owned(),
        "/proof/consistency?from=x&to=3".to_owned(),
    ] {
        t.get(&format!("{LOG}{path}"), None)
            .await
            .expect(400, Some("invalid_query"));
    }

    // The good ones still answer.
    inclusion(&t, 2, 3).await;
    consistency(&t, 1, 3).await;
    t.stop().await;
}

#[tokio::test]
async fn rejected_withdrawn_and_revised_requests_never_enter_the_log() {
    common::announce("rejected_withdrawn_and_revised_requests_never_enter_the_log");
    let t = TestApp::start().await;
    let c = cast(&t, "Riverton Police Department").await;
    let decide = |id: String, body: Value| {
        let (t, moderator) = (&t, &c.moderator);
        async move { decide(t, moderator, &id, body).await }
    };
    let size = async || checkpoint(&t).await.1.size;

    // Rejected.
    let rejected = id_of(&create(&t, &c, 0).await);
    let r = decide(
        rejected.clone(),
        json!({"decision": "reject", "reasons": ["other"], "note": "say more"}),
    )
    .await;
    r.expect(200, None);
    assert_eq!(r.body["status"], "rejected");
    assert!(r.body.get("log_index").is_none(), "{}", r.text);
    assert_eq!(size().await, 0);

    // Withdrawn while pending, and withdrawn after a rejection.
    let withdrawn = id_of(&create(&t, &c, 1).await);
    t.call(
        "DELETE",
        &format!("/api/v1/requests/{withdrawn}"),
        Some(&c.investigator.token),
        None,
    )
    .await
    .expect(204, None);
    let rejected_then_withdrawn = id_of(&create(&t, &c, 2).await);
    decide(
        rejected_then_withdrawn.clone(),
        json!({"decision": "reject", "reasons": ["incident_not_specific"]}),
    )
    .await
    .expect(200, None);
    t.call(
        "DELETE",
        &format!("/api/v1/requests/{rejected_then_withdrawn}"),
        Some(&c.investigator.token),
        None,
    )
    .await
    .expect(204, None);
    // A withdrawn request cannot be approved into the log afterwards.
    for id in [&withdrawn, &rejected_then_withdrawn, &rejected] {
        decide(id.clone(), json!({"decision": "approve"}))
            .await
            .expect(409, Some("request_not_pending"));
    }
    // A rejected one cannot be approved without being resubmitted.
    assert_eq!(size().await, 0);
    t.get(&format!("{LOG}/entries/0"), None)
        .await
        .expect(404, Some("not_found"));

    // Rejected, revised and resubmitted, then approved: it enters once, as revised.
    let mut revised_body = request_body(3);
    revised_body["details"] =
        json!("Revised: a package was taken from a porch; footage of the sidewalk would help.");
    t.call(
        "PUT",
        &format!("/api/v1/requests/{rejected}"),
        Some(&c.investigator.token),
        Some(revised_body.clone()),
    )
    .await
    .expect(200, None);
    let p = approve(&t, &c, &rejected).await;
    assert_eq!(p["log_index"], 0);
    assert_eq!(size().await, 1);
    let e: Value = serde_json::from_str(&entry(&t, 0).await).unwrap();
    assert_eq!(e["id"], rejected.as_str());
    assert_eq!(e["details"], revised_body["details"]);
    assert_eq!(e["investigation_code"], revised_body["investigation_code"]);

    // Once published: a second approval, a revision or a withdrawal changes nothing.
    decide(rejected.clone(), json!({"decision": "approve"}))
        .await
        .expect(409, Some("request_not_pending"));
    t.call(
        "PUT",
        &format!("/api/v1/requests/{rejected}"),
        Some(&c.investigator.token),
        Some(request_body(4)),
    )
    .await
    .expect(409, Some("request_immutable"));
    t.call(
        "DELETE",
        &format!("/api/v1/requests/{rejected}"),
        Some(&c.investigator.token),
        None,
    )
    .await
    .expect(409, Some("request_immutable"));
    let (_, cp) = checkpoint(&t).await;
    assert_eq!(cp.size, 1);
    let entries = check_whole_log(&t, &cp).await;
    let e: Value = serde_json::from_str(&entries[0]).unwrap();
    assert_eq!(e["details"], revised_body["details"]);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_approvals_take_distinct_consecutive_indexes() {
    common::announce("concurrent_approvals_take_distinct_consecutive_indexes");
    let t = TestApp::start().await;
    let c = cast(&t, "Riverton Police Department").await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(id_of(&create(&t, &c, n).await));
    }
    let decide =
        async |id: &str| decide(&t, &c.moderator, id, json!({"decision": "approve"})).await;
    let replies = tokio::join!(
        decide(&ids[0]),
        decide(&ids[1]),
        decide(&ids[2]),
        decide(&ids[3]),
        decide(&ids[4]),
        decide(&ids[5]),
    );
    let replies = [
        replies.0, replies.1, replies.2, replies.3, replies.4, replies.5,
    ];
    let mut failures = Vec::new();
    let mut by_index = std::collections::BTreeMap::new();
    for (id, r) in ids.iter().zip(&replies) {
        if r.status.as_u16() != 200 {
            failures.push(format!("{id}: {} {}", r.status, r.text));
            continue;
        }
        let index = r.body["log_index"].as_u64().unwrap();
        assert!(
            by_index.insert(index, id.clone()).is_none(),
            "index {index} given twice"
        );
    }
    assert!(
        failures.is_empty(),
        "concurrent approvals failed:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        by_index.keys().copied().collect::<Vec<_>>(),
        (0..6).collect::<Vec<_>>()
    );
    let (_, cp) = checkpoint(&t).await;
    assert_eq!(cp.size, 6);
    let entries = check_whole_log(&t, &cp).await;
    for (i, e) in entries.iter().enumerate() {
        let v: Value = serde_json::from_str(e).unwrap();
        assert_eq!(v["id"], by_index[&(i as u64)].as_str(), "entry {i}");
    }
    let logged: BTreeSet<String> = entries
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(e).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(logged, ids.iter().cloned().collect());
    t.stop().await;
}

/// What a `canvass verify-log` run printed.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `canvass verify-log --url BASE --state STATE` to the end, off the runtime's threads so
/// the server in this process keeps answering.
async fn verify_log(t: &TestApp, state: &Path) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_canvass"));
    cmd.args(["verify-log", "--url", &t.base, "--state"])
        .arg(state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    clear_canvass_env(&mut cmd);
    cmd.env_remove("RUST_LOG");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::task::spawn_blocking(move || cmd.output()),
    )
    .await
    .expect("verify-log finishes within 60 s")
    .unwrap()
    .expect("the binary runs");
    Run {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
fn assert_ok(run: &Run, size: u64) {
    assert!(
        run.success,
        "verify-log failed:\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout.starts_with(&format!("OK: {size} entries")),
        "{}",
        run.stdout
    );
}

#[track_caller]
fn assert_fails(run: &Run, says: &str) {
    assert!(
        !run.success,
        "verify-log passed but should not have:\nstdout: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains(says),
        "stderr does not say {says:?}: {}",
        run.stderr
    );
}

#[tokio::test]
async fn verify_log_checks_the_running_log_and_catches_a_rewritten_entry() {
    common::announce("verify_log_checks_the_running_log_and_catches_a_rewritten_entry");
    let t = TestApp::start().await;
    let c = cast(&t, "Riverton Police Department").await;
    let dir = TempDir(std::env::temp_dir().join(format!(
        "canvass-verify-log-{}",
        uuid::Uuid::new_v4().simple()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    let state = dir.0.join("state.json");

    // A monitor set up before anything is published.
    let run = verify_log(&t, &state).await;
    assert_ok(&run, 0);
    assert!(run.stdout.contains("first run"), "{}", run.stdout);

    let mut n = 0;
    let mut publish = async |count: u32| {
        for _ in 0..count {
            let id = id_of(&create(&t, &c, n).await);
            approve(&t, &c, &id).await;
            n += 1;
        }
    };
    publish(3).await;
    let run = verify_log(&t, &state).await;
    assert_ok(&run, 3);
    assert!(
        run.stdout
            .contains("consistent with the 0 entries seen last time"),
        "{}",
        run.stdout
    );
    publish(2).await;
    let run = verify_log(&t, &state).await;
    assert_ok(&run, 5);
    assert!(
        run.stdout
            .contains("consistent with the 3 entries seen last time"),
        "{}",
        run.stdout
    );
    // Nothing new: still OK.
    let run = verify_log(&t, &state).await;
    assert_ok(&run, 5);
    assert!(
        run.stdout.contains("consistent with the 5 entries"),
        "{}",
        run.stdout
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["size"], 5);
    assert_eq!(saved["key"], key(&t).await);
    assert_eq!(saved["root"], STANDARD.encode(checkpoint(&t).await.1.root));

    // A state file that saw another key: the log's key changed.
    let mut swapped = saved.clone();
    swapped["key"] = json!(LogSigner::generate("another.example/log").verifier_key());
    let swapped_state = dir.0.join("swapped.json");
    std::fs::write(&swapped_state, swapped.to_string()).unwrap();
    assert_fails(
        &verify_log(&t, &swapped_state).await,
        "verifier key changed",
    );

    // A state file that saw more entries than there are now: the log shrank.
    let mut longer = saved.clone();
    longer["size"] = json!(7);
    let longer_state = dir.0.join("longer.json");
    std::fs::write(&longer_state, longer.to_string()).unwrap();
    assert_fails(&verify_log(&t, &longer_state).await, "shrank");

    // A state file with the right size but another root: the log was rewritten.
    let mut other_root = saved.clone();
    other_root["root"] = json!(STANDARD.encode(merkle::leaf_hash(b"another log")));
    let other_root_state = dir.0.join("other-root.json");
    std::fs::write(&other_root_state, other_root.to_string()).unwrap();
    assert_fails(
        &verify_log(&t, &other_root_state).await,
        "is not an extension of the one seen at size 5",
    );

    // A malicious operator turns the append-only guard off and rewrites entry 1.
    let pool = t.app().db.pool();
    let disable = if common::backend() == "postgres" {
        "ALTER TABLE transparency_entries DISABLE TRIGGER transparency_entries_append_only"
    } else {
        "DROP TRIGGER transparency_entries_no_update"
    };
    // With the guard on, the rewrite is refused.
    let guarded = sqlx::query(
        "UPDATE transparency_entries SET entry = REPLACE(entry, 'porch', 'garage') WHERE idx = 1",
    )
    .execute(pool)
    .await;
    let err = guarded.expect_err("the append-only trigger refuses updates");
    assert!(err.to_string().contains("append-only"), "{err}");
    let mut refused = vec![
        "DELETE FROM transparency_entries WHERE idx = 4",
        "DELETE FROM transparency_nodes WHERE level = 0 AND idx = 4",
        "UPDATE transparency_nodes SET hash = hash WHERE level = 0 AND idx = 0",
    ];
    if common::backend() == "postgres" {
        refused.extend([
            "TRUNCATE transparency_entries",
            "TRUNCATE transparency_nodes",
            "TRUNCATE request_events",
        ]);
    }
    for sql in refused {
        let err = sqlx::query(sql)
            .execute(pool)
            .await
            .expect_err("the log's guard refuses it");
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    sqlx::query(disable).execute(pool).await.unwrap();
    let changed = sqlx::query(
        "UPDATE transparency_entries SET entry = REPLACE(entry, 'porch', 'garage') WHERE idx = 1",
    )
    .execute(pool)
    .await
    .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    assert!(entry(&t, 1).await.contains("garage"));

    // Its checkpoint is still signed, but the entries no longer hash to its root.
    let (_, cp) = checkpoint(&t).await;
    assert_eq!(cp.size, 5);
    assert_fails(
        &verify_log(&t, &state).await,
        "the entries do not hash to the signed root",
    );
    let fresh_state = dir.0.join("fresh.json");
    assert_fails(
        &verify_log(&t, &fresh_state).await,
        "the entries do not hash to the signed root",
    );
    assert!(!fresh_state.exists(), "a failed run saves no state");
    // The state seen before the rewrite stays as it was.
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(after, saved);
    t.stop().await;
}

#[tokio::test]
async fn log_entries_are_listed_newest_first_by_page_and_found_by_id_agency_or_incident() {
    common::announce(
        "log_entries_are_listed_newest_first_by_page_and_found_by_id_agency_or_incident",
    );
    let t = TestApp::start().await;
    let riverton = cast(&t, "Riverton Police Department").await;
    let fire = cast(&t, "Eastside 100% Fire_Rescue").await;
    let mut published = Vec::new();
    for (c, n) in [(&riverton, 1), (&fire, 2), (&riverton, 3), (&fire, 4)] {
        let id = id_of(&create(&t, c, n).await);
        published.push(approve(&t, c, &id).await);
    }
    let app = t.app();
    let indexes = |rows: &[(u64, String)]| rows.iter().map(|r| r.0).collect::<Vec<_>>();

    // Everything, newest first, a page at a time.
    let all = app.log_entries("", None, 10).await.unwrap();
    assert_eq!(indexes(&all), [3, 2, 1, 0]);
    assert_eq!(all[0].1, entry(&t, 3).await, "the entry exactly as hashed");
    let first = app.log_entries("", None, 2).await.unwrap();
    assert_eq!(indexes(&first), [3, 2]);
    let next = app.log_entries("", Some(2), 2).await.unwrap();
    assert_eq!(indexes(&next), [1, 0]);
    assert!(app.log_entries("", Some(0), 2).await.unwrap().is_empty());

    // By agency, case-insensitively; `%` and `_` are letters, not wildcards.
    let by_agency = app.log_entries("riverton police", None, 10).await.unwrap();
    assert_eq!(indexes(&by_agency), [2, 0]);
    assert_eq!(
        indexes(&app.log_entries("100% fire_", None, 10).await.unwrap()),
        [3, 1]
    );
    assert!(app.log_entries("100_", None, 10).await.unwrap().is_empty());
    assert_eq!(
        indexes(&app.log_entries("%", None, 10).await.unwrap()),
        [3, 1]
    );
    // By request id and by share link id.
    let id = published[1]["id"].as_str().unwrap();
    let public_id = published[1]["public_id"].as_str().unwrap();
    assert_eq!(indexes(&app.log_entries(id, None, 10).await.unwrap()), [1]);
    assert_eq!(
        indexes(&app.log_entries(public_id, None, 10).await.unwrap()),
        [1]
    );
    // By incident type, as a code or in words.
    let incident = published[0]["incident_type"].as_str().unwrap().to_owned();
    let in_words = incident.replace('_', " ").to_uppercase();
    assert_eq!(
        indexes(&app.log_entries(&in_words, None, 10).await.unwrap()).len(),
        4
    );
    assert!(
        app.log_entries("arson-xyz", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    t.stop().await;
}
