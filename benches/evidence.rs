//! Evidence figures (issue 5), each measured against another in the same run:
//!
//! 1. Upload throughput over loopback: a 1 GiB MP4 sent in 8 MiB tus chunks to the real server
//!    (SHA-256 included), as a ratio to the raw disk write speed of `dd bs=8M conv=fsync` on
//!    the same disk, in alternating rounds; once with reqwest and once with a lean `sendfile`
//!    client, since the client shares the server's two cores.
//! 2. Peak resident set size of the server during a 2 GiB upload (`VmHWM`, reset before it).
//! 3. SHA-256 throughput of the hashing path (the `sha2` crate over 8 MiB reads, as the server
//!    hashes) against `sha256sum` on the same file, alternating.
//! 4. Export of 1 GiB of evidence: MB/s of `GET /api/v1/requests/{id}/export` to the client,
//!    and the server's peak resident set size while it streams; the ZIP is then checked with
//!    `canvass verify-export`.
//!
//! Run: `cargo bench --bench evidence` (results go in BENCHMARKS.md). Sizes can be lowered
//! with `CANVASS_BENCH_UPLOAD_MIB` and `CANVASS_BENCH_RSS_MIB` for a quick look.
//! `CANVASS_BENCH_BASELINE_BIN=/path/to/canvass` (another build, such as the previous commit's)
//! also runs that build as a second server, and each round uploads to it too, so that a change
//! to the upload path is measured against the code before it in the same run.
//! `CANVASS_BENCH_KEEP=1` keeps the scratch folder (data folders, server logs) for inspection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use support::{
    HOME, Server, json_call, login, median, seed, start_program, start_server, temp_dir,
};

const ROUNDS: usize = 5;
const CHUNK: usize = 8 << 20;

fn env_mib(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Peak resident set size (`VmHWM`) of a process, KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Resets a process's peak resident set size to its current size (Linux `clear_refs` 5).
fn reset_peak_rss(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset VmHWM");
}

/// A valid MP4 of exactly `len` bytes: the fixture clip followed by a `free` box of padding
/// (the server checks the box structure and reads `moov`; padding is legal MP4).
fn make_clip(path: &Path, len: u64) {
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/porch-cam.mp4"
    ))
    .unwrap();
    let pad = len - fixture.len() as u64;
    assert!(pad > 16, "clip too small");
    let mut f = std::io::BufWriter::with_capacity(CHUNK, std::fs::File::create(path).unwrap());
    f.write_all(&fixture).unwrap();
    // A 64-bit box header: size 1, type, then the real size.
    f.write_all(&1u32.to_be_bytes()).unwrap();
    f.write_all(b"free").unwrap();
    f.write_all(&pad.to_be_bytes()).unwrap();
    let mut left = pad - 16;
    let block = vec![0x5au8; CHUNK];
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
}

/// A camera uploading to the server under test: its token, and the footage's start.
struct Camera<'a> {
    client: &'a reqwest::Client,
    base: &'a str,
    device_token: &'a str,
    device_id: &'a str,
    started: DateTime<Utc>,
}

