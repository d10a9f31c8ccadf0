#![allow(clippy::unwrap_used, clippy::expect_used)]
//! tus 1.0 uploads end to end against the real server, real fixture videos and the real blob
//! store on disk: discovery, creation (with upload), chunked uploads with a camera's token,
//! checksums, every refusal, termination, expiry, resuming after a dropped connection and after
//! a restart, and the recordings that finished uploads become (list, playback with ranges,
//! deletion), each visible to its owner alone.

mod common;

use std::path::PathBuf;
use std::time::{Duration as StdDuration, Instant};

use canvass::domain::Role;
use chrono::{DateTime, Duration, Utc};
use common::tus::{Tus, b64, camera, header, metadata, offset};
use common::{HOME, Session, TestApp, count_for, files_under, fixture, sha256_hex, ts};
use serde_json::json;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// A valid recording's metadata: five minutes that ended an hour ago, from `device_id` (when
/// given), with `filename`.
fn recording_meta(device_id: Option<&str>, filename: &str) -> String {
    let end = Utc::now() - Duration::hours(1);
    let (start, end) = (ts(end - Duration::minutes(5)), ts(end));
    let mut pairs = vec![
        ("started_at", start.as_str()),
        ("ended_at", end.as_str()),
        ("filename", filename),
    ];
    if let Some(d) = device_id {
        pairs.push(("device_id", d));
    }
    metadata(&pairs)
}

/// A resident with a camera at home.
struct Owner {
    resident: Session,
    device_id: String,
    device_token: String,
}

async fn owner(t: &TestApp) -> Owner {
    let resident = t.resident_at(HOME.0, HOME.1).await;
    let (device_id, device_token) = camera(t, &resident, "Porch", HOME).await;
    Owner {
        resident,
        device_id,
        device_token,
    }
}

fn id_of(location: &str) -> &str {
    location.rsplit('/').next().unwrap()
}

/// Rows about upload `id`: (uploads, blob_segments, recordings).
async fn rows(t: &TestApp, id: &str) -> (i64, i64, i64) {
    (
        count_for(t, "SELECT COUNT(*) FROM uploads WHERE id = $1", id).await,
        count_for(
            t,
            "SELECT COUNT(*) FROM blob_segments WHERE blob_id = $1",
            id,
        )
        .await,
        count_for(t, "SELECT COUNT(*) FROM recordings WHERE id = $1", id).await,
    )
}

/// Every file the blob store holds for upload `id`.
fn blob_files(t: &TestApp, id: &str) -> Vec<PathBuf> {
    let dir = t
        .app()
        .settings
        .data_dir
        .join("blobs")
        .join("uploads")
        .join(id);
    files_under(&dir)
}

// ---------------------------------------------------------------------------------------------
// Discovery and protocol version

#[tokio::test]
async fn options_announce_the_protocol_and_its_limits() {
    common::announce("options_announce_the_protocol_and_its_limits");
    let t = TestApp::start().await;
    let r = t
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/uploads", t.base),
        )
        .send()
        .await
        .unwrap();
    let r = TestApp::reply(r).await;
    r.expect(204, None);
    assert_eq!(header(&r, "tus-resumable"), "1.0.0");
    assert_eq!(header(&r, "tus-version"), "1.0.0");
    assert_eq!(
        header(&r, "tus-extension"),
        "creation,creation-with-upload,termination,checksum,expiration"
    );
    assert_eq!(header(&r, "tus-max-size"), (4_u64 << 30).to_string());
    assert_eq!(header(&r, "tus-checksum-algorithm"), "sha1,sha256");
    t.stop().await;
}

