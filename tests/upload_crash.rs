#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A `kill -9` of the real binary in the middle of a tus `PATCH`, then a restart on the same
//! data folder and database: the upload resumes from the last committed offset, and finishes as
//! exactly one recording whose SHA-256 is the file's — nothing lost, nothing duplicated.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use bytes::Bytes;
use canvass::domain::Role;
use canvass::store::{Db, NewUser};
use chrono::{Duration, Utc};
use common::tus::metadata;
use common::{padded_mp4, sha256_hex, ts};
use serde_json::{Value, json};

const MIB: usize = 1 << 20;
const HOME: (f64, f64) = (45.515, -122.66);

/// `canvass serve` as a separate process; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(data_dir: &Path, database_url: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_canvass"));
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .args(["--database-url", database_url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        common::clear_canvass_env(&mut cmd);
        let mut server = Server {
            child: cmd.spawn().expect("the binary starts"),
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = canvass::http_client();
        let deadline = Instant::now() + StdDuration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the server exited ({status})");
            }
            if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
                && r.status().is_success()
            {
                return server;
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown code runs.
    fn kill_9(&mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "killed, not exited: {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_kill_9_mid_patch_then_a_restart_resumes_and_finishes_one_recording() {
    common::announce("a_kill_9_mid_patch_then_a_restart_resumes_and_finishes_one_recording");
    let dir =
        std::env::temp_dir().join(format!("canvass-upcrash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = common::fresh_database_url(&dir).await;
    let db = Db::connect(&database_url).await.unwrap();
    let hash = canvass::domain::password::hash(common::PASSWORD).unwrap();
    db.insert_user(
        &NewUser {
            email: "cam-owner@homes.example",
            password_hash: &hash,
            role: Role::Resident,
            agency_id: None,
            display_name: Some("Cam Owner"),
            home_address: Some("1200 Elm St, Riverton, OR 97214"),
            home: Some(HOME),
        },
        Utc::now(),
    )
    .await
    .unwrap();

    let client = canvass::http_client();
    let mut server = Server::start(&dir, &database_url).await;
    let login = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": "cam-owner@homes.example", "password": common::PASSWORD}))
        .send()
        .await
        .unwrap();
    let session = json_of(login).await["token"].as_str().unwrap().to_owned();
    let device = json_of(
        client
            .post(format!("{}/api/v1/devices", server.base))
            .bearer_auth(&session)
            .json(&json!({"name": "Porch", "location": {"lat": HOME.0, "lon": HOME.1}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = device["token"].as_str().unwrap().to_owned();

    let file = padded_mp4(24 * MIB);
    let t0 = Utc::now() - Duration::hours(2);
    let created = client
        .post(format!("{}/api/v1/uploads", server.base))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", file.len().to_string())
        .header(
            "Upload-Metadata",
            metadata(&[
                ("started_at", &ts(t0)),
                ("ended_at", &ts(t0 + Duration::minutes(5))),
            ]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let patch = |base: &str, offset: usize, body: reqwest::Body| {
        client
            .patch(format!("{base}{location}"))
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(body)
            .send()
    };

    // The first 8 MiB are committed.
    let first = patch(
        &server.base,
        0,
        reqwest::Body::from(file[..8 * MIB].to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(first.status(), 204);

    // The next PATCH sends 4 MiB of its 16, then the server is killed mid-body.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let rest = file[8 * MIB..].to_vec();
    let in_flight = tokio::spawn(patch(&server.base, 8 * MIB, body));
    for chunk in rest[..4 * MIB].chunks(256 * 1024) {
        tx.send(Ok(Bytes::copy_from_slice(chunk))).await.unwrap();
    }
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    server.kill_9();
    drop(tx);
    assert!(
        in_flight.await.unwrap().is_err(),
        "the interrupted PATCH cannot have succeeded"
    );

    // The kill left the cut-off piece's staging file behind. Aged past the sweep's threshold
    // (as if the restart came hours later), the restart removes it.
    let leftovers = staging_files(&dir.join("blobs"));
    assert_eq!(leftovers.len(), 1, "one cut-off piece: {leftovers:?}");
    let aged = std::time::SystemTime::now() - canvass::app::uploads::STAGING_AGE * 2;
    std::fs::File::options()
        .write(true)
        .open(&leftovers[0])
        .unwrap()
        .set_modified(aged)
        .unwrap();

    // After a restart, HEAD reports the last committed offset.
    let server = Server::start(&dir, &database_url).await;
    let deadline = Instant::now() + StdDuration::from_secs(20);
    while !staging_files(&dir.join("blobs")).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the restart did not remove the crash's staging file"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let head = client
        .head(format!("{}{location}", server.base))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    let offset: usize = head.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        offset,
        8 * MIB,
        "the committed bytes survive; the cut-off piece does not count"
    );

    // The client resumes from there and finishes.
    let done = patch(
        &server.base,
        offset,
        reqwest::Body::from(file[offset..].to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(done.status(), 204);
    let recording_id = done.headers()["canvass-recording-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let recording = json_of(
        client
            .get(format!("{}/api/v1/recordings/{recording_id}", server.base))
            .bearer_auth(&session)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(recording["sha256"], sha256_hex(&file).as_str());
    assert_eq!(recording["size"], file.len() as u64);

    // Exactly one recording; its pieces tile the file with no gap and no overlap.
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(db.pool())
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM recordings").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM uploads").await, 0);
    let pieces: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT start_offset, length FROM blob_segments WHERE blob_id = $1 ORDER BY start_offset",
    )
    .bind(&recording_id)
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut next = 0;
    for (start, len) in &pieces {
        assert_eq!(*start, next, "pieces {pieces:?}");
        next += len;
    }
    assert_eq!(next as usize, file.len());

    // The whole recording streams back intact.
    let back = client
        .get(format!(
            "{}/api/v1/recordings/{recording_id}/content",
            server.base
        ))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        back.as_ref() == file.as_slice(),
        "the bytes read back differ"
    );
    drop(server);
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The staging files (`name#nonce`) anywhere under `dir`.
fn staging_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.to_string_lossy().contains('#') {
                found.push(path);
            }
        }
    }
    found
}

/// A stream over a channel's items.
fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