impl Camera<'_> {
    /// Creates a tus upload of the file at `path`; its URL and length.
    async fn create_upload(&self, path: &Path) -> (String, u64) {
        let Camera {
            client,
            base,
            device_token,
            device_id,
            started,
        } = *self;
        let len = std::fs::metadata(path).unwrap().len();
        let meta = format!(
            "device_id {},started_at {},ended_at {},filename {}",
            B64.encode(device_id),
            B64.encode(ts(started)),
            B64.encode(ts(started + chrono::Duration::minutes(10))),
            B64.encode("bench.mp4"),
        );
        let r = client
            .post(format!("{base}/api/v1/uploads"))
            .bearer_auth(device_token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", len.to_string())
            .header("Upload-Metadata", meta)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            201,
            "create: {}",
            r.text().await.unwrap_or_default()
        );
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let url = if location.starts_with("http") {
            location
        } else {
            format!("{base}{location}")
        };
        (url, len)
    }

    /// Uploads `path` through tus in 8 MiB chunks with reqwest; the recording's id.
    async fn tus_upload(&self, path: &Path) -> String {
        let (client, device_token) = (self.client, self.device_token);
        let (url, len) = self.create_upload(path).await;
        // The next chunk is read from disk while the current one is on the wire, as a client
        // that streams a file would.
        let read = |mut file: std::fs::File, n: usize| {
            tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; n];
                file.read_exact(&mut buf).unwrap();
                (file, buf)
            })
        };
        let first = len.min(CHUNK as u64) as usize;
        let mut reading = Some(read(std::fs::File::open(path).unwrap(), first));
        let mut offset = 0u64;
        let mut recording = None;
        while offset < len {
            let (file, buf) = reading
                .take()
                .expect("a chunk is being read")
                .await
                .unwrap();
            let n = buf.len();
            let after = offset + n as u64;
            let following = (len - after).min(CHUNK as u64) as usize;
            if following > 0 {
                reading = Some(read(file, following));
            }
            let r = client
                .patch(&url)
                .bearer_auth(device_token)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Offset", offset.to_string())
                .header("Content-Type", "application/offset+octet-stream")
                .body(buf)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                204,
                "patch at {offset}: {}",
                r.text().await.unwrap_or_default()
            );
            recording = r
                .headers()
                .get("canvass-recording-id")
                .map(|v| v.to_str().unwrap().to_owned());
            offset = after;
        }
        recording.expect("the last PATCH names the recording")
    }

    /// The same upload with a lean client: the tus `PATCH`es go over one keep-alive HTTP/1.1
    /// connection, each body handed to the kernel with `sendfile(2)` straight from the file's page
    /// cache, as a camera or a `sendfile`-based uploader would send a recording. On these 2 shared
    /// cores the reqwest client above spends about a third of the machine's CPU reading each chunk
    /// into memory and copying it into the socket; this one leaves that CPU to the server, so its
    /// figure is the server's own path (receive, SHA-256, write, fsync, commit).
    async fn sendfile_upload(&self, path: &Path) -> String {
        let (base, device_token) = (self.base, self.device_token);
        let (url, len) = self.create_upload(path).await;
        let target = url
            .strip_prefix(base)
            .expect("the upload's location is on this server")
            .to_owned();
        let addr = base.strip_prefix("http://").unwrap().to_owned();
        let (token, path) = (device_token.to_owned(), path.to_owned());
        tokio::task::spawn_blocking(move || {
            use std::io::{BufRead, BufReader};
            let file = std::fs::File::open(&path).unwrap();
            let stream = std::net::TcpStream::connect(&addr).unwrap();
            stream.set_nodelay(true).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            let mut offset = 0u64;
            let mut recording = None;
            while offset < len {
                let n = (len - offset).min(CHUNK as u64);
                // The head in one write, then the body.
                let head = format!(
                    "PATCH {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
                 Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n\
                 Content-Type: application/offset+octet-stream\r\nContent-Length: {n}\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).unwrap();
                let mut at = offset;
                while at < offset + n {
                    let left = (offset + n - at) as usize;
                    let sent = rustix::fs::sendfile(&stream, &file, Some(&mut at), left).unwrap();
                    assert!(sent > 0, "sendfile sent nothing at {at}");
                }
                let mut status = String::new();
                reader.read_line(&mut status).unwrap();
                assert!(
                    status.starts_with("HTTP/1.1 204"),
                    "patch at {offset}: {status}"
                );
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("canvass-recording-id")
                    {
                        recording = Some(value.trim().to_owned());
                    }
                }
                offset += n;
            }
            recording.expect("the last PATCH names the recording")
        })
        .await
        .unwrap()
    }
}

/// Another build of `canvass` serving its own data folder, with a resident and a camera of its
/// own, to compare this build's upload path with (`CANVASS_BENCH_BASELINE_BIN`).
struct Baseline {
    server: Server,
    resident: String,
    device_id: String,
    device_token: String,
}

