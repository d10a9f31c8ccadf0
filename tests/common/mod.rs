//! The test harness: starts the real server on an ephemeral port with a fresh database and
//! talks HTTP to it.
//!
//! The backend comes from `CANVASS_TEST_DATABASE_URL`: unset means a new SQLite file per test;
//! `postgres://…` means a new PostgreSQL database per test on that server.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod evidence;
pub mod requests;
pub mod tus;

use std::path::{Path, PathBuf};

use canvass::config::{SettingArgs, Settings};
use canvass::domain::{Role, mfa};
use canvass::server::Running;
use canvass::store::NewUser;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A password that passes the policy.
pub const PASSWORD: &str = "tandem-otter-lantern-42";

/// Where [`TestApp::account`] puts every resident's home, and where most tests' residents and
/// cameras are: (lat, lon).
pub const HOME: (f64, f64) = (45.515, -122.66);

/// The agency most tests file their requests as.
pub const AGENCY: &str = "Riverton Police Department";

/// Which database this test run uses.
pub fn backend() -> &'static str {
    match std::env::var("CANVASS_TEST_DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => "postgres",
        _ => "sqlite",
    }
}

/// A fresh database URL: a new SQLite file under `dir`, or a new PostgreSQL database.
async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("CANVASS_TEST_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            sqlx::any::install_default_drivers();
            let name = format!("canvass_t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&server)
                .await
                .expect("connect to the PostgreSQL server in CANVASS_TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create a test database");
            let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}", dir.join("canvass.db").display()),
    }
}

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Session {
    /// Its bearer token.
    pub token: String,
    /// The account's id.
    pub id: String,
    /// Its email.
    pub email: String,
    /// Its role.
    pub role: Role,
    /// Its agency, for agency members.
    pub agency_id: Option<String>,
    /// Its TOTP secret, for staff.
    pub totp_secret: Option<String>,
}

/// A response: status, headers and JSON body (Null when the body is empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts the status and, for errors, the documented error shape with `code`.
    #[track_caller]
    pub fn expect(&self, status: u16, code: Option<&str>) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        if let Some(code) = code {
            assert_eq!(
                self.code(),
                code,
                "unexpected error code; body: {}",
                self.text
            );
            assert!(
                self.body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "error without message: {}",
                self.text
            );
            assert!(
                self.body["error"]["details"].is_object(),
                "error without details object: {}",
                self.text
            );
        }
        self
    }
}

/// A running server with its own database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A plain client (no cookie store).
    pub client: reqwest::Client,
    running: Option<Running>,
    dir: PathBuf,
    counter: std::sync::atomic::AtomicU32,
}

impl TestApp {
    /// Starts with default settings, except generous rate limits (every test client shares
    /// 127.0.0.1; the rate-limit tests set their own).
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// Starts with settings adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut SettingArgs)) -> TestApp {
        let dir =
            std::env::temp_dir().join(format!("canvass-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut args = SettingArgs {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.display().to_string()),
            database_url: Some(fresh_database(&dir).await),
            login_rate_per_minute: Some("100000".into()),
            signup_rate_per_hour: Some("100000".into()),
            ..SettingArgs::default()
        };
        adjust(&mut args);
        let settings = Settings::load(&args).expect("test settings");
        let running = canvass::server::start(settings)
            .await
            .expect("server starts");
        let base = format!("http://{}", running.addr);
        TestApp {
            base,
            client: canvass::http_client(),
            running: Some(running),
            dir,
            counter: Default::default(),
        }
    }

    /// Another server on this one's database and data folder, as a second instance behind a
    /// load balancer would run.
    pub async fn second_server(&self) -> TestApp {
        let settings = self.app().settings.clone();
        Self::start_with(|args| {
            args.database_url = Some(settings.database_url.clone());
            args.data_dir = Some(settings.data_dir.display().to_string());
        })
        .await
    }

    /// The use cases and database behind the server (for set-up and for raw SQL checks).
    pub fn app(&self) -> &canvass::app::App {
        &self.running.as_ref().unwrap().app
    }

    /// Stops the server and starts it again on the same data folder, database and settings,
    /// on a new port (the service after a restart: nothing but what it stored survives).
    pub async fn restart(&mut self) {
        let running = self.running.take().unwrap();
        let mut settings = (*running.app.settings).clone();
        running.shutdown().await.unwrap();
        if settings.public_url == self.base {
            // The default public URL follows the address bound, which changes.
            settings.public_url = format!("http://{}", settings.listen);
        }
        let running = canvass::server::start(settings)
            .await
            .expect("server restarts");
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
    }

