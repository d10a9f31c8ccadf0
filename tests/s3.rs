#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The whole evidence path with blobs on a real S3-compatible server (moto, started by the
//! test): tus upload in chunks, playback, sharing (the evidence copy), export and
//! `verify-export`, the integrity sweep, and deletion — nothing written to the local disk.
//! Reported SKIPPED without `moto_server`, unless `CANVASS_REQUIRE_S3=1` (CI).

mod common;
#[path = "support/s3_server.rs"]
mod s3_server;

use canvass::domain::Role;
use chrono::{DateTime, Duration, Utc};
use common::tus::{Tus, header, metadata};
use common::{TestApp, files_under, fixture, sha256_hex, ts};
use s3_server::S3Server;
use serde_json::json;

/// The resident's home and camera, inside the request's area.
const HOME: (f64, f64) = (45.515, -122.66);

/// The upload's metadata: six seconds from `start`.
fn clip_metadata(start: DateTime<Utc>) -> String {
    metadata(&[
        ("started_at", &ts(start)),
        ("ended_at", &ts(start + Duration::seconds(6))),
        ("filename", "porch.mp4"),
    ])
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
    let tus = Tus::new(&t, &device_token);
    let location = tus
        .created(
            clip.len() as u64,
            &clip_metadata(end - Duration::minutes(30)),
        )
        .await;
    let half = clip.len() / 2;
    tus.patch(&location, 0, &clip[..half])
        .await
        .expect(204, None);
    let last = tus.patch(&location, half as u64, &clip[half..]).await;
    last.expect(204, None);
    let recording_id = header(&last, "canvass-recording-id").to_owned();
    let rec = t
        .get(
            &format!("/api/v1/recordings/{recording_id}"),
            Some(&resident.token),
        )
        .await;
    rec.expect(200, None);
    assert_eq!(rec.body["sha256"], sha256_hex(&clip));
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
    let bad_location = tus
        .created(
            text.len() as u64,
            &clip_metadata(end - Duration::minutes(30)),
        )
        .await;
    let refused = tus.patch(&bad_location, 0, &text).await;
    assert_eq!(refused.status, 415);
    let bad_id = bad_location.rsplit('/').next().unwrap();
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
    assert_eq!(shared.body["items"][0]["sha256"], sha256_hex(&clip));
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
        sha256_hex(&content.bytes().await.unwrap()),
        sha256_hex(&clip)
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
        files_under(&t.app().settings.data_dir.join("blobs")).is_empty(),
        "blobs written to the local disk: {:?}",
        files_under(&t.app().settings.data_dir.join("blobs"))
    );
    t.stop().await;
}
