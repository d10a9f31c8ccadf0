#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The whole evidence path with blobs on a real S3-compatible server (moto, started by the
//! test): tus upload in chunks, playback, sharing (the evidence copy), export and
//! `verify-export`, the integrity sweep, and deletion — nothing written to the local disk.
//! Reported SKIPPED without `moto_server`, unless `CANVASS_REQUIRE_S3=1` (CI).

mod common;
#[path = "support/s3_server.rs"]
mod s3_server;

use base64::Engine;
use canvass::domain::Role;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::TestApp;
use s3_server::S3Server;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The resident's home and camera, inside the request's area.
const HOME: (f64, f64) = (45.515, -122.66);

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Starts a tus upload of `len` bytes with a device token; answers its URL.
async fn create_upload(
    t: &TestApp,
    token: &str,
    len: usize,
    start: DateTime<Utc>,
) -> reqwest::Response {
    let meta = format!(
        "started_at {},ended_at {},filename {}",
        b64(&ts(start)),
        b64(&ts(start + Duration::seconds(6))),
        b64("porch.mp4")
    );
    t.client
        .post(format!("{}/api/v1/uploads", t.base))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", len.to_string())
        .header("Upload-Metadata", meta)
        .send()
        .await
        .unwrap()
}

async fn patch(
    t: &TestApp,
    token: &str,
    url: &str,
    offset: usize,
    bytes: &[u8],
) -> reqwest::Response {
    t.client
        .patch(url)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
}