    /// Stops the server and removes its files.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.unwrap();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// A unique email for this test.
    pub fn email(&self, prefix: &str) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{prefix}{n}@test.example")
    }

    /// Sends a request; `token` as bearer when given; `body` as JSON when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::reply(req.send().await.unwrap()).await
    }

    /// Turns a reqwest response into a [`Reply`].
    pub async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call("GET", path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call("POST", path, token, Some(body)).await
    }

    /// Logs in; `totp` is sent when given.
    pub async fn login(&self, email: &str, password: &str, totp: Option<&str>) -> Reply {
        let mut body = json!({"email": email, "password": password});
        if let Some(code) = totp {
            body["totp"] = json!(code);
        }
        self.post("/api/v1/auth/login", None, body).await
    }

    /// The current TOTP code for `secret`.
    pub fn totp_now(secret: &str) -> String {
        mfa::code_at(secret, chrono::Utc::now().timestamp() as u64).unwrap()
    }

    /// Creates an account straight in the database (staff get a confirmed second factor)
    /// and signs it in over HTTP.
    pub async fn account(&self, role: Role, agency_id: Option<&str>) -> Session {
        let email = self.email(role.as_str());
        let hash = canvass::domain::password::hash(PASSWORD).unwrap();
        let app = self.app();
        let home = (role == Role::Resident).then_some(HOME);
        let user = app
            .db
            .insert_user(
                &NewUser {
                    email: &email,
                    password_hash: &hash,
                    role,
                    agency_id,
                    display_name: Some("Test Person"),
                    home_address: home.map(|_| "1200 Elm St, Riverton, OR 97214"),
                    home,
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let mut secret = None;
        if role.is_staff() {
            let s = mfa::new_secret();
            app.db
                .set_totp_secret(&user.id, &s, chrono::Utc::now())
                .await
                .unwrap();
            app.db
                .enable_totp(&user.id, chrono::Utc::now())
                .await
                .unwrap();
            secret = Some(s);
        }
        let code = secret.as_deref().map(Self::totp_now);
        let r = self.login(&email, PASSWORD, code.as_deref()).await;
        r.expect(200, None);
        Session {
            token: r.body["token"].as_str().unwrap().to_owned(),
            id: user.id,
            email,
            role,
            agency_id: agency_id.map(str::to_owned),
            totp_secret: secret,
        }
    }

    /// A resident whose home is at (`lat`, `lon`), created straight in the database and signed
    /// in over HTTP.
    pub async fn resident_at(&self, lat: f64, lon: f64) -> Session {
        self.resident_named(lat, lon, "Test Person", "1200 Elm St, Riverton, OR 97214")
            .await
    }

    /// A resident with this display name and home address at (`lat`, `lon`), created straight in
    /// the database and signed in over HTTP.
    pub async fn resident_named(
        &self,
        lat: f64,
        lon: f64,
        display_name: &str,
        home_address: &str,
    ) -> Session {
        let email = self.email("resident");
        let hash = canvass::domain::password::hash(PASSWORD).unwrap();
        let user = self
            .app()
            .db
            .insert_user(
                &NewUser {
                    email: &email,
                    password_hash: &hash,
                    role: Role::Resident,
                    agency_id: None,
                    display_name: Some(display_name),
                    home_address: Some(home_address),
                    home: Some((lat, lon)),
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let r = self.login(&email, PASSWORD, None).await;
        r.expect(200, None);
        Session {
            token: r.body["token"].as_str().unwrap().to_owned(),
            id: user.id,
            email,
            role: Role::Resident,
            agency_id: None,
            totp_secret: None,
        }
    }

    /// A verified agency with its evidence account enabled, created straight in the database.
    pub async fn agency(&self, name: &str) -> String {
        self.agency_with(name, true, true).await
    }

    /// A law-enforcement agency over [`riverton`], verified and with its evidence account
    /// enabled or not as asked, created straight in the database; answers its id.
    pub async fn agency_with(&self, name: &str, verified: bool, evidence_enabled: bool) -> String {
        let jurisdiction = riverton();
        self.app()
            .db
            .insert_agency(
                &canvass::store::NewAgency {
                    name,
                    kind: "law_enforcement",
                    jurisdiction: &jurisdiction,
                    verified,
                    evidence_enabled,
                    time_zone: "America/Los_Angeles",
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap()
            .id
    }
}

/// A valid jurisdiction: the demo city's rectangle.
pub fn riverton() -> Value {
    json!({"type": "Polygon", "coordinates": [[[-122.69, 45.50], [-122.63, 45.50], [-122.63, 45.53], [-122.69, 45.53], [-122.69, 45.50]]]})
}

/// Prints which backend a test ran on, so the output shows it.
pub fn announce(test: &str) {
    eprintln!("[{}] {test}", backend());
}

/// A fresh database for a test that starts the server itself (for example as a separate
/// process): a new SQLite file under `dir`, or a new PostgreSQL database.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    fresh_database(dir).await
}

/// A time as the API writes and reads it: RFC 3339 in UTC, whole seconds, with `Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The time in a JSON string the API wrote (RFC 3339); panics when `v` is not one.
pub fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// The bytes of `tests/fixtures/{name}`.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A valid MP4 of `len` bytes: the fixture clip followed by a 64-bit `free` box of padding
/// (legal MP4, so the completion check walks a real file of any size).
pub fn padded_mp4(len: usize) -> Vec<u8> {
    let mut out = fixture("porch-cam.mp4");
    let pad = (len - out.len()) as u64;
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(b"free");
    out.extend_from_slice(&pad.to_be_bytes());
    out.extend((0..pad - 16).map(|i| (i * 31 % 251) as u8));
    assert_eq!(out.len(), len);
    out
}

/// The SHA-256 of `bytes` in lower-case hex, as the API reports hashes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `id` of every item of a JSON list, in the list's order.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The one number a query such as `SELECT COUNT(*) FROM …` answers, read straight from the
/// server's database.
pub async fn count(t: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(t.app().db.pool())
        .await
        .unwrap()
}

/// Like [`count`], with `id` bound to `$1`.
pub async fn count_for(t: &TestApp, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .fetch_one(t.app().db.pool())
        .await
        .unwrap()
}

/// Every file below `dir`, at any depth (none when `dir` does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

/// A temporary folder, removed (with everything in it) when dropped.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes every `CANVASS_*` variable this test process inherited from `cmd`'s environment, so
/// a `canvass` child process runs on its command line alone.
pub fn clear_canvass_env(cmd: &mut std::process::Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CANVASS_") {
            cmd.env_remove(&key);
        }
    }
}
