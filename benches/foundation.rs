//! Foundation figures, each measured against another in the same run:
//!
//! 1. Start-up: time from spawning `canvass serve` on an empty SQLite folder to the first
//!    healthy `/healthz`, and the resident set size once idle.
//! 2. Throughput of an authenticated `GET /api/v1/me` as a ratio to `GET /healthz`, rounds
//!    alternating so machine noise hits both alike.
//!
//! Run: `cargo bench --bench foundation` (results go in BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const STARTS: usize = 10;
const ROUNDS: usize = 3;
const ROUND_SECS: u64 = 5;
const CONNECTIONS: usize = 32;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(dir: &std::path::Path, port: u16, demo: bool) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_canvass"));
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(dir)
    .env("RUST_LOG", "warn")
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if demo {
        cmd.arg("--demo");
    }
    cmd.spawn().expect("spawn canvass")
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

async fn wait_healthy(client: &reqwest::Client, base: &str) -> Duration {
    let start = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("canvass-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn startup(client: &reqwest::Client) {
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for i in 0..STARTS {
        let dir = temp_dir(&format!("start{i}"));
        let port = free_port();
        let mut child = spawn(&dir, port, false);
        let took = wait_healthy(client, &format!("http://127.0.0.1:{port}")).await;
        times.push(took);
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push(rss_kib(child.id()));
        child.kill().ok();
        child.wait().ok();
        let _ = std::fs::remove_dir_all(&dir);
    }
    times.sort();
    rss.sort_unstable();
    println!("start-up to healthy /healthz on an empty SQLite folder ({STARTS} starts):");
    println!(
        "  median {:.1} ms, max {:.1} ms",
        times[STARTS / 2].as_secs_f64() * 1e3,
        times[STARTS - 1].as_secs_f64() * 1e3
    );
    println!(
        "idle resident set size: median {:.1} MB, max {:.1} MB",
        rss[STARTS / 2] as f64 / 1024.0,
        rss[STARTS - 1] as f64 / 1024.0
    );
}

async fn load(client: &reqwest::Client, url: &str, token: Option<&str>) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, url, done, stop) =
            (client.clone(), url.to_owned(), done.clone(), stop.clone());
        let token = token.map(str::to_owned);
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut req = client.get(&url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let r = req.send().await.expect("request");
                assert!(r.status().is_success(), "{url}: {}", r.status());
                r.bytes().await.ok();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(ROUND_SECS)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn throughput(client: &reqwest::Client) {
    let dir = temp_dir("load");
    let port = free_port();
    let mut child = spawn(&dir, port, true);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(client, &base).await;
    // The demo is seeded right after the server is healthy; retry until the resident exists.
    let token = loop {
        let r = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "resident01@riverton.example", "password": "riverton-demo-2026"}))
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            let v: serde_json::Value = r.json().await.unwrap();
            break v["token"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!(
        "throughput, SQLite, {CONNECTIONS} connections, {ROUNDS} alternating rounds of {ROUND_SECS} s (load generator in this process):"
    );
    let (mut health_total, mut me_total) = (0.0, 0.0);
    for round in 1..=ROUNDS {
        let health = load(client, &format!("{base}/healthz"), None).await;
        let me = load(client, &format!("{base}/api/v1/me"), Some(&token)).await;
        println!(
            "  round {round}: /healthz {health:.0} req/s, /api/v1/me {me:.0} req/s, ratio {:.2}",
            me / health
        );
        health_total += health;
        me_total += me;
    }
    println!(
        "  overall ratio GET /api/v1/me : GET /healthz = {:.2}",
        me_total / health_total
    );
    child.kill().ok();
    child.wait().ok();
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and must not run this.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        canvass::install_tls_provider();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CONNECTIONS)
            .build()
            .unwrap();
        startup(&client).await;
        throughput(&client).await;
    });
}
