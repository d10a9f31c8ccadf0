//! What the benchmarks share: scratch folders, free ports, the real server started as a child
//! process, accounts seeded straight into its database, and JSON calls.
//!
//! Include it with `mod support;` (a folder, so cargo does not take it for a benchmark).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use canvass::app::App;
use canvass::config::Settings;
use canvass::domain::Role;
use canvass::store::{NewAgency, NewUser};
use chrono::Utc;
use serde_json::{Value, json};

/// The one password of every seeded account.
pub const PASSWORD: &str = "tandem-otter-lantern-42";
/// A home inside the demo city.
pub const HOME: (f64, f64) = (45.515, -122.66);

/// A fresh scratch folder for `tag`.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("canvass-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A TCP port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The median of `v`.
pub fn median<T: PartialOrd + Copy>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

/// The value below which `q` (0–1) of `v` lie.
pub fn quantile<T: PartialOrd + Copy>(mut v: Vec<T>, q: f64) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

/// The `canvass serve` binary running on a free port, stopped when dropped.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its log file.
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `canvass serve` on `data_dir` (staff second factor off) and waits until healthy.
pub async fn start_server(client: &reqwest::Client, data_dir: &Path) -> Server {
    start_server_with(client, data_dir, Duration::from_secs(60), |cmd| {
        cmd.env("CANVASS_REQUIRE_STAFF_MFA", "false");
    })
    .await
}

/// Starts `canvass serve` on `data_dir` on a free port, with `configure` adding its own
/// arguments and variables, and waits up to `limit` until it is healthy.
pub async fn start_server_with(
    client: &reqwest::Client,
    data_dir: &Path,
    limit: Duration,
    configure: impl FnOnce(&mut Command),
) -> Server {
    let program = Path::new(env!("CARGO_BIN_EXE_canvass"));
    start_program(client, program, data_dir, limit, configure).await
}

/// Starts `program serve` (this build's `canvass`, or another build to compare with) on
/// `data_dir` on a free port, as [`start_server_with`] does.
pub async fn start_program(
    client: &reqwest::Client,
    program: &Path,
    data_dir: &Path,
    limit: Duration,
    configure: impl FnOnce(&mut Command),
) -> Server {
    let port = free_port();
    let log = data_dir.join("server.log");
    let mut cmd = Command::new(program);
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(data_dir)
    .env("RUST_LOG", "warn")
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(&log).unwrap());
    configure(&mut cmd);
    let mut server = Server {
        child: cmd.spawn().expect("spawn canvass"),
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    let start = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
            && r.status().is_success()
        {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "the server stopped ({status}): {}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
        }
        assert!(start.elapsed() < limit, "the server did not become healthy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seeds, straight in the database before the server starts, a verified agency (evidence
/// enabled) and three accounts: an investigator, a moderator and a resident living at
/// [`HOME`]. Answers the agency's id and the three emails in that order.
pub async fn seed(data_dir: &Path) -> (String, [String; 3]) {
    let app = App::open(Settings::for_data_dir(data_dir)).await.unwrap();
    let now = Utc::now();
    let jurisdiction = json!({"type": "Polygon", "coordinates": [[[-122.69, 45.50], [-122.63, 45.50], [-122.63, 45.53], [-122.69, 45.53], [-122.69, 45.50]]]});
    let agency = app
        .db
        .insert_agency(
            &NewAgency {
                name: "Riverton Police Department",
                kind: "law_enforcement",
                jurisdiction: &jurisdiction,
                verified: true,
                evidence_enabled: true,
                time_zone: "UTC",
            },
            now,
        )
        .await
        .unwrap()
        .id;
    let hash = canvass::domain::password::hash(PASSWORD).unwrap();
    let mut emails = Vec::new();
    for (role, agency_id, email) in [
        (
            Role::Investigator,
            Some(agency.as_str()),
            "investigator@bench.example",
        ),
        (Role::Moderator, None, "moderator@bench.example"),
        (Role::Resident, None, "resident@bench.example"),
    ] {
        let resident = role == Role::Resident;
        app.db
            .insert_user(
                &NewUser {
                    email,
                    password_hash: &hash,
                    role,
                    agency_id,
                    display_name: Some("Bench Person"),
                    home_address: resident.then_some("1200 Elm St, Riverton, OR 97214"),
                    home: resident.then_some(HOME),
                },
                now,
            )
            .await
            .unwrap();
        emails.push(email.to_owned());
    }
    app.db.close().await;
    (agency, emails.try_into().unwrap())
}

/// A JSON call with a bearer token that must succeed; the answer's JSON (Null when none).
pub async fn json_call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Signs `email` in; the session token.
pub async fn login(client: &reqwest::Client, base: &str, email: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["token"].as_str().expect("login token").to_owned()
}
