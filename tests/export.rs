#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The evidence export (`GET /api/v1/requests/{id}/export`) and the integrity sweep, against
//! the real server with real uploads (tus) and shares, on SQLite or PostgreSQL; the export is
//! checked with the real `canvass verify-export` binary, intact and tampered.
//!
//! Decided here: a request that was never published answers 409 `request_not_published` to
//! its own agency (it has no log entry to prove it by), and 404 to everyone else.

mod common;

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use canvass::domain::Role;
use chrono::{DateTime, Duration, Utc};
use common::evidence::{chain_of_custody, kinds};
use common::requests::{approve, create, home_area, request_at};
use common::tus::{camera, upload_fixture, upload_recording};
use common::{AGENCY, HOME, Session, TestApp, fixture, sha256_hex};
use serde_json::{Value, json};
use zip::CompressionMethod;
use zip::ZipArchive;
use zip::write::{SimpleFileOptions, ZipWriter};

/// The resident's cameras, inside the request's area.
const PORCH: (f64, f64) = (45.5155, -122.6595);
const DRIVEWAY: (f64, f64) = (45.5152, -122.6601);
const NAME: &str = "Jordan Alvarez";
const ADDRESS: &str = "1207 Elm St, Riverton, OR 97214";

/// Publishes request `id`; answers its public id.
async fn publish(t: &TestApp, moderator: &Session, id: &str) -> String {
    let published = approve(t, moderator, id).await;
    published["public_id"].as_str().unwrap().to_owned()
}

/// An export as downloaded.
struct Download {
    status: u16,
    headers: reqwest::header::HeaderMap,
    /// The whole body, or the error that cut it off.
    body: Result<Vec<u8>, reqwest::Error>,
}

/// One agency with an investigator, another agency's investigator, a moderator, the admin,
/// and a resident who shared two clips (porch and driveway) with a published request.
struct World {
    t: TestApp,
    investigator: Session,
    moderator: Session,
    admin: Session,
    other_investigator: Session,
    resident: Session,
    request_id: String,
    public_id: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// Evidence ids of the porch and the driveway clip.
    porch: String,
    driveway: String,
}

