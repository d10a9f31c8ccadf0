#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `canvass` command line, run as the real binary. These tests use SQLite only: the
//! binary runs on its own data folder, and CANVASS_TEST_DATABASE_URL is ignored (every
//! `CANVASS_*` variable is removed from the child's environment).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{PASSWORD, TestApp};
use serde_json::json;

const SQLITE_ONLY: &str = " (SQLite only: CLI tests ignore CANVASS_TEST_DATABASE_URL)";

/// A fresh, empty folder for one test; removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!("canvass-cli-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary with `args`, run in `cwd`, with no `CANVASS_*` variables from our environment.
fn canvass(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_canvass"));
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CANVASS_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

/// What a finished run printed.
struct Finished {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` to the end; a run that takes longer than 60 s is killed and fails the test.
fn run(mut cmd: Command) -> Finished {
    let mut child = cmd.spawn().expect("the binary starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).unwrap();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Finished {
        success: status.success(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Asserts a failed start: non-zero exit and exactly one line on stderr, naming `key`.
#[track_caller]
fn assert_one_line_naming(f: &Finished, key: &str) {
    assert!(!f.success, "exits non-zero; stdout: {}", f.stdout);
    let lines: Vec<&str> = f.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr: {:?}", f.stderr);
    assert!(
        lines[0].contains(&format!("`{key}`")),
        "the line names `{key}`: {}",
        lines[0]
    );
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A running `canvass serve`: killed when dropped, so a failing test leaves nothing behind.
struct Server {
    child: Child,
    base: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

fn collect(pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let buf = Arc::new(Mutex::new(String::new()));
    let sink = buf.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    buf
}

impl Server {
    /// Starts `canvass serve ARGS --listen 127.0.0.1:PORT` in `cwd` and waits until it has
    /// printed that it is serving and answers /healthz.
    async fn start(cwd: &Path, args: &[&str]) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--listen", &listen]);
        let mut child = canvass(cwd, &all).spawn().expect("the binary starts");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let server = Server {
            child,
            base: format!("http://{listen}"),
            stdout,
            stderr,
        };
        server.wait_until_up().await;
        server
    }

    async fn wait_until_up(&self) {
        let client = canvass::http_client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let printed = self.stdout().contains("Canvass is serving on");
            let healthy = match client.get(format!("{}/healthz", self.base)).send().await {
                Ok(r) => r.status().is_success(),
                Err(_) => false,
            };
            if printed && healthy {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not come up; stdout: {}\nstderr: {}",
                self.stdout(),
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    async fn login(&self, email: &str, password: &str) -> common::Reply {
        let resp = canvass::http_client()
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        TestApp::reply(resp).await
    }

    /// Kills the server (SIGKILL to this child only) and waits for it.
    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn serve_help_lists_every_setting_flag() {
    common::announce(&format!("serve_help_lists_every_setting_flag{SQLITE_ONLY}"));
    let dir = TempDir::new();
    let f = run(canvass(dir.path(), &["serve", "--help"]));
    assert!(f.success, "{}", f.stderr);
    for flag in [
        "--listen",
        "--data-dir",
        "--database-url",
        "--public-url",
        "--blob-url",
        "--smtp-url",
        "--smtp-from",
        "--require-staff-mfa",
        "--tile-url",
        "--config",
        "--demo",
    ] {
        assert!(
            f.stdout.contains(flag),
            "`serve --help` lists {flag}:\n{}",
            f.stdout
        );
    }
    // Each flag also names its variable.
    for var in ["CANVASS_LISTEN", "CANVASS_DATA_DIR", "CANVASS_DATABASE_URL"] {
        assert!(f.stdout.contains(var), "{var}:\n{}", f.stdout);
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "--help creates nothing"
    );
}

#[tokio::test]
async fn a_bad_listen_flag_exits_with_one_line_naming_listen() {
    common::announce(&format!(
        "a_bad_listen_flag_exits_with_one_line_naming_listen{SQLITE_ONLY}"
    ));
    let dir = TempDir::new();
    let f = run(canvass(dir.path(), &["serve", "--listen", "nowhere"]));
    assert_one_line_naming(&f, "listen");
    assert!(
        f.stderr.contains("nowhere"),
        "the value given: {}",
        f.stderr
    );
    assert!(
        !dir.path().join("canvass-data").exists(),
        "nothing is created when the settings are bad"
    );
}

#[tokio::test]
async fn an_unknown_config_key_exits_with_one_line_naming_it() {
    common::announce(&format!(
        "an_unknown_config_key_exits_with_one_line_naming_it{SQLITE_ONLY}"
    ));
    let dir = TempDir::new();
    let config = dir.path().join("canvass.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nrequire_staf_mfa = false\n",
    )
    .unwrap();
    let f = run(canvass(
        dir.path(),
        &["serve", "--config", config.to_str().unwrap()],
    ));
    assert_one_line_naming(&f, "require_staf_mfa");
}

#[tokio::test]
async fn a_bad_canvass_listen_variable_exits_with_one_line_naming_listen() {
    common::announce(&format!(
        "a_bad_canvass_listen_variable_exits_with_one_line_naming_listen{SQLITE_ONLY}"
    ));
    let dir = TempDir::new();
    let mut cmd = canvass(dir.path(), &["serve"]);
    cmd.env("CANVASS_LISTEN", "bad");
    let f = run(cmd);
    assert_one_line_naming(&f, "listen");
}

#[tokio::test]
async fn create_admin_makes_an_admin_who_can_log_in() {
    common::announce(&format!(
        "create_admin_makes_an_admin_who_can_log_in{SQLITE_ONLY}"
    ));
    let dir = TempDir::new();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();

    let mut cmd = canvass(
        dir.path(),
        &[
            "admin",
            "create-admin",
            "--email",
            "a@b.example",
            "--data-dir",
            data,
        ],
    );
    cmd.env("CANVASS_ADMIN_PASSWORD", PASSWORD);
    let f = run(cmd);
    assert!(f.success, "stdout: {}\nstderr: {}", f.stdout, f.stderr);
    assert!(f.stdout.contains("a@b.example"), "{}", f.stdout);
    assert!(!f.stdout.contains(PASSWORD), "the password is not echoed");

    // The same email again is refused.
    let mut again = canvass(
        dir.path(),
        &[
            "admin",
            "create-admin",
            "--email",
            "A@B.example",
            "--data-dir",
            data,
        ],
    );
    again.env("CANVASS_ADMIN_PASSWORD", PASSWORD);
    let f = run(again);
    assert!(
        !f.success,
        "a second admin with the same email: {}",
        f.stdout
    );

    let server = Server::start(dir.path(), &["--data-dir", data]).await;
    let r = server.login("a@b.example", PASSWORD).await;
    r.expect(200, None);
    assert_eq!(r.body["user"]["email"], "a@b.example");
    assert_eq!(r.body["user"]["role"], "admin");
    assert_eq!(
        r.body["mfa_enrollment_required"], true,
        "a new admin enrolls a second factor first"
    );
    server
        .login("a@b.example", "not-the-password-1")
        .await
        .expect(401, Some("invalid_credentials"));
    server.stop();
}

#[tokio::test]
async fn serve_demo_prints_the_accounts_and_residents_can_log_in() {
    common::announce(&format!(
        "serve_demo_prints_the_accounts_and_residents_can_log_in{SQLITE_ONLY}"
    ));
    let dir = TempDir::new();
    let server = Server::start(dir.path(), &["--demo"]).await;
    let out = server.stdout();
    assert!(out.contains("admin@canvass.example"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("resident") && l.contains("resident01@riverton.example")),
        "a resident line: {out}"
    );
    assert!(out.contains("riverton-demo-2026"), "the password: {out}");

    let r = server
        .login("resident01@riverton.example", "riverton-demo-2026")
        .await;
    r.expect(200, None);
    assert_eq!(r.body["user"]["role"], "resident");

    // The demo's open requests have evidence, and its export verifies offline.
    let secret = out
        .lines()
        .find(|l| l.starts_with("investigator") && l.contains("arivera@"))
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("the investigator's TOTP secret")
        .to_owned();
    let client = canvass::http_client();
    let login = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(
            &json!({"email": "arivera@rivertonpd.example", "password": "riverton-demo-2026",
                      "totp": TestApp::totp_now(&secret)}),
        )
        .send()
        .await
        .unwrap();
    let token = TestApp::reply(login).await.body["token"]
        .as_str()
        .expect("investigator token")
        .to_owned();
    let get = |path: String| {
        let client = client.clone();
        let token = token.clone();
        let url = format!("{}{path}", server.base);
        async move { TestApp::reply(client.get(url).bearer_auth(token).send().await.unwrap()).await }
    };
    let requests = get("/api/v1/requests".into()).await;
    let published: Vec<String> = requests
        .body
        .as_array()
        .expect("request list")
        .iter()
        .filter(|r| r["status"] == "published")
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let mut with_evidence = Vec::new();
    for id in &published {
        let subs = get(format!("/api/v1/requests/{id}/submissions")).await;
        subs.expect(200, None);
        if subs.body.as_array().is_some_and(|a| !a.is_empty()) {
            with_evidence.push(id.clone());
        }
    }
    assert!(!with_evidence.is_empty(), "no demo request has evidence");
    let zip = client
        .get(format!(
            "{}/api/v1/requests/{}/export",
            server.base, with_evidence[0]
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    let zip_path = dir.path().join("demo-export.zip");
    std::fs::write(&zip_path, zip.bytes().await.unwrap()).unwrap();
    let verified = Command::new(env!("CARGO_BIN_EXE_canvass"))
        .arg("verify-export")
        .arg(&zip_path)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "verify-export on the demo's export: {}",
        String::from_utf8_lossy(&verified.stdout)
    );

    // The default data folder, in the working directory, holds a SQLite file in WAL mode.
    let db = dir.path().join("canvass-data").join("canvass.db");
    assert!(db.exists(), "{}", db.display());
    assert!(
        dir.path()
            .join("canvass-data")
            .join("canvass.db-wal")
            .exists(),
        "the write-ahead log exists beside the database"
    );
    let mut header = [0_u8; 20];
    std::fs::File::open(&db)
        .unwrap()
        .read_exact(&mut header)
        .unwrap();
    assert_eq!(&header[..16], b"SQLite format 3\0");
    assert_eq!(
        (header[18], header[19]),
        (2, 2),
        "file format versions 2/2 mean WAL mode"
    );
    server.stop();
}