impl Baseline {
    async fn start(client: &reqwest::Client, program: &Path, data_dir: &Path) -> Baseline {
        let (_agency, [_, _, resident]) = seed(data_dir).await;
        let server = start_program(client, program, data_dir, Duration::from_secs(60), |cmd| {
            cmd.env("CANVASS_REQUIRE_STAFF_MFA", "false");
        })
        .await;
        let resident = login(client, &server.base, &resident).await;
        let device = json_call(
            client,
            reqwest::Method::POST,
            &format!("{}/api/v1/devices", server.base),
            &resident,
            Some(json!({"name": "Porch camera", "location": {"lat": HOME.0, "lon": HOME.1}})),
        )
        .await;
        Baseline {
            server,
            resident,
            device_id: device["id"].as_str().unwrap().to_owned(),
            device_token: device["token"].as_str().unwrap().to_owned(),
        }
    }

    fn camera<'a>(&'a self, client: &'a reqwest::Client, started: DateTime<Utc>) -> Camera<'a> {
        Camera {
            client,
            base: &self.server.base,
            device_token: &self.device_token,
            device_id: &self.device_id,
            started,
        }
    }
}

/// Seconds `dd` takes to write `mib` MiB in 8 MiB blocks and fsync them.
/// `dd` of `mib` MiB of zeros in 8 MiB blocks with `sync`: `conv=fsync` (one fsync at the end,
/// the yardstick) or `oflag=dsync` (each block durable before the next, as each tus
/// chunk is before its offset is acknowledged).
fn dd(dir: &Path, mib: u64, sync: &str) -> Duration {
    let out = dir.join("dd.bin");
    let start = Instant::now();
    let status = Command::new("dd")
        .args(["if=/dev/zero", "bs=8M", &format!("count={}", mib / 8), sync])
        .arg(format!("of={}", out.display()))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let took = start.elapsed();
    assert!(status.success());
    std::fs::remove_file(out).unwrap();
    took
}

fn sha2_path(path: &Path) -> Duration {
    let start = Instant::now();
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; CHUNK];
    let mut h = Sha256::new();
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    std::hint::black_box(h.finalize());
    start.elapsed()
}

fn sha256sum(path: &Path) -> Duration {
    let start = Instant::now();
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    start.elapsed()
}