impl World {
    async fn new() -> World {
        let t = TestApp::start().await;
        let agency = t.agency(AGENCY).await;
        let investigator = t.account(Role::Investigator, Some(&agency)).await;
        let moderator = t.account(Role::Moderator, None).await;
        let admin = t.account(Role::Admin, None).await;
        let other_agency = t.agency("Riverton Fire Department").await;
        let other_investigator = t.account(Role::Investigator, Some(&other_agency)).await;
        let end = Utc::now() - Duration::days(2);
        let start = end - Duration::hours(2);
        // Another request published first, so the log holds two entries and the proof of
        // ours is not empty.
        let first = create(
            &t,
            &other_investigator,
            request_at("FD-1", home_area(), end),
        )
        .await;
        publish(&t, &moderator, &first).await;
        let request_id = create(&t, &investigator, request_at("EX-1", home_area(), end)).await;
        let public_id = publish(&t, &moderator, &request_id).await;
        let resident = t.resident_named(HOME.0, HOME.1, NAME, ADDRESS).await;
        let mut w = World {
            t,
            investigator,
            moderator,
            admin,
            other_investigator,
            resident,
            request_id,
            public_id,
            start,
            end,
            porch: String::new(),
            driveway: String::new(),
        };
        let (porch_cam, _) = camera(&w.t, &w.resident, "Porch", PORCH).await;
        let (driveway_cam, _) = camera(&w.t, &w.resident, "Driveway", DRIVEWAY).await;
        let during = (
            w.start + Duration::minutes(30),
            w.start + Duration::minutes(36),
        );
        let porch = upload_fixture(&w.t, &w.resident, &porch_cam, "porch-cam.mp4", during).await;
        let driveway =
            upload_fixture(&w.t, &w.resident, &driveway_cam, "driveway-cam.mp4", during).await;
        let r =
            w.t.post(
                &format!("/api/v1/requests/{}/submissions", w.request_id),
                Some(&w.resident.token),
                json!({"recording_ids": [porch, driveway], "consent": true}),
            )
            .await;
        r.expect(201, None);
        let evidence_of = |recording: &str| {
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["recording_id"] == recording)
                .unwrap()["evidence_id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        w.porch = evidence_of(&porch);
        w.driveway = evidence_of(&driveway);
        w
    }

    fn export_path(&self, request_id: &str, query: &str) -> String {
        format!("/api/v1/requests/{request_id}/export{query}")
    }

    async fn download(&self, who: &Session, request_id: &str, query: &str) -> Download {
        let resp = self
            .t
            .client
            .get(format!(
                "{}{}",
                self.t.base,
                self.export_path(request_id, query)
            ))
            .bearer_auth(&who.token)
            .send()
            .await;
        // A connection cut before the head arrived counts as a broken download too.
        let resp = match resp {
            Ok(resp) => resp,
            Err(e) => {
                return Download {
                    status: 0,
                    headers: reqwest::header::HeaderMap::new(),
                    body: Err(e),
                };
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map(|b| b.to_vec());
        Download {
            status,
            headers,
            body,
        }
    }

    /// Downloads the export (200 and a complete body expected) and saves it under the data
    /// folder; answers the bytes and the file.
    async fn export_ok(&self, who: &Session, query: &str) -> (Vec<u8>, PathBuf) {
        let d = self.download(who, &self.request_id, query).await;
        assert_eq!(d.status, 200);
        let bytes = d.body.expect("a complete export");
        let path = self.scratch(&format!("export-{}.zip", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, &bytes).unwrap();
        (bytes, path)
    }

    /// Shares, as the resident, the porch clip with a 24 MiB `free` box after it: still a
    /// valid MP4, and about a hundred of the export's 256 KiB chunks. Answers the evidence id
    /// and the clip's bytes.
    async fn share_big_clip(&self) -> (String, Vec<u8>) {
        let mut big = fixture("porch-cam.mp4");
        let pad = 24 * 1024 * 1024_u32;
        big.extend_from_slice(&pad.to_be_bytes());
        big.extend_from_slice(b"free");
        big.resize(big.len() + pad as usize - 8, 0x5a);
        let (cam, _) = camera(&self.t, &self.resident, "Garage", PORCH).await;
        let during = (
            self.start + Duration::minutes(40),
            self.start + Duration::minutes(45),
        );
        let rec = upload_recording(
            &self.t,
            &self.resident,
            &cam,
            "garage.mp4",
            big.clone(),
            during,
        )
        .await;
        let r = self
            .t
            .post(
                &format!("/api/v1/requests/{}/submissions", self.request_id),
                Some(&self.resident.token),
                json!({"recording_ids": [rec], "consent": true}),
            )
            .await;
        r.expect(201, None);
        let evidence_id = r.body["items"][0]["evidence_id"]
            .as_str()
            .unwrap()
            .to_owned();
        (evidence_id, big)
    }

    async fn log_key(&self) -> String {
        let r = self.t.get("/api/v1/transparency/key", None).await;
        r.expect(200, None);
        r.text.trim().to_owned()
    }

    fn scratch(&self, name: &str) -> PathBuf {
        self.t.app().settings.data_dir.join(name)
    }

    /// Where an evidence item's bytes lie on disk (the default blob store: DATA_DIR/blobs).
    async fn blob_file(&self, evidence_id: &str) -> PathBuf {
        let item = self
            .t
            .app()
            .db
            .evidence_item(evidence_id)
            .await
            .unwrap()
            .unwrap();
        let path = self
            .t
            .app()
            .settings
            .data_dir
            .join("blobs")
            .join(&item.object_key);
        assert!(path.is_file(), "no blob at {}", path.display());
        path
    }
}

/// Every entry of a ZIP: name → bytes, in the ZIP's order.
fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            assert_eq!(f.compression(), CompressionMethod::Stored);
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().into_owned(), data)
        })
        .collect()
}