fn local_blob_files(t: &TestApp) -> Vec<std::path::PathBuf> {
    let root = t.app().settings.data_dir.join("blobs");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[tokio::test]
async fn the_evidence_path_works_end_to_end_with_blobs_on_s3() {
    common::announce("the_evidence_path_works_end_to_end_with_blobs_on_s3");
    let Some(s3) = S3Server::start("the_evidence_path_works_end_to_end_with_blobs_on_s3").await
    else {
        return;
    };
    let url = s3.blob_url("canvass");
    let t = TestApp::start_with(|a| a.blob_url = Some(url)).await;
    let agency = t.agency("Riverton Police Department").await;
    let investigator = t.account(Role::Investigator, Some(&agency)).await;
    let moderator = t.account(Role::Moderator, None).await;
    let resident = t.resident_at(HOME.0, HOME.1).await;

    // A published request over the resident's home.
    let end = Utc::now() - Duration::days(1);
    let r = t
        .post(
            "/api/v1/requests",
            Some(&investigator.token),
            json!({
                "incident_type": "package_theft",
                "details": "A package was taken from a porch. Doorbell or driveway footage of the street between these times would help.",
                "footage_start": ts(end - Duration::hours(2)),
                "footage_end": ts(end),
                "investigator": {"name": "Det. A. Rivera", "phone": "+1-555-0100", "email": "arivera@pd.example"},
                "area": {"type": "Polygon", "coordinates": [[[-122.663, 45.513], [-122.657, 45.513], [-122.657, 45.517], [-122.663, 45.517], [-122.663, 45.513]]]},
                "investigation_code": "S3-1",
                "ongoing_threat": false,
                "suspects": [{"descriptors": {"sex": "male", "age": "20s"}, "distinctive_features": ["red hooded jacket", "black BMX bicycle"]}]
            }),
        )
        .await;
    r.expect(201, None);
    let request_id = r.body["id"].as_str().unwrap().to_owned();
    t.post(
        &format!("/api/v1/moderation/requests/{request_id}/decision"),
        Some(&moderator.token),
        json!({"decision": "approve", "reasons": [], "note": "ok"}),
    )
    .await
    .expect(200, None);

    // A camera uploads the clip in two chunks.
    let cam = t
        .post(
            "/api/v1/devices",
            Some(&resident.token),
            json!({"name": "Porch", "location": {"lat": HOME.0, "lon": HOME.1}}),
        )
        .await;
    cam.expect(201, None);
    let device_token = cam.body["token"].as_str().unwrap().to_owned();
    let clip = fixture("porch-cam.mp4");
    let created = create_upload(&t, &device_token, clip.len(), end - Duration::minutes(30)).await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let upload_url = format!("{}{location}", t.base);
    let half = clip.len() / 2;
    assert_eq!(
        patch(&t, &device_token, &upload_url, 0, &clip[..half])
            .await
            .status(),
        204
    );
    let last = patch(&t, &device_token, &upload_url, half, &clip[half..]).await;
    assert_eq!(last.status(), 204);
    let recording_id = last.headers()["canvass-recording-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let rec = t
        .get(
            &format!("/api/v1/recordings/{recording_id}"),
            Some(&resident.token),
        )
        .await;
    rec.expect(200, None);
    assert_eq!(rec.body["sha256"], hex_sha256(&clip));
    assert_eq!(rec.body["content_type"], "video/mp4");
    let keys = s3.keys().await;
    assert!(
        keys.iter()
            .filter(|k| k.starts_with(&format!("canvass/uploads/{recording_id}/")))
            .count()
            == 2,
        "one object per PATCH under the prefix: {keys:?}"
    );

    // Playback with a Range, read across the two objects.
    let ranged = t
        .client
        .get(format!(
            "{}/api/v1/recordings/{recording_id}/content",
            t.base
        ))
        .bearer_auth(&resident.token)
        .header("Range", format!("bytes={}-{}", half - 10, half + 9))
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(
        ranged.bytes().await.unwrap().as_ref(),
        &clip[half - 10..half + 10]
    );

    // A file that is not video leaves nothing in the bucket.
    let text = fixture("not-a-video.mp4");
    let created = create_upload(&t, &device_token, text.len(), end - Duration::minutes(30)).await;
    let bad_url = format!(
        "{}{}",
        t.base,
        created.headers()["location"].to_str().unwrap()
    );
    let refused = patch(&t, &device_token, &bad_url, 0, &text).await;
    assert_eq!(refused.status(), 415);
    let bad_id = bad_url.rsplit('/').next().unwrap();
    assert!(
        !s3.keys().await.iter().any(|k| k.contains(bad_id)),
        "the refused upload's object is gone"
    );

    // Sharing copies the bytes into the agency's evidence, on S3 too.
    let shared = t
        .post(
            &format!("/api/v1/requests/{request_id}/submissions"),
            Some(&resident.token),
            json!({"recording_ids": [recording_id], "consent": true}),
        )
        .await;
    shared.expect(201, None);
    let evidence_id = shared.body["items"][0]["evidence_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(shared.body["items"][0]["sha256"], hex_sha256(&clip));
    assert!(
        s3.keys()
            .await
            .iter()
            .any(|k| k.starts_with("canvass/evidence/") && k.ends_with(&evidence_id)),
        "the evidence copy is in the bucket"
    );

    // The resident deletes the recording: its objects go, the evidence stays and plays.
    t.call(
        "DELETE",
        &format!("/api/v1/recordings/{recording_id}"),
        Some(&resident.token),
        None,
    )
    .await
    .expect(204, None);
    assert!(!s3.keys().await.iter().any(|k| k.contains(&recording_id)));
    let content = t
        .client
        .get(format!("{}/api/v1/evidence/{evidence_id}/content", t.base))
        .bearer_auth(&investigator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(content.status(), 200);
    assert_eq!(
        hex_sha256(&content.bytes().await.unwrap()),
        hex_sha256(&clip)
    );

    // Export from S3 and verify it offline.
    let zip = t
        .client
        .get(format!("{}/api/v1/requests/{request_id}/export", t.base))
        .bearer_auth(&investigator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    let path = t.app().settings.data_dir.join("s3-export.zip");
    std::fs::write(&path, zip.bytes().await.unwrap()).unwrap();
    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_canvass"))
        .arg("verify-export")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    std::fs::remove_file(&path).unwrap();

    // The integrity sweep reads the evidence back from S3.
    let report = t.app().integrity_sweep(t.app().now()).await.unwrap();
    assert_eq!((report.checked, report.matched), (1, 1), "{report:?}");

    assert!(
        local_blob_files(&t).is_empty(),
        "blobs written to the local disk: {:?}",
        local_blob_files(&t)
    );
    t.stop().await;
}