#[tokio::test]
async fn requests_without_tus_1_0_0_answer_412_and_every_answer_says_the_version() {
    common::announce("requests_without_tus_1_0_0_answer_412_and_every_answer_says_the_version");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    for version in [None, Some("0.2.2")] {
        let mut r = t
            .client
            .post(format!("{}/api/v1/uploads", t.base))
            .bearer_auth(&o.device_token)
            .header("Upload-Length", "10")
            .header("Upload-Metadata", recording_meta(None, "a.mp4"));
        if let Some(v) = version {
            r = r.header("Tus-Resumable", v);
        }
        let r = TestApp::reply(r.send().await.unwrap()).await;
        r.expect(412, Some("tus_version_unsupported"));
        assert_eq!(header(&r, "tus-version"), "1.0.0");
        assert_eq!(header(&r, "tus-resumable"), "1.0.0");
    }
    // Errors carry the header too, in the JSON error shape.
    let tus = Tus::new(&t, &o.device_token);
    // (HEAD answers have no body, so only the status and headers can be checked.)
    let r = tus.head("/api/v1/uploads/nope").await;
    r.expect(404, None);
    assert_eq!(header(&r, "tus-resumable"), "1.0.0");
    let r = Tus::new(&t, "cvd_not-a-token").create(10, "").await;
    r.expect(401, Some("unauthenticated"));
    assert_eq!(header(&r, "tus-resumable"), "1.0.0");
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Uploads that become recordings

#[tokio::test]
async fn a_camera_uploads_in_chunks_and_the_recording_matches_the_file() {
    common::announce("a_camera_uploads_in_chunks_and_the_recording_matches_the_file");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let file = fixture("porch-cam.mp4");
    let tus = Tus::new(&t, &o.device_token);
    // No device_id: the token says which camera.
    let meta = recording_meta(None, "porch 2026-11-20.mp4");
    let (location, last) = tus.upload(&file, &meta, 20_000).await;
    last.expect(204, None);
    assert_eq!(offset(&last), file.len() as u64);
    let id = id_of(&location).to_owned();
    assert_eq!(header(&last, "canvass-recording-id"), id);

    // HEAD on the finished upload: complete.
    let h = tus.head(&location).await;
    h.expect(200, None);
    assert_eq!(offset(&h), file.len() as u64);
    assert_eq!(header(&h, "upload-length"), file.len().to_string());
    assert_eq!(header(&h, "cache-control"), "no-store");

    let r = t
        .get(&format!("/api/v1/recordings/{id}"), Some(&o.resident.token))
        .await;
    r.expect(200, None);
    assert_eq!(r.body["sha256"], sha256_hex(&file));
    assert_eq!(r.body["size"], file.len() as u64);
    assert_eq!(r.body["content_type"], "video/mp4");
    assert_eq!(r.body["duration_ms"], 6000);
    assert_eq!(r.body["media_created_at"], "2026-11-20T21:30:00Z");
    assert_eq!(r.body["filename"], "porch 2026-11-20.mp4");
    assert_eq!(r.body["device_id"], o.device_id);
    assert_eq!(r.body["device_name"], "Porch");
    // The upload row is gone; the recording kept the segments.
    assert_eq!(rows(&t, &id).await, (0, 4, 1));
    t.stop().await;
}

#[tokio::test]
async fn a_resident_uploads_a_moov_at_the_end_mp4_in_one_post() {
    common::announce("a_resident_uploads_a_moov_at_the_end_mp4_in_one_post");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let file = fixture("driveway-cam.mp4");
    let tus = Tus::new(&t, &o.resident.token);
    let r = tus
        .create_with(
            file.len() as u64,
            &recording_meta(Some(&o.device_id), "driveway.mp4"),
            file.clone(),
        )
        .await;
    r.expect(201, None);
    assert_eq!(offset(&r), file.len() as u64);
    let id = header(&r, "canvass-recording-id").to_owned();
    assert_eq!(header(&r, "location"), format!("/api/v1/uploads/{id}"));
    let rec = t
        .get(&format!("/api/v1/recordings/{id}"), Some(&o.resident.token))
        .await;
    rec.expect(200, None);
    assert_eq!(rec.body["sha256"], sha256_hex(&file));
    assert_eq!(rec.body["duration_ms"], 6000);
    assert_eq!(rec.body["media_created_at"], "2026-11-20T22:05:00Z");
    t.stop().await;
}

#[tokio::test]
async fn webm_and_mpeg_ts_are_accepted() {
    common::announce("webm_and_mpeg_ts_are_accepted");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let tus = Tus::new(&t, &o.device_token);
    for (name, content_type) in [
        ("garage-cam.webm", "video/webm"),
        ("street-cam.ts", "video/mp2t"),
    ] {
        let file = fixture(name);
        let (location, last) = tus.upload(&file, &recording_meta(None, name), 7_000).await;
        last.expect(204, None);
        let id = id_of(&location);
        let rec = t
            .get(&format!("/api/v1/recordings/{id}"), Some(&o.resident.token))
            .await;
        rec.expect(200, None);
        assert_eq!(rec.body["content_type"], content_type, "{name}");
        assert_eq!(rec.body["sha256"], sha256_hex(&file), "{name}");
        assert!(rec.body["duration_ms"].is_null());
    }
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Checksums, offsets and content types

#[tokio::test]
async fn checksums_are_checked_per_request() {
    common::announce("checksums_are_checked_per_request");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let file = fixture("porch-cam.mp4");
    let tus = Tus::new(&t, &o.device_token);
    let location = tus
        .created(file.len() as u64, &recording_meta(None, "p.mp4"))
        .await;
    let octet = "application/offset+octet-stream";
    let (a, rest) = file.split_at(30_000);
    let (b, c) = rest.split_at(30_000);

    // A wrong SHA-1: 460, and the offset does not move.
    let wrong = format!("sha1 {}", b64(&Sha1::digest(b"something else")));
    let r = tus
        .patch_as(&location, 0, a.to_vec(), Some(&wrong), octet)
        .await;
    r.expect(460, Some("checksum_mismatch"));
    assert_eq!(header(&r, "tus-resumable"), "1.0.0");
    assert_eq!(offset(&tus.head(&location).await), 0);
    // A right SHA-1.
    let right = format!("sha1 {}", b64(&Sha1::digest(a)));
    tus.patch_as(&location, 0, a.to_vec(), Some(&right), octet)
        .await
        .expect(204, None);
    // A wrong then a right SHA-256.
    let wrong = format!("sha256 {}", b64(&Sha256::digest(a)));
    tus.patch_as(&location, 30_000, b.to_vec(), Some(&wrong), octet)
        .await
        .expect(460, Some("checksum_mismatch"));
    assert_eq!(offset(&tus.head(&location).await), 30_000);
    let right = format!("sha256 {}", b64(&Sha256::digest(b)));
    tus.patch_as(&location, 30_000, b.to_vec(), Some(&right), octet)
        .await
        .expect(204, None);
    // An algorithm we do not compute: 400.
    let md5 = format!("md5 {}", b64(&[0_u8; 16]));
    tus.patch_as(&location, 60_000, c.to_vec(), Some(&md5), octet)
        .await
        .expect(400, Some("checksum_algorithm_unsupported"));
    let r = tus.patch(&location, 60_000, c).await;
    r.expect(204, None);
    let id = header(&r, "canvass-recording-id");
    let rec = t
        .get(&format!("/api/v1/recordings/{id}"), Some(&o.resident.token))
        .await;
    assert_eq!(rec.body["sha256"], sha256_hex(&file));
    // Only the accepted requests left objects behind.
    assert_eq!(blob_files(&t, id).len(), 3);
    t.stop().await;
}

#[tokio::test]
async fn a_large_request_with_a_bad_checksum_keeps_nothing() {
    common::announce("a_large_request_with_a_bad_checksum_keeps_nothing");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    // 5 MiB and a bit in one request: several multipart parts of its segment were written
    // before the checksum could be checked.
    let file = common::padded_mp4((5 << 20) + 4321);
    let tus = Tus::new(&t, &o.device_token);
    let location = tus
        .created(file.len() as u64, &recording_meta(None, "big.mp4"))
        .await;
    let id = id_of(&location).to_owned();
    let octet = "application/offset+octet-stream";
    // A wrong checksum: what was written while the body arrived does not stay.
    let wrong = format!("sha256 {}", b64(&Sha256::digest(b"not these bytes")));
    tus.patch_as(&location, 0, file.clone(), Some(&wrong), octet)
        .await
        .expect(460, Some("checksum_mismatch"));
    assert_eq!(offset(&tus.head(&location).await), 0);
    assert_eq!(blob_files(&t, &id), Vec::<PathBuf>::new());
    assert_eq!(rows(&t, &id).await, (1, 0, 0));
    // The right one: one segment, one recording with the file's hash.
    let right = format!("sha256 {}", b64(&Sha256::digest(&file)));
    let r = tus
        .patch_as(&location, 0, file.clone(), Some(&right), octet)
        .await;
    r.expect(204, None);
    assert_eq!(header(&r, "canvass-recording-id"), id);
    assert_eq!(blob_files(&t, &id).len(), 1);
    assert_eq!(rows(&t, &id).await, (0, 1, 1));
    let rec = t
        .get(&format!("/api/v1/recordings/{id}"), Some(&o.resident.token))
        .await;
    assert_eq!(rec.body["sha256"], sha256_hex(&file));
    assert_eq!(rec.body["size"], file.len() as u64);
    t.stop().await;
}

#[tokio::test]
async fn wrong_offsets_content_types_and_overlong_bodies_are_refused() {
    common::announce("wrong_offsets_content_types_and_overlong_bodies_are_refused");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let file = fixture("porch-cam.mp4");
    let tus = Tus::new(&t, &o.device_token);
    let location = tus
        .created(file.len() as u64, &recording_meta(None, "p.mp4"))
        .await;
    tus.patch(&location, 0, &file[..1000])
        .await
        .expect(204, None);
    // Offsets other than the current one: 409.
    for wrong in [0, 999, 1001, 5000] {
        let r = tus.patch(&location, wrong, &file[1000..2000]).await;
        r.expect(409, Some("offset_mismatch"));
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1000")
        );
    }
    // Another content type: 415.
    tus.patch_as(
        &location,
        1000,
        file[1000..2000].to_vec(),
        None,
        "application/octet-stream",
    )
    .await
    .expect(415, Some("unsupported_media_type"));
    // A missing or malformed Upload-Offset: 400.
    let r = tus
        .request(reqwest::Method::PATCH, &location)
        .header("Content-Type", "application/offset+octet-stream")
        .body(vec![1_u8; 10]);
    TestApp::reply(r.send().await.unwrap())
        .await
        .expect(400, Some("invalid_header"));
    // More bytes than are left: 413, and none of them is kept.
    let mut too_much = file[1000..].to_vec();
    too_much.push(0);
    tus.patch_as(
        &location,
        1000,
        too_much,
        None,
        "application/offset+octet-stream",
    )
    .await
    .expect(413, Some("upload_exceeds_length"));
    assert_eq!(offset(&tus.head(&location).await), 1000);
    assert_eq!(blob_files(&t, id_of(&location)).len(), 1);
    // The rest, right: a recording.
    let r = tus.patch(&location, 1000, &file[1000..]).await;
    r.expect(204, None);
    // Repeating the final request is acknowledged; anything else conflicts.
    tus.patch(&location, file.len() as u64, &[])
        .await
        .expect(204, None);
    tus.patch(&location, 0, &file[..10])
        .await
        .expect(409, Some("offset_mismatch"));
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Sizes and what is not a video

#[tokio::test]
async fn sizes_over_the_limit_and_empty_files_are_refused() {
    common::announce("sizes_over_the_limit_and_empty_files_are_refused");
    let t = TestApp::start_with(|a| a.max_upload_bytes = Some("50000".into())).await;
    let o = owner(&t).await;
    let tus = Tus::new(&t, &o.device_token);
    let meta = recording_meta(None, "p.mp4");
    let r = tus.create(50_001, &meta).await;
    r.expect(413, Some("upload_too_large"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("50000")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("50001")
    );
    assert_eq!(r.body["error"]["details"]["limit"], 50_000);
    assert_eq!(r.body["error"]["details"]["given"], 50_001);
    tus.created(50_000, &meta).await;
    let r = tus.create(0, &meta).await;
    r.expect(415, Some("unsupported_media_type"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("empty")
    );
    // Deferred length is not supported; the length is required and numeric.
    let r = tus
        .request(reqwest::Method::POST, "/api/v1/uploads")
        .header("Upload-Defer-Length", "1")
        .header("Upload-Metadata", &meta);
    TestApp::reply(r.send().await.unwrap())
        .await
        .expect(400, Some("deferred_length_unsupported"));
    let r = tus
        .request(reqwest::Method::POST, "/api/v1/uploads")
        .header("Upload-Metadata", &meta);
    TestApp::reply(r.send().await.unwrap())
        .await
        .expect(400, Some("invalid_header"));
    let r = tus
        .request(reqwest::Method::POST, "/api/v1/uploads")
        .header("Upload-Length", "-5")
        .header("Upload-Metadata", &meta);
    TestApp::reply(r.send().await.unwrap())
        .await
        .expect(400, Some("invalid_header"));
    t.stop().await;
}

#[tokio::test]
async fn a_file_that_is_not_a_video_leaves_nothing_behind() {
    common::announce("a_file_that_is_not_a_video_leaves_nothing_behind");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let file = fixture("not-a-video.mp4");
    let tus = Tus::new(&t, &o.device_token);
    let (location, last) = tus
        .upload(&file, &recording_meta(None, "not.mp4"), 100)
        .await;
    last.expect(415, Some("unsupported_media_type"));
    assert!(
        last.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a video")
    );
    let id = id_of(&location);
    assert_eq!(rows(&t, id).await, (0, 0, 0));
    assert!(blob_files(&t, id).is_empty(), "{:?}", blob_files(&t, id));
    tus.head(&location).await.expect(404, None);
    let list = t.get("/api/v1/recordings", Some(&o.resident.token)).await;
    assert_eq!(list.body["items"], json!([]));
    t.stop().await;
}

#[tokio::test]
async fn a_truncated_mp4_is_refused() {
    common::announce("a_truncated_mp4_is_refused");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let tus = Tus::new(&t, &o.device_token);
    for name in ["porch-cam.mp4", "driveway-cam.mp4"] {
        let file = fixture(name);
        let half = &file[..file.len() / 2];
        let r = tus
            .create_with(
                half.len() as u64,
                &recording_meta(None, name),
                half.to_vec(),
            )
            .await;
        r.expect(415, Some("unsupported_media_type"));
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("incomplete"),
            "{}",
            r.text
        );
    }
    let n = count_for(
        &t,
        "SELECT COUNT(*) FROM uploads WHERE owner_id = $1",
        &o.resident.id,
    )
    .await;
    assert_eq!(n, 0);
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Metadata

#[tokio::test]
async fn metadata_that_breaks_the_rules_is_refused() {
    common::announce("metadata_that_breaks_the_rules_is_refused");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let tus = Tus::new(&t, &o.device_token);
    let now = Utc::now();
    let at = |t: DateTime<Utc>| ts(t);
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            metadata(&[
                ("started_at", &at(now - Duration::hours(1))),
                ("ended_at", &at(now - Duration::hours(2))),
            ]),
            vec!["ended_at", "started_at"],
        ),
        (
            metadata(&[
                ("started_at", &at(now - Duration::hours(30))),
                ("ended_at", &at(now - Duration::hours(5))),
            ]),
            vec!["ended_at"],
        ),
        (
            metadata(&[
                ("started_at", &at(now + Duration::minutes(10))),
                ("ended_at", &at(now + Duration::minutes(20))),
            ]),
            vec!["started_at"],
        ),
        (
            metadata(&[("ended_at", &at(now - Duration::hours(1)))]),
            vec!["started_at"],
        ),
        (
            "started_at %%%notbase64".to_owned(),
            vec!["Upload-Metadata"],
        ),
    ];
    for (meta, fields) in &cases {
        let r = tus.create(1000, meta).await;
        r.expect(422, Some("invalid_input"));
        let got: Vec<&str> = r.body["error"]["details"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(&got, fields, "{}", r.text);
        for f in fields {
            assert!(r.body["error"]["message"].as_str().unwrap().contains(f));
        }
    }
    for bad in [
        "a/b.mp4",
        "a\\b.mp4",
        "../clip.mp4",
        "clip\u{1}.mp4",
        &"x".repeat(256),
    ] {
        let r = tus.create(1000, &recording_meta(None, bad)).await;
        r.expect(422, Some("invalid_input"));
        assert!(
            r.body["error"]["details"]["filename"].is_array(),
            "{bad:?}: {}",
            r.text
        );
    }
    // A resident's session must name the camera; a camera's token may only name itself.
    let resident = Tus::new(&t, &o.resident.token);
    let r = resident.create(1000, &recording_meta(None, "a.mp4")).await;
    r.expect(422, Some("invalid_input"));
    assert!(r.body["error"]["details"]["device_id"].is_array());
    let (other_camera, _) = camera(&t, &o.resident, "Garage", HOME).await;
    let r = tus
        .create(1000, &recording_meta(Some(&other_camera), "a.mp4"))
        .await;
    r.expect(422, Some("invalid_input"));
    assert!(r.body["error"]["details"]["device_id"].is_array());
    // Its own id is fine.
    tus.created(1000, &recording_meta(Some(&o.device_id), "a.mp4"))
        .await;
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Who may upload

#[tokio::test]
async fn cameras_and_uploads_of_others_are_not_found() {
    common::announce("cameras_and_uploads_of_others_are_not_found");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let other = owner(&t).await;
    let mine = Tus::new(&t, &o.resident.token);
    let r = mine
        .create(1000, &recording_meta(Some("no-such-camera"), "a.mp4"))
        .await;
    r.expect(404, Some("not_found"));
    assert_eq!(r.body["error"]["message"], "camera not found");
    mine.create(1000, &recording_meta(Some(&other.device_id), "a.mp4"))
        .await
        .expect(404, Some("not_found"));

    // Another resident's upload: 404 to HEAD, PATCH and DELETE, for their session and token.
    let location = Tus::new(&t, &other.device_token)
        .created(1000, &recording_meta(None, "a.mp4"))
        .await;
    for tus in [mine, Tus::new(&t, &o.device_token)] {
        tus.head(&location).await.expect(404, None);
        tus.patch(&location, 0, &[1, 2, 3])
            .await
            .expect(404, Some("not_found"));
        tus.delete(&location).await.expect(404, Some("not_found"));
    }
    // One camera's token does not reach another camera's uploads, even of the same owner.
    let (_, second_token) = camera(&t, &other.resident, "Back door", HOME).await;
    Tus::new(&t, &second_token)
        .head(&location)
        .await
        .expect(404, None);
    Tus::new(&t, &other.resident.token)
        .head(&location)
        .await
        .expect(200, None);
    t.stop().await;
}

#[tokio::test]
async fn revoked_tokens_and_non_residents_cannot_upload() {
    common::announce("revoked_tokens_and_non_residents_cannot_upload");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let meta = recording_meta(None, "a.mp4");
    let location = Tus::new(&t, &o.device_token).created(1000, &meta).await;
    t.call(
        "DELETE",
        &format!("/api/v1/devices/{}/token", o.device_id),
        Some(&o.resident.token),
        None,
    )
    .await
    .expect(204, None);
    let old = Tus::new(&t, &o.device_token);
    old.create(1000, &meta)
        .await
        .expect(401, Some("unauthenticated"));
    old.head(&location).await.expect(401, None);
    // A new token works; the old one stays dead.
    let r = t
        .post(
            &format!("/api/v1/devices/{}/token", o.device_id),
            Some(&o.resident.token),
            json!({}),
        )
        .await;
    r.expect(201, None);
    let new = Tus::new(&t, r.body["token"].as_str().unwrap());
    new.head(&location).await.expect(200, None);
    old.head(&location).await.expect(401, None);

    for role in [Role::Moderator, Role::Admin] {
        let staff = t.account(role, None).await;
        Tus::new(&t, &staff.token)
            .create(1000, &recording_meta(Some(&o.device_id), "a.mp4"))
            .await
            .expect(403, Some("forbidden"));
        t.get("/api/v1/recordings", Some(&staff.token))
            .await
            .expect(403, Some("forbidden"));
    }
    t.stop().await;
}

#[tokio::test]
async fn a_session_cookie_uploads_only_from_our_own_pages() {
    common::announce("a_session_cookie_uploads_only_from_our_own_pages");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let meta = recording_meta(Some(&o.device_id), "a.mp4");
    let send = |origin: Option<&str>| {
        let mut r = t
            .client
            .post(format!("{}/api/v1/uploads", t.base))
            .header("Tus-Resumable", "1.0.0")
            .header("Cookie", format!("canvass_session={}", o.resident.token))
            .header("Upload-Length", "1000")
            .header("Upload-Metadata", &meta);
        if let Some(o) = origin {
            r = r.header("Origin", o);
        }
        r.send()
    };
    TestApp::reply(send(Some("https://evil.example")).await.unwrap())
        .await
        .expect(403, Some("csrf_rejected"));
    TestApp::reply(send(Some(&t.base)).await.unwrap())
        .await
        .expect(201, None);
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Termination and expiry

#[tokio::test]
async fn terminating_an_upload_removes_its_bytes() {
    common::announce("terminating_an_upload_removes_its_bytes");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let file = fixture("porch-cam.mp4");
    let tus = Tus::new(&t, &o.device_token);
    let location = tus
        .created(file.len() as u64, &recording_meta(None, "p.mp4"))
        .await;
    let id = id_of(&location).to_owned();
    tus.patch(&location, 0, &file[..10_000])
        .await
        .expect(204, None);
    tus.patch(&location, 10_000, &file[10_000..20_000])
        .await
        .expect(204, None);
    assert_eq!(blob_files(&t, &id).len(), 2);
    assert_eq!(rows(&t, &id).await, (1, 2, 0));
    let r = tus.delete(&location).await;
    r.expect(204, None);
    assert_eq!(header(&r, "tus-resumable"), "1.0.0");
    assert_eq!(rows(&t, &id).await, (0, 0, 0));
    assert!(blob_files(&t, &id).is_empty());
    tus.head(&location).await.expect(404, None);
    tus.delete(&location).await.expect(404, Some("not_found"));
    // A finished upload is a recording: not terminated here.
    let (done, last) = tus
        .upload(&file, &recording_meta(None, "p.mp4"), 40_000)
        .await;
    last.expect(204, None);
    tus.delete(&done).await.expect(404, Some("not_found"));
    assert_eq!(rows(&t, id_of(&done)).await.2, 1);
    t.stop().await;
}

#[tokio::test]
async fn expired_uploads_answer_404_and_are_removed() {
    common::announce("expired_uploads_answer_404_and_are_removed");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let file = fixture("porch-cam.mp4");
    let tus = Tus::new(&t, &o.device_token);
    let location = tus
        .created(file.len() as u64, &recording_meta(None, "p.mp4"))
        .await;
    let id = id_of(&location).to_owned();
    let r = tus.patch(&location, 0, &file[..10_000]).await;
    r.expect(204, None);
    let expires = httpdate::parse_http_date(header(&r, "upload-expires")).unwrap();
    let expected = std::time::SystemTime::now() + StdDuration::from_secs(24 * 3600);
    let diff = expected
        .duration_since(expires)
        .unwrap_or_else(|e| e.duration());
    assert!(diff < StdDuration::from_secs(120), "{diff:?}");
    // Another upload of the same age: it expires too.
    let also_old = tus
        .created(file.len() as u64, &recording_meta(None, "p.mp4"))
        .await;

    t.app().advance_clock(Duration::hours(25));
    // Expired answers 404 even before the sweep ran.
    tus.head(&location).await.expect(404, None);
    tus.patch(&location, 10_000, &file[10_000..20_000])
        .await
        .expect(404, Some("not_found"));
    let fresh = tus
        .created(file.len() as u64, &recording_meta(None, "p.mp4"))
        .await;
    assert_eq!(rows(&t, &id).await, (1, 1, 0));
    let removed = t.app().expire_uploads(t.app().now()).await.unwrap();
    assert_eq!(removed, 2, "the two uploads created before the clock moved");
    assert_eq!(rows(&t, &id).await, (0, 0, 0));
    assert!(blob_files(&t, &id).is_empty());
    assert_eq!(rows(&t, id_of(&also_old)).await.0, 0);
    assert_eq!(rows(&t, id_of(&fresh)).await.0, 1);
    // Running it again changes nothing.
    assert_eq!(t.app().expire_uploads(t.app().now()).await.unwrap(), 0);
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Resuming

#[tokio::test]
async fn a_dropped_connection_keeps_what_arrived_and_the_upload_resumes() {
    common::announce("a_dropped_connection_keeps_what_arrived_and_the_upload_resumes");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let file = fixture("porch-cam.mp4");
    let tus = Tus::new(&t, &o.device_token);
    let location = tus
        .created(file.len() as u64, &recording_meta(None, "p.mp4"))
        .await;
    let sent = 25_000;
    // A PATCH promising the whole file, of which only part is sent before the socket drops.
    let addr = t.base.strip_prefix("http://").unwrap();
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: 0\r\nContent-Length: {}\r\n\r\n",
        o.device_token,
        file.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&file[..sent]).await.unwrap();
    socket.flush().await.unwrap();
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    drop(socket);
    // The server commits what arrived once it sees the connection gone.
    let deadline = Instant::now() + StdDuration::from_secs(20);
    let at = loop {
        let h = tus.head(&location).await;
        h.expect(200, None);
        let at = offset(&h);
        if at > 0 || Instant::now() > deadline {
            break at;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    };
    assert_eq!(at, sent as u64);
    let r = tus.patch(&location, at, &file[sent..]).await;
    r.expect(204, None);
    let id = header(&r, "canvass-recording-id");
    let rec = t
        .get(&format!("/api/v1/recordings/{id}"), Some(&o.resident.token))
        .await;
    assert_eq!(rec.body["sha256"], sha256_hex(&file));
    t.stop().await;
}

#[tokio::test]
async fn an_upload_resumes_after_a_server_restart() {
    common::announce("an_upload_resumes_after_a_server_restart");
    let mut t = TestApp::start().await;
    let o = owner(&t).await;
    let file = fixture("driveway-cam.mp4");
    let meta = recording_meta(None, "d.mp4");
    let location = {
        let tus = Tus::new(&t, &o.device_token);
        let location = tus.created(file.len() as u64, &meta).await;
        tus.patch(&location, 0, &file[..33_333])
            .await
            .expect(204, None);
        location
    };
    t.restart().await;
    let tus = Tus::new(&t, &o.device_token);
    let h = tus.head(&location).await;
    h.expect(200, None);
    assert_eq!(offset(&h), 33_333);
    assert_eq!(header(&h, "upload-length"), file.len().to_string());
    // The metadata comes back as it was sent.
    assert_eq!(header(&h, "upload-metadata"), meta);
    let r = tus.patch(&location, 33_333, &file[33_333..]).await;
    r.expect(204, None);
    let id = header(&r, "canvass-recording-id");
    let rec = t
        .get(&format!("/api/v1/recordings/{id}"), Some(&o.resident.token))
        .await;
    assert_eq!(rec.body["sha256"], sha256_hex(&file));
    t.stop().await;
}

#[tokio::test]
async fn of_two_concurrent_patches_at_one_offset_exactly_one_wins() {
    common::announce("of_two_concurrent_patches_at_one_offset_exactly_one_wins");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let file = fixture("porch-cam.mp4");
    let tus = Tus::new(&t, &o.device_token);
    let location = tus
        .created(file.len() as u64, &recording_meta(None, "p.mp4"))
        .await;
    let (a, b) = tokio::join!(
        tus.patch(&location, 0, &file[..40_000]),
        tus.patch(&location, 0, &file[..40_000])
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 409], "{} / {}", a.text, b.text);
    let id = id_of(&location);
    assert_eq!(rows(&t, id).await, (1, 1, 0));
    assert_eq!(blob_files(&t, id).len(), 1);
    let r = tus.patch(&location, 40_000, &file[40_000..]).await;
    r.expect(204, None);
    let rec = t
        .get(&format!("/api/v1/recordings/{id}"), Some(&o.resident.token))
        .await;
    assert_eq!(rec.body["sha256"], sha256_hex(&file));
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Recordings

#[tokio::test]
async fn recordings_are_listed_played_back_with_ranges_and_deleted() {
    common::announce("recordings_are_listed_played_back_with_ranges_and_deleted");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let porch = fixture("porch-cam.mp4");
    let garage = fixture("garage-cam.webm");
    let tus = Tus::new(&t, &o.device_token);
    let end = Utc::now() - Duration::hours(3);
    let older = metadata(&[
        ("started_at", &ts(end - Duration::minutes(10))),
        ("ended_at", &ts(end)),
    ]);
    let (first, r) = tus.upload(&garage, &older, 100_000).await;
    r.expect(204, None);
    let (second, r) = tus
        .upload(&porch, &recording_meta(None, "porch.mp4"), 30_000)
        .await;
    r.expect(204, None);
    let (first, second) = (id_of(&first), id_of(&second));

    let list = t.get("/api/v1/recordings", Some(&o.resident.token)).await;
    list.expect(200, None);
    let items = list.body["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second, first], "newest first");
    for key in [
        "id",
        "device_id",
        "device_name",
        "sha256",
        "size",
        "content_type",
        "filename",
        "started_at",
        "ended_at",
        "duration_ms",
        "media_created_at",
        "created_at",
    ] {
        assert!(items[0].get(key).is_some(), "{key} missing: {}", items[0]);
    }

    let content = format!("/api/v1/recordings/{second}/content");
    let get = |range: Option<&'static str>| {
        let mut r = t
            .client
            .get(format!("{}{content}", t.base))
            .bearer_auth(&o.resident.token);
        if let Some(v) = range {
            r = r.header("Range", v);
        }
        r.send()
    };
    let whole = get(None).await.unwrap();
    assert_eq!(whole.status().as_u16(), 200);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.headers()["content-type"], "video/mp4");
    assert_eq!(whole.bytes().await.unwrap().as_ref(), porch.as_slice());
    // A range across the segment boundaries (chunks of 30,000 bytes).
    let part = get(Some("bytes=29990-60009")).await.unwrap();
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 29990-60009/{}", porch.len())
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &porch[29_990..60_010]);
    let tail = get(Some("bytes=-100")).await.unwrap();
    assert_eq!(tail.status().as_u16(), 206);
    assert_eq!(
        tail.bytes().await.unwrap().as_ref(),
        &porch[porch.len() - 100..]
    );
    let beyond = TestApp::reply(get(Some("bytes=99999999-")).await.unwrap()).await;
    beyond.expect(416, Some("range_not_satisfiable"));
    assert_eq!(
        header(&beyond, "content-range"),
        format!("bytes */{}", porch.len())
    );

    // Another resident can neither see, play nor delete it.
    let stranger = t.resident_at(HOME.0, HOME.1).await;
    for (method, path) in [
        ("GET", format!("/api/v1/recordings/{second}")),
        ("GET", content.clone()),
        ("DELETE", format!("/api/v1/recordings/{second}")),
    ] {
        t.call(method, &path, Some(&stranger.token), None)
            .await
            .expect(404, Some("not_found"));
    }
    let theirs = t.get("/api/v1/recordings", Some(&stranger.token)).await;
    assert_eq!(theirs.body["items"], json!([]));

    // Deleting removes the row, the segments and the objects.
    assert!(!blob_files(&t, second).is_empty());
    t.call(
        "DELETE",
        &format!("/api/v1/recordings/{second}"),
        Some(&o.resident.token),
        None,
    )
    .await
    .expect(204, None);
    assert_eq!(rows(&t, second).await, (0, 0, 0));
    assert!(blob_files(&t, second).is_empty());
    t.get(
        &format!("/api/v1/recordings/{second}"),
        Some(&o.resident.token),
    )
    .await
    .expect(404, Some("not_found"));
    t.get(&content, Some(&o.resident.token))
        .await
        .expect(404, Some("not_found"));
    t.stop().await;
}

#[tokio::test]
async fn removing_a_camera_removes_its_uploads_and_recordings() {
    common::announce("removing_a_camera_removes_its_uploads_and_recordings");
    let t = TestApp::start().await;
    let o = owner(&t).await;
    let (other_camera, other_token) = camera(&t, &o.resident, "Garage", HOME).await;
    let file = fixture("porch-cam.mp4");
    let tus = Tus::new(&t, &o.device_token);
    let (done, r) = tus
        .upload(&file, &recording_meta(None, "p.mp4"), 50_000)
        .await;
    r.expect(204, None);
    let open = tus
        .created(file.len() as u64, &recording_meta(None, "p.mp4"))
        .await;
    tus.patch(&open, 0, &file[..5_000]).await.expect(204, None);
    let (kept, r) = Tus::new(&t, &other_token)
        .upload(&file, &recording_meta(None, "g.mp4"), 50_000)
        .await;
    r.expect(204, None);

    t.call(
        "DELETE",
        &format!("/api/v1/devices/{}", o.device_id),
        Some(&o.resident.token),
        None,
    )
    .await
    .expect(204, None);
    for id in [id_of(&done), id_of(&open)] {
        assert_eq!(rows(&t, id).await, (0, 0, 0));
        assert!(blob_files(&t, id).is_empty());
    }
    // The token died with the camera; the other camera and its recording are untouched.
    Tus::new(&t, &o.device_token)
        .head(&open)
        .await
        .expect(401, None);
    assert_eq!(rows(&t, id_of(&kept)).await, (0, 2, 1));
    let list = t.get("/api/v1/recordings", Some(&o.resident.token)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["device_id"], other_camera);
    t.stop().await;
}