/// Writes a ZIP of `entries`, in order, as stored entries.
fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut zip = ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, data) in entries {
        zip.start_file(name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

fn manifest_of(entries: &[(String, Vec<u8>)]) -> Value {
    let (_, bytes) = entries.iter().find(|(n, _)| n == "manifest.json").unwrap();
    serde_json::from_slice(bytes).unwrap()
}

/// The same export with its manifest changed by `edit`.
fn with_manifest(
    entries: &[(String, Vec<u8>)],
    edit: impl FnOnce(&mut Value),
) -> Vec<(String, Vec<u8>)> {
    let mut m = manifest_of(entries);
    edit(&mut m);
    entries
        .iter()
        .map(|(n, d)| {
            if n == "manifest.json" {
                (n.clone(), serde_json::to_vec_pretty(&m).unwrap())
            } else {
                (n.clone(), d.clone())
            }
        })
        .collect()
}

/// Runs the real `canvass` binary.
fn canvass(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_canvass"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

fn verify(path: &Path, key: Option<&str>) -> Output {
    let file = path.to_str().unwrap();
    match key {
        Some(k) => canvass(&["verify-export", file, "--key", k]),
        None => canvass(&["verify-export", file]),
    }
}

fn stdout(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn export_holds_both_clips_and_a_manifest_that_verifies_offline_and_tampering_is_caught() {
    common::announce(
        "export_holds_both_clips_and_a_manifest_that_verifies_offline_and_tampering_is_caught",
    );
    let w = World::new().await;
    let d = w
        .download(
            &w.investigator,
            &w.request_id,
            "?reason=court%20filing%20for%20case%20EX-1",
        )
        .await;
    assert_eq!(d.status, 200);
    assert_eq!(d.headers["content-type"], "application/zip");
    assert_eq!(
        d.headers["content-disposition"],
        format!(
            "attachment; filename=\"canvass-evidence-{}.zip\"",
            w.public_id
        )
        .as_str()
    );
    let bytes = d.body.unwrap();
    let zip = entries(&bytes);
    let names: Vec<&str> = zip.iter().map(|(n, _)| n.as_str()).collect();
    let porch_file = format!("clips/{}.mp4", w.porch);
    let driveway_file = format!("clips/{}.mp4", w.driveway);
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&porch_file.as_str()), "{names:?}");
    assert!(names.contains(&driveway_file.as_str()), "{names:?}");
    assert_eq!(names[2], "manifest.json", "the manifest comes last");
    let clip = |name: &str| &zip.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(clip(&porch_file), &fixture("porch-cam.mp4"));
    assert_eq!(clip(&driveway_file), &fixture("driveway-cam.mp4"));

    let m = manifest_of(&zip);
    assert_eq!(m["format"], "canvass-evidence-export/1");
    assert_eq!(
        m["exported_by"],
        format!("investigator {}", w.investigator.email)
    );
    assert_eq!(m["agency"]["name"], AGENCY);
    assert_eq!(m["request"]["id"], w.request_id.as_str());
    assert_eq!(m["request"]["public_id"], w.public_id.as_str());
    assert_eq!(m["request"]["log_index"], 1);
    assert_eq!(m["request"]["inclusion_proof"]["size"], 2);
    assert_eq!(m["request"]["log_key"], w.log_key().await.as_str());
    let entry = w.t.get("/api/v1/transparency/entries/1", None).await;
    assert_eq!(m["request"]["entry"], entry.text.as_str());
    let checkpoint = w.t.get("/api/v1/transparency/checkpoint", None).await;
    assert_eq!(m["request"]["checkpoint"], checkpoint.text.as_str());

    let items = m["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for (evidence_id, file, fixture_name, device) in [
        (&w.porch, &porch_file, "porch-cam.mp4", "Porch"),
        (&w.driveway, &driveway_file, "driveway-cam.mp4", "Driveway"),
    ] {
        let item = items
            .iter()
            .find(|i| i["evidence_id"] == evidence_id.as_str())
            .unwrap();
        let bytes = fixture(fixture_name);
        assert_eq!(item["file"], file.as_str());
        assert_eq!(item["sha256"], sha256_hex(&bytes));
        assert_eq!(item["size"], bytes.len());
        assert_eq!(item["content_type"], "video/mp4");
        assert_eq!(item["filename"], fixture_name);
        assert_eq!(item["duration_ms"], 6000);
        assert_eq!(item["device"]["name"], device);
        assert_eq!(item["submitter"]["display_name"], NAME);
        assert_eq!(item["submitter"]["home_address"], ADDRESS);
        assert_eq!(item["submitter"]["email"], w.resident.email.as_str());
        assert!(item["submission_id"].is_string());
        assert!(item["submitted_at"].is_string());
        let custody = item["custody"].as_array().unwrap();
        let seen: Vec<&str> = custody
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(seen.first(), Some(&"received"));
        assert_eq!(seen.last(), Some(&"exported"), "{seen:?}");
        let exported = custody.last().unwrap();
        assert_eq!(exported["actor_id"], w.investigator.id.as_str());
        assert_eq!(exported["reason"], "court filing for case EX-1");
        assert_eq!(exported["detail"]["outcome"], "match");
        assert_eq!(exported["detail"]["sha256"], sha256_hex(&bytes));
        assert!(exported["detail"]["export"].is_string());
        assert!(exported["source_ip"].is_string());

        // The agency's own view of the chain shows the same `exported` event.
        let log = chain_of_custody(&w.t, &w.investigator, evidence_id).await;
        assert_eq!(log["chain_valid"], true);
        assert_eq!(kinds(&log).last().map(String::as_str), Some("exported"));
        assert_eq!(
            log["events"].as_array().unwrap().last().unwrap()["hash"],
            exported["hash"]
        );
    }

    // The export is audited.
    let audit = w.t.app().db.audit_page(None, 200).await.unwrap();
    assert!(
        audit.iter().any(|a| a.action == "evidence_export"
            && a.outcome == "success"
            && a.actor_id.as_deref() == Some(w.investigator.id.as_str())
            && a.target.as_deref() == Some(format!("request:{}", w.request_id).as_str())),
        "{audit:#?}"
    );

    // The real verifier passes, with and without the deployment's key.
    let path = w.scratch("export.zip");
    std::fs::write(&path, &bytes).unwrap();
    let o = verify(&path, None);
    assert!(o.status.success(), "{}", stdout(&o));
    let key = w.log_key().await;
    let o = verify(&path, Some(&key));
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("All "), "{}", stdout(&o));

    // A clip byte flipped.
    let mut tampered = zip.clone();
    let (_, data) = tampered.iter_mut().find(|(n, _)| *n == porch_file).unwrap();
    data[5000] ^= 0x01;
    let bad = w.scratch("flipped.zip");
    write_zip(&bad, &tampered);
    let o = verify(&bad, Some(&key));
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!("FAIL  {porch_file}")),
        "{}",
        stdout(&o)
    );

    // A custody event edited in the manifest.
    let driveway = w.driveway.clone();
    let tampered = with_manifest(&zip, |m| {
        let item = m["items"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|i| i["evidence_id"] == driveway.as_str())
            .unwrap();
        item["custody"][1]["reason"] = json!("nothing happened here");
    });
    let bad = w.scratch("custody.zip");
    write_zip(&bad, &tampered);
    let o = verify(&bad, Some(&key));
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!("FAIL  custody {}", w.driveway)),
        "{}",
        stdout(&o)
    );

    // The inclusion proof changed.
    let tampered = with_manifest(&zip, |m| {
        let h = m["request"]["inclusion_proof"]["hashes"][0]
            .as_str()
            .unwrap();
        let mut raw = STANDARD.decode(h).unwrap();
        raw[0] ^= 0x01;
        m["request"]["inclusion_proof"]["hashes"][0] = json!(STANDARD.encode(raw));
    });
    let bad = w.scratch("proof.zip");
    write_zip(&bad, &tampered);
    let o = verify(&bad, Some(&key));
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("FAIL  inclusion proof"),
        "{}",
        stdout(&o)
    );

    // The checkpoint's signature changed.
    let tampered = with_manifest(&zip, |m| {
        let note = m["request"]["checkpoint"].as_str().unwrap().to_owned();
        let at = note.rfind(' ').unwrap() + 1;
        let mut sig = STANDARD.decode(note[at..].trim_end()).unwrap();
        sig[10] ^= 0x01;
        m["request"]["checkpoint"] = json!(format!("{}{}\n", &note[..at], STANDARD.encode(sig)));
    });
    let bad = w.scratch("signature.zip");
    write_zip(&bad, &tampered);
    let o = verify(&bad, Some(&key));
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("FAIL  checkpoint"), "{}", stdout(&o));

    // A second export adds a second `exported` event to each chain; the first export still
    // verifies (its manifest holds the chain as it was).
    let (_, path2) = w.export_ok(&w.investigator, "").await;
    let o = verify(&path2, Some(&key));
    assert!(o.status.success(), "{}", stdout(&o));
    let log = chain_of_custody(&w.t, &w.investigator, &w.porch).await;
    let exported: Vec<&Value> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "exported")
        .collect();
    assert_eq!(exported.len(), 2);
    assert_eq!(exported[1]["reason"], "evidence export");
    assert_ne!(
        exported[0]["detail"]["export"],
        exported[1]["detail"]["export"]
    );
    let o = verify(&path, Some(&key));
    assert!(o.status.success(), "{}", stdout(&o));
    w.t.stop().await;
}