async fn run() {
    canvass::install_tls_provider();
    let upload_mib = env_mib("CANVASS_BENCH_UPLOAD_MIB", 1024);
    let rss_mib = env_mib("CANVASS_BENCH_RSS_MIB", 2048);
    let dir = temp_dir("evidence");
    let data_dir = dir.join("data");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()
        .unwrap();

    let clip = dir.join("clip.mp4");
    make_clip(&clip, upload_mib << 20);
    let clip_len = upload_mib << 20;

    let (_agency, [investigator, moderator, resident]) = seed(&data_dir).await;
    let server = start_server(&client, &data_dir).await;
    let base = server.base.clone();
    let pid = server.child.id();
    let resident = login(&client, &base, &resident).await;
    let investigator = login(&client, &base, &investigator).await;
    let moderator = login(&client, &base, &moderator).await;
    let device = json_call(
        &client,
        reqwest::Method::POST,
        &format!("{base}/api/v1/devices"),
        &resident,
        Some(json!({"name": "Porch camera", "location": {"lat": HOME.0, "lon": HOME.1}})),
    )
    .await;
    let device_id = device["id"].as_str().unwrap().to_owned();
    let device_token = device["token"].as_str().unwrap().to_owned();
    let footage_end = Utc::now() - chrono::Duration::days(1);
    let started = footage_end - chrono::Duration::minutes(30);
    let camera = Camera {
        client: &client,
        base: &base,
        device_token: &device_token,
        device_id: &device_id,
        started,
    };

    // First, on the freshly started server: its peak memory during one large upload.
    let big = dir.join("big.mp4");
    make_clip(&big, rss_mib << 20);
    reset_peak_rss(pid);
    let before = peak_rss_kib(pid);
    let start = Instant::now();
    let id = camera.tus_upload(&big).await;
    let took = start.elapsed();
    let peak = peak_rss_kib(pid);
    println!(
        "peak RSS of the server during a {rss_mib} MiB upload: {:.1} MB (at the start {:.1} MB; {:.0} MB/s) (goal: under 64 MB: {})",
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        mbps(rss_mib << 20, took),
        if peak < 64 * 1024 { "met" } else { "MISSED" }
    );
    json_call(
        &client,
        reqwest::Method::DELETE,
        &format!("{base}/api/v1/recordings/{id}"),
        &resident,
        None,
    )
    .await;
    std::fs::remove_file(&big).unwrap();

    let baseline = match std::env::var_os("CANVASS_BENCH_BASELINE_BIN") {
        Some(program) => {
            Some(Baseline::start(&client, Path::new(&program), &dir.join("baseline")).await)
        }
        None => None,
    };
    println!(
        "upload of a {upload_mib} MiB MP4 in 8 MiB tus chunks vs dd bs=8M conv=fsync, {ROUNDS} alternating rounds:"
    );
    let (mut ratios, mut lean_ratios) = (Vec::new(), Vec::new());
    let (mut uploads, mut lean_uploads) = (Vec::new(), Vec::new());
    let mut dds = Vec::new();
    let mut against_baseline = Vec::new();
    let delete = async |base: &str, resident: &str, id: String| {
        json_call(
            &client,
            reqwest::Method::DELETE,
            &format!("{base}/api/v1/recordings/{id}"),
            resident,
            None,
        )
        .await;
    };
    for round in 1..=ROUNDS {
        let d = dd(&dir, upload_mib, "conv=fsync");
        let per_chunk = dd(&dir, upload_mib, "oflag=dsync");
        let start = Instant::now();
        let id = camera.tus_upload(&clip).await;
        let u = start.elapsed();
        delete(&base, &resident, id).await;
        // The baseline build, when there is one, goes first in every other round, so neither
        // build always meets the disk just after the other.
        let upload_to_baseline = async || {
            let b = baseline.as_ref()?;
            let start = Instant::now();
            let id = b.camera(&client, started).sendfile_upload(&clip).await;
            let took = start.elapsed();
            delete(&b.server.base, &b.resident, id).await;
            Some(took)
        };
        let mut before = None;
        if round % 2 == 0 {
            before = upload_to_baseline().await;
        }
        let start = Instant::now();
        let id = camera.sendfile_upload(&clip).await;
        let lean = start.elapsed();
        delete(&base, &resident, id).await;
        if round % 2 == 1 {
            before = upload_to_baseline().await;
        }
        if let Some(before) = before {
            let ratio = before.as_secs_f64() / lean.as_secs_f64();
            println!(
                "  round {round}: the baseline build with sendfile {:.0} MB/s; this build : baseline = {ratio:.2}",
                mbps(clip_len, before)
            );
            against_baseline.push(ratio);
        }
        let (um, dm, lm) = (mbps(clip_len, u), mbps(clip_len, d), mbps(clip_len, lean));
        let pm = mbps(clip_len, per_chunk);
        println!(
            "  round {round}: dd {dm:.0} MB/s ({:.2} s), dd oflag=dsync {pm:.0} MB/s; \
             upload with sendfile {lm:.0} MB/s ({:.2} s), ratio {:.2}; \
             upload with reqwest {um:.0} MB/s ({:.2} s), ratio {:.2}",
            d.as_secs_f64(),
            lean.as_secs_f64(),
            lm / dm,
            u.as_secs_f64(),
            um / dm,
        );
        ratios.push(um / dm);
        lean_ratios.push(lm / dm);
        uploads.push(um);
        lean_uploads.push(lm);
        dds.push(dm);
    }
    let (ratio, lean_ratio) = (median(ratios), median(lean_ratios));
    println!(
        "  median: dd {:.0} MB/s; upload with sendfile {:.0} MB/s, ratio {lean_ratio:.2} (goal: at least 0.7: {}); \
         upload with reqwest {:.0} MB/s, ratio {ratio:.2}",
        median(dds),
        median(lean_uploads),
        if lean_ratio >= 0.7 { "met" } else { "MISSED" },
        median(uploads),
    );
    if !against_baseline.is_empty() {
        println!(
            "  median: this build's upload with sendfile : the baseline build's = {:.2}",
            median(against_baseline)
        );
    }

    println!(
        "SHA-256 of the same {upload_mib} MiB file (page cache), {ROUNDS} alternating rounds:"
    );
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let a = mbps(clip_len, sha2_path(&clip));
        let b = mbps(clip_len, sha256sum(&clip));
        println!(
            "  round {round}: sha2 (server's hashing path) {a:.0} MB/s, sha256sum {b:.0} MB/s, ratio {:.2}",
            a / b
        );
        ours.push(a);
        theirs.push(b);
    }
    println!(
        "  median: sha2 {:.0} MB/s, sha256sum {:.0} MB/s",
        median(ours),
        median(theirs)
    );

    // Export: a published request over the camera, the clip shared as evidence.
    let area = json!({"type": "Polygon", "coordinates": [[[-122.663, 45.513], [-122.657, 45.513], [-122.657, 45.517], [-122.663, 45.517], [-122.663, 45.513]]]});
    let request = json_call(&client, reqwest::Method::POST, &format!("{base}/api/v1/requests"), &investigator, Some(json!({
        "incident_type": "package_theft",
        "details": "A package was taken from a porch. Doorbell or driveway footage of the street between these times would help.",
        "footage_start": ts(footage_end - chrono::Duration::hours(2)),
        "footage_end": ts(footage_end),
        "investigator": {"name": "Det. A. Rivera", "phone": "+1-555-0100", "email": "arivera@pd.example"},
        "area": area,
        "investigation_code": "BENCH-1",
        "ongoing_threat": false,
        "suspects": [{"descriptors": {"sex": "male", "age": "20s"}, "distinctive_features": ["red hooded jacket", "black BMX bicycle"]}]
    }))).await;
    let request_id = request["id"].as_str().unwrap().to_owned();
    json_call(
        &client,
        reqwest::Method::POST,
        &format!("{base}/api/v1/moderation/requests/{request_id}/decision"),
        &moderator,
        Some(json!({"decision": "approve", "reasons": [], "note": ""})),
    )
    .await;
    let recording = camera.tus_upload(&clip).await;
    let start = Instant::now();
    json_call(
        &client,
        reqwest::Method::POST,
        &format!("{base}/api/v1/requests/{request_id}/submissions"),
        &resident,
        Some(json!({"recording_ids": [recording], "consent": true})),
    )
    .await;
    println!(
        "sharing the {upload_mib} MiB clip (copy to evidence with its SHA-256 checked): {:.2} s, {:.0} MB/s",
        start.elapsed().as_secs_f64(),
        mbps(clip_len, start.elapsed())
    );
    let zip_path = dir.join("export.zip");
    reset_peak_rss(pid);
    let before = peak_rss_kib(pid);
    let start = Instant::now();
    let mut resp = client
        .get(format!("{base}/api/v1/requests/{request_id}/export"))
        .bearer_auth(&investigator)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "export");
    let mut out =
        std::io::BufWriter::with_capacity(CHUNK, std::fs::File::create(&zip_path).unwrap());
    let mut bytes = 0u64;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        bytes += chunk.len() as u64;
        out.write_all(&chunk).unwrap();
    }
    out.flush().unwrap();
    let took = start.elapsed();
    let peak = peak_rss_kib(pid);
    println!(
        "export of {upload_mib} MiB of evidence: {:.0} MB/s ({bytes} bytes in {:.2} s, hashes re-verified); server peak RSS {:.1} MB (at the start {:.1} MB)",
        mbps(bytes, took),
        took.as_secs_f64(),
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
    let start = Instant::now();
    let verify = Command::new(env!("CARGO_BIN_EXE_canvass"))
        .arg("verify-export")
        .arg(&zip_path)
        .output()
        .unwrap();
    println!(
        "canvass verify-export on it: {} in {:.2} s",
        if verify.status.success() {
            "passed"
        } else {
            "FAILED"
        },
        start.elapsed().as_secs_f64()
    );
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    drop(server);
    drop(baseline);
    if std::env::var_os("CANVASS_BENCH_KEEP").is_some() {
        println!(
            "kept for inspection (CANVASS_BENCH_KEEP): {} (each server's log is its data folder's server.log)",
            dir.display()
        );
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn main() {
    // `cargo test --benches` builds and runs benches with `--bench` absent: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
