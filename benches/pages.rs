//! Page figures (issue 6), measured against other figures in the same run:
//!
//! 1. Server time to render the resident's feed page (`GET /feed`) with 20 requests in the
//!    feed: median and 90th percentile over loopback, in rounds alternating with the JSON feed
//!    of the same 20 requests (`GET /api/v1/feed`) and with `/healthz` (the floor: a request
//!    that does no work), so the cost of the HTML itself reads as the difference.
//! 2. The page's bytes as sent (gzip, as a browser asks) and unpacked.
//!
//! Page transfer sizes in a real browser (every page with its scripts, styles and images,
//! without map tiles) come from the browser tests, which fail past 300 KB:
//! `CANVASS_UPDATE_SCREENSHOTS=1 cargo nextest run --test browser` writes
//! `docs/screenshots/page-sizes.md`.
//!
//! Run: `cargo bench --bench pages` (results go in BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use chrono::{Duration as Days, SecondsFormat, Utc};
use reqwest::header;
use serde_json::json;
use support::{HOME, json_call, login, median, quantile, seed, start_server, temp_dir};

/// Requests in the resident's feed.
const FEED: usize = 20;
/// Rounds; each times every path `PER_ROUND` times.
const ROUNDS: usize = 10;
const PER_ROUND: usize = 50;

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// A request over the resident's home, unique by `n`.
fn request(n: usize) -> serde_json::Value {
    let end = Utc::now() - Days::days(2) - Days::minutes(n as i64);
    let t = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let (lat, lon) = HOME;
    let d = 0.003 + 0.0001 * n as f64;
    json!({
        "incident_type": "package_theft",
        "details": format!("Package {n} was taken from a porch on the 400 block of Elm St. Doorbell or driveway footage of the street between these times would help."),
        "footage_start": t(end - Days::hours(2)),
        "footage_end": t(end),
        "investigator": {"name": "Det. A. Rivera", "phone": "+1-555-0100", "email": "arivera@pd.example"},
        "area": {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]]},
        "investigation_code": format!("BENCH-{n}"),
        "ongoing_threat": false,
        "suspects": []
    })
}

/// Times one GET of `url` with the session cookie `token`; the body's length.
async fn time_get(client: &reqwest::Client, url: &str, token: &str) -> (Duration, usize) {
    let start = Instant::now();
    let r = client
        .get(url)
        .header(header::COOKIE, format!("canvass_session={token}"))
        .header(header::ACCEPT, "text/html,application/json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    let body = r.bytes().await.unwrap();
    (start.elapsed(), body.len())
}

async fn run() {
    canvass::install_tls_provider();
    let dir = temp_dir("pages");
    let data_dir = dir.join("data");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let (_agency, [investigator, moderator, resident]) = seed(&data_dir).await;
    let server = start_server(&client, &data_dir).await;
    let base = server.base.clone();
    let investigator = login(&client, &base, &investigator).await;
    let moderator = login(&client, &base, &moderator).await;
    let resident = login(&client, &base, &resident).await;
    for n in 0..FEED {
        let created = json_call(
            &client,
            reqwest::Method::POST,
            &format!("{base}/api/v1/requests"),
            &investigator,
            Some(request(n)),
        )
        .await;
        let id = created["id"].as_str().unwrap();
        json_call(
            &client,
            reqwest::Method::POST,
            &format!("{base}/api/v1/moderation/requests/{id}/decision"),
            &moderator,
            Some(json!({"decision": "approve"})),
        )
        .await;
    }
    let feed = json_call(
        &client,
        reqwest::Method::GET,
        &format!("{base}/api/v1/feed"),
        &resident,
        None,
    )
    .await;
    let items = feed["items"].as_array().map_or(0, Vec::len);
    assert_eq!(items, FEED, "the feed holds every request: {feed}");

    let paths = ["/feed", "/api/v1/feed", "/healthz"];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); paths.len()];
    // Warm-up: connections, caches, the template environment.
    for path in paths {
        for _ in 0..20 {
            time_get(&client, &format!("{base}{path}"), &resident).await;
        }
    }
    let mut page_bytes = 0;
    for _ in 0..ROUNDS {
        for (i, path) in paths.iter().enumerate() {
            for _ in 0..PER_ROUND {
                let (took, len) = time_get(&client, &format!("{base}{path}"), &resident).await;
                times[i].push(took);
                if i == 0 {
                    page_bytes = len;
                }
            }
        }
    }
    let page = client
        .get(format!("{base}/feed"))
        .header(header::COOKIE, format!("canvass_session={resident}"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    let encoding = page
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .to_owned();
    let sent = page.bytes().await.unwrap().len();

    println!(
        "feed page with {FEED} requests, {} samples each, alternating rounds:",
        ROUNDS * PER_ROUND
    );
    for (path, t) in paths.iter().zip(times) {
        println!(
            "  GET {path:<14} median {}  p90 {}",
            ms(median(t.clone())),
            ms(quantile(t, 0.9))
        );
    }
    println!(
        "  the page: {page_bytes} bytes of HTML; {sent} bytes sent with Accept-Encoding: gzip ({encoding})"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