#[tokio::test]
async fn only_the_requests_agency_may_export_everyone_else_gets_404_before_any_byte() {
    common::announce("only_the_requests_agency_may_export_everyone_else_gets_404_before_any_byte");
    let w = World::new().await;
    let path = w.export_path(&w.request_id, "");
    for who in [&w.other_investigator, &w.resident, &w.moderator, &w.admin] {
        let r = w.t.get(&path, Some(&who.token)).await;
        r.expect(404, Some("not_found"));
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{:?} got {:?}",
            who.role,
            r.headers
        );
    }
    w.t.get(&path, None).await.expect(401, None);
    // An unknown request is the same 404.
    w.t.get(
        &w.export_path("no-such-request", ""),
        Some(&w.investigator.token),
    )
    .await
    .expect(404, Some("not_found"));
    // None of these recorded an export.
    for id in [&w.porch, &w.driveway] {
        assert!(
            !kinds(&chain_of_custody(&w.t, &w.investigator, id).await)
                .contains(&"exported".to_owned())
        );
    }
    // The agency's admin is of the agency.
    let agency = w.investigator.agency_id.clone().unwrap();
    let agency_admin = w.t.account(Role::AgencyAdmin, Some(&agency)).await;
    let d = w.download(&agency_admin, &w.request_id, "").await;
    assert_eq!(d.status, 200);
    assert_eq!(entries(&d.body.unwrap()).len(), 3);
    w.t.stop().await;
}

#[tokio::test]
async fn unpublished_request_answers_409_and_one_without_evidence_exports_a_manifest_only() {
    common::announce(
        "unpublished_request_answers_409_and_one_without_evidence_exports_a_manifest_only",
    );
    let w = World::new().await;
    let pending = create(
        &w.t,
        &w.investigator,
        request_at("EX-2", home_area(), w.end),
    )
    .await;
    let r =
        w.t.get(&w.export_path(&pending, ""), Some(&w.investigator.token))
            .await;
    r.expect(409, Some("request_not_published"));
    // To another agency, it does not exist.
    w.t.get(
        &w.export_path(&pending, ""),
        Some(&w.other_investigator.token),
    )
    .await
    .expect(404, Some("not_found"));

    // A reason over 500 characters is refused before anything is streamed.
    let long = "x".repeat(501);
    w.t.get(
        &w.export_path(&w.request_id, &format!("?reason={long}")),
        Some(&w.investigator.token),
    )
    .await
    .expect(422, Some("invalid_input"));

    publish(&w.t, &w.moderator, &pending).await;
    let d = w.download(&w.investigator, &pending, "").await;
    assert_eq!(d.status, 200);
    let bytes = d.body.unwrap();
    let zip = entries(&bytes);
    assert_eq!(zip.len(), 1);
    assert_eq!(zip[0].0, "manifest.json");
    let m = manifest_of(&zip);
    assert_eq!(m["items"], json!([]));
    assert_eq!(m["request"]["id"], pending.as_str());
    let path = w.scratch("empty.zip");
    std::fs::write(&path, &bytes).unwrap();
    let o = verify(&path, Some(&w.log_key().await));
    assert!(o.status.success(), "{}", stdout(&o));
    w.t.stop().await;
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn corrupted_evidence_fails_the_sweep_shows_in_metrics_and_stops_the_export() {
    common::announce("corrupted_evidence_fails_the_sweep_shows_in_metrics_and_stops_the_export");
    let w = World::new().await;
    let m = w.t.get("/metrics", None).await.text;
    assert_eq!(
        metric(&m, "canvass_evidence_integrity_failures"),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "canvass_evidence_integrity_last_run_timestamp_seconds"),
        Some(0.0),
        "{m}"
    );

    // A clean sweep: each item gets an `integrity_checked` event with outcome match.
    let report = w.t.app().integrity_sweep(w.t.app().now()).await.unwrap();
    assert_eq!(
        (
            report.checked,
            report.matched,
            report.mismatched,
            report.missing
        ),
        (2, 2, 0, 0)
    );
    let log = chain_of_custody(&w.t, &w.investigator, &w.porch).await;
    let last = log["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "integrity_checked");
    assert_eq!(last["actor"], "system (integrity sweep)");
    assert_eq!(last["actor_id"], Value::Null);
    assert_eq!(last["detail"]["outcome"], "match");
    assert_eq!(
        last["detail"]["sha256"],
        sha256_hex(&fixture("porch-cam.mp4"))
    );
    assert_eq!(
        last["detail"]["expected"],
        sha256_hex(&fixture("porch-cam.mp4"))
    );

    // One byte of the porch clip flipped on disk, the driveway clip gone.
    let porch = w.blob_file(&w.porch).await;
    let mut bytes = std::fs::read(&porch).unwrap();
    bytes[40_000] ^= 0x80;
    std::fs::write(&porch, &bytes).unwrap();
    let altered_sha = sha256_hex(&bytes);

    let report = w.t.app().integrity_sweep(w.t.app().now()).await.unwrap();
    assert_eq!(
        (
            report.checked,
            report.matched,
            report.mismatched,
            report.missing
        ),
        (2, 1, 1, 0)
    );
    assert!(!report.is_clean());
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].evidence_id, w.porch);
    let log = chain_of_custody(&w.t, &w.investigator, &w.porch).await;
    assert_eq!(log["chain_valid"], true);
    let last = log["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "integrity_checked");
    assert_eq!(last["detail"]["outcome"], "mismatch");
    assert_eq!(last["detail"]["sha256"], altered_sha);
    assert_eq!(
        last["detail"]["expected"],
        sha256_hex(&fixture("porch-cam.mp4"))
    );
    let m = w.t.get("/metrics", None).await.text;
    assert_eq!(
        metric(&m, "canvass_evidence_integrity_failures"),
        Some(1.0),
        "{m}"
    );
    let last_run = metric(&m, "canvass_evidence_integrity_last_run_timestamp_seconds").unwrap();
    assert!(
        (last_run - Utc::now().timestamp() as f64).abs() < 120.0,
        "{m}"
    );

    // The export stops at the altered clip: the download is cut off, nothing is recorded as
    // exported, and the failed check is in the chain.
    let d = w.download(&w.investigator, &w.request_id, "").await;
    assert!(
        d.body.is_err(),
        "an export with an altered clip must be cut off, not completed (status {})",
        d.status
    );
    let log = chain_of_custody(&w.t, &w.investigator, &w.porch).await;
    assert!(!kinds(&log).contains(&"exported".to_owned()), "{log}");
    let last = log["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "integrity_checked");
    assert_eq!(last["actor"], "system (evidence export)");
    assert_eq!(last["detail"]["outcome"], "mismatch");
    assert!(last["detail"]["export"].is_string());
    assert!(
        !kinds(&chain_of_custody(&w.t, &w.investigator, &w.driveway).await)
            .contains(&"exported".to_owned())
    );
    let audit = w.t.app().db.audit_page(None, 200).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "evidence_export" && a.outcome == "failure"),
        "{audit:#?}"
    );

    // A missing blob: the sweep says so, and the real `admin integrity-sweep` exits 1.
    std::fs::remove_file(w.blob_file(&w.driveway).await).unwrap();
    let settings = &w.t.app().settings;
    let o = canvass(&[
        "admin",
        "integrity-sweep",
        "--data-dir",
        settings.data_dir.to_str().unwrap(),
        "--database-url",
        &settings.database_url,
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("2 evidence item(s) checked: 0 matched, 1 mismatched, 1 missing"),
        "{out}"
    );
    assert!(
        out.contains(&format!("MISMATCH    evidence {}", w.porch)),
        "{out}"
    );
    assert!(
        out.contains(&format!("MISSING     evidence {}", w.driveway)),
        "{out}"
    );
    let log = chain_of_custody(&w.t, &w.investigator, &w.driveway).await;
    let last = log["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["detail"]["outcome"], "missing");
    assert_eq!(last["detail"]["sha256"], Value::Null);
    let m = w.t.get("/metrics", None).await.text;
    assert_eq!(
        metric(&m, "canvass_evidence_integrity_failures"),
        Some(2.0),
        "{m}"
    );

    // The bytes restored: the next sweep matches, and the figure goes back down.
    std::fs::write(&porch, fixture("porch-cam.mp4")).unwrap();
    let report = w.t.app().integrity_sweep(w.t.app().now()).await.unwrap();
    assert_eq!((report.matched, report.missing), (1, 1));
    let m = w.t.get("/metrics", None).await.text;
    assert_eq!(
        metric(&m, "canvass_evidence_integrity_failures"),
        Some(1.0),
        "{m}"
    );

    // The figure's table holds each item's latest check, exactly what the migration that
    // made it derives from the custody chains (its rebuild query, run here as it stands).
    let db = &w.t.app().db;
    let dir = match db.backend() {
        canvass::store::Backend::Sqlite => "sqlite",
        canvass::store::Backend::Postgres => "postgres",
    };
    let migration = std::fs::read_to_string(format!(
        "{}/migrations/{dir}/20261126000007_evidence_integrity.sql",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let rebuild = &migration[migration.find("SELECT c.evidence_id").unwrap()..];
    let query = format!(
        "SELECT evidence_id, seq, outcome FROM ({}) AS latest ORDER BY evidence_id",
        rebuild.trim().trim_end_matches(';')
    );
    let kept: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT evidence_id, seq, outcome FROM evidence_integrity ORDER BY evidence_id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let derived: Vec<(String, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(query))
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(kept, derived);
    assert_eq!(kept.len(), 2, "{kept:?}");
    w.t.stop().await;
}

#[tokio::test]
async fn the_sweep_runs_when_due_and_a_restart_does_not_run_it_again() {
    common::announce("the_sweep_runs_when_due_and_a_restart_does_not_run_it_again");
    let mut w = World::new().await;
    let app = w.t.app().clone();
    // Never run: due.
    let report = canvass::jobs::integrity::sweep_if_due(&app).await.unwrap();
    assert_eq!(report.map(|r| r.checked), Some(2));
    // Just ran: not due, before or after a restart.
    assert_eq!(
        canvass::jobs::integrity::sweep_if_due(&app).await.unwrap(),
        None
    );
    w.t.restart().await;
    let app = w.t.app().clone();
    assert_eq!(
        canvass::jobs::integrity::sweep_if_due(&app).await.unwrap(),
        None
    );
    // Of two instances that both saw it due, only the first to claim runs it.
    let job = canvass::app::export::INTEGRITY_SWEEP_JOB;
    let last = app.db.job_last_run(job).await.unwrap().unwrap();
    let later = last + Duration::days(8);
    let due_before = later - Duration::days(7);
    assert!(app.db.claim_job_run(job, later, due_before).await.unwrap());
    assert!(!app.db.claim_job_run(job, later, due_before).await.unwrap());
    app.db.release_job_run(job, Some(last)).await.unwrap();
    assert_eq!(app.db.job_last_run(job).await.unwrap(), Some(last));
    // Read from the database: a week on, the staff session has long ended.
    let checks = |events: Vec<canvass::domain::custody::CustodyEvent>| {
        events
            .iter()
            .filter(|e| e.kind == canvass::domain::custody::CustodyKind::IntegrityChecked)
            .count()
    };
    assert_eq!(checks(app.db.custody_events(&w.porch).await.unwrap()), 1);
    // Not quite a week later: not due yet; a week later: due again.
    app.advance_clock(Duration::days(7) - Duration::minutes(5));
    assert_eq!(
        canvass::jobs::integrity::sweep_if_due(&app).await.unwrap(),
        None
    );
    app.advance_clock(Duration::minutes(5));
    let report = canvass::jobs::integrity::sweep_if_due(&app).await.unwrap();
    assert_eq!(report.map(|r| r.matched), Some(2));
    assert_eq!(checks(app.db.custody_events(&w.porch).await.unwrap()), 2);
    w.t.stop().await;
}

#[tokio::test]
async fn a_clip_of_many_chunks_streams_through_whole_and_verifies() {
    common::announce("a_clip_of_many_chunks_streams_through_whole_and_verifies");
    let w = World::new().await;
    let (evidence_id, big) = w.share_big_clip().await;
    let (bytes, path) = w.export_ok(&w.investigator, "").await;
    let zip = entries(&bytes);
    assert_eq!(zip.len(), 4);
    let (_, clip) = zip
        .iter()
        .find(|(n, _)| *n == format!("clips/{evidence_id}.mp4"))
        .unwrap();
    assert_eq!(clip.len(), big.len());
    assert!(clip == &big, "the large clip differs");
    let o = verify(&path, Some(&w.log_key().await));
    assert!(o.status.success(), "{}", stdout(&o));
    w.t.stop().await;
}

#[tokio::test]
async fn exports_past_the_limit_wait_with_429_and_a_slot_frees_when_a_client_leaves() {
    common::announce("exports_past_the_limit_wait_with_429_and_a_slot_frees_when_a_client_leaves");
    let w = World::new().await;
    w.share_big_clip().await;
    let limit = w.t.app().settings.max_concurrent_exports as usize;
    assert_eq!(limit, 4, "the default");
    let url = format!("{}{}", w.t.base, w.export_path(&w.request_id, ""));
    let open = || {
        w.t.client
            .get(&url)
            .bearer_auth(&w.investigator.token)
            .send()
    };
    // `limit` exports under way: their heads are read, their 24 MiB bodies are not, so each
    // writer waits on its client and keeps its slot.
    let mut held = Vec::new();
    for _ in 0..limit {
        let r = open().await.unwrap();
        assert_eq!(r.status(), 200);
        held.push(r);
    }
    let refused = open().await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(retry_after.parse::<u64>().unwrap() > 0, "{retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_exports", "{body}");

    // One client goes away: its export stops and its slot is given back.
    drop(held.pop());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = open().await.unwrap();
        if r.status() == 200 {
            let bytes = r.bytes().await.unwrap();
            assert!(entries(&bytes).len() >= 4, "a whole export");
            break;
        }
        assert_eq!(r.status(), 429);
        assert!(
            std::time::Instant::now() < deadline,
            "no slot came free after a client left"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    drop(held);
    w.t.stop().await;
}
