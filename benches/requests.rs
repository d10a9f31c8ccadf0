//! Community-request figures (issue 3), each against another in the same run:
//!
//! 1. Validation, guideline pre-screening and area measurement of a request with a
//!    1,000-vertex polygon and 2,000 characters of details (and each part on its own).
//! 2. The transparency log: 100,000 appends through the store, each in its own transaction as
//!    publication does, on SQLite and on PostgreSQL (appends per second), then inclusion and
//!    consistency proofs at 100,000 entries (median).
//!
//! Run: `cargo bench --bench requests` (PostgreSQL from CANVASS_BENCH_POSTGRES_URL, default
//! postgres://postgres@127.0.0.1:5432/postgres; skipped, and said so, when it does not answer).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use canvass::domain::area::{self, Shape};
use canvass::domain::guidelines::{self, ScreenContext};
use canvass::domain::merkle;
use canvass::domain::request::{self, Contact, Draft, RequestLimits};
use canvass::store::{Db, RequestContent};
use chrono::Utc;
use serde_json::json;

const RUNS: usize = 300;
const ENTRIES: u64 = 100_000;
const PROOFS: usize = 300;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn details() -> String {
    let sentence = "A package was taken from a porch on the 400 block of Elm St by a man in a red \
        hooded jacket riding a black BMX bicycle; neighbours saw him around 9 pm. ";
    let mut text = sentence.repeat(2_000 / sentence.len() + 1);
    text.truncate(2_000);
    text
}

fn polygon(vertices: usize) -> serde_json::Value {
    // A circle of about 0.1 square miles in Riverton, with `vertices` distinct positions.
    let ring: Vec<[f64; 2]> = (0..=vertices)
        .map(|i| {
            let a = std::f64::consts::TAU * (i % vertices) as f64 / vertices as f64;
            [-122.66 + 0.0035 * a.cos(), 45.515 + 0.0024 * a.sin()]
        })
        .collect();
    json!({"type": "Polygon", "coordinates": [ring]})
}

fn validation() {
    let now = Utc::now();
    let jurisdiction = area::parse(
        &json!({"type": "Polygon", "coordinates": [[[-122.69, 45.50], [-122.63, 45.50], [-122.63, 45.53], [-122.69, 45.53], [-122.69, 45.50]]]}),
        Shape::PolygonOrMulti,
    )
    .unwrap();
    let draft = Draft {
        incident_type: "package_theft".into(),
        details: details(),
        footage_start: (now - chrono::Duration::hours(5)).to_rfc3339(),
        footage_end: (now - chrono::Duration::hours(3)).to_rfc3339(),
        investigator: Contact {
            name: "Det. A. Rivera".into(),
            phone: "+1-555-0100".into(),
            email: "arivera@pd.example".into(),
        },
        area: polygon(1_000),
        investigation_code: "2026-004512".into(),
        ongoing_threat: false,
        suspects: vec![],
    };
    let limits = RequestLimits::default();
    let ctx = ScreenContext::default();
    let (mut total, mut validate_only, mut screen_only) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let valid = request::validate(&draft, &jurisdiction, now, &limits).unwrap();
        let findings = guidelines::screen(&valid.details, &ctx);
        total.push(t.elapsed());
        std::hint::black_box(findings);
        let t = Instant::now();
        std::hint::black_box(request::validate(&draft, &jurisdiction, now, &limits).unwrap());
        validate_only.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(guidelines::screen(&draft.details, &ctx));
        screen_only.push(t.elapsed());
    }
    println!(
        "request with a 1,000-vertex area and 2,000 characters of details ({RUNS} runs, median):"
    );
    println!(
        "  validation + area measurement + jurisdiction + pre-screen: {}",
        ms(median(total))
    );
    println!(
        "  of which validation and area: {}",
        ms(median(validate_only))
    );
    println!(
        "  of which the guideline pre-screen: {}",
        ms(median(screen_only))
    );
}

async fn seed_requests(db: &Db, n: u64) -> Vec<String> {
    // One agency, one investigator, then n pending requests for the log entries to refer to.
    let now = Utc::now();
    let jurisdiction = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]});
    let agency = db
        .insert_agency(
            &canvass::store::NewAgency {
                name: "Bench PD",
                kind: "law_enforcement",
                jurisdiction: &jurisdiction,
                verified: true,
                evidence_enabled: true,
                time_zone: "UTC",
            },
            now,
        )
        .await
        .unwrap();
    let user = db
        .insert_user(
            &canvass::store::NewUser {
                email: "bench@pd.example",
                password_hash: "x",
                role: canvass::domain::Role::Investigator,
                agency_id: Some(&agency.id),
                display_name: None,
                home_address: None,
                home: None,
            },
            now,
        )
        .await
        .unwrap();
    let content = RequestContent {
        incident_type: "package_theft".into(),
        details: "bench".into(),
        footage_start: now,
        footage_end: now,
        contact_name: "Det".into(),
        contact_phone: "+1-555-0100".into(),
        contact_email: "d@pd.example".into(),
        area: jurisdiction.clone(),
        area_sq_mi: 0.1,
        investigation_code: String::new(),
        ongoing_threat: false,
        suspects: json!([]),
    };
    let mut ids = Vec::with_capacity(n as usize);
    let mut tx = db.begin().await.unwrap();
    for i in 0..n {
        let content = RequestContent {
            investigation_code: format!("B-{i}"),
            ..content.clone()
        };
        ids.push(
            tx.insert_request(&agency.id, &user.id, &content, &json!([]), now)
                .await
                .unwrap(),
        );
        if i % 10_000 == 9_999 {
            tx.commit().await.unwrap();
            tx = db.begin().await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    ids
}

async fn log_figures(name: &str, url: &str) {
    let db = Db::connect(url).await.unwrap();
    let ids = seed_requests(&db, ENTRIES).await;
    // The publication path's log work, one transaction per entry.
    let started = Instant::now();
    for id in &ids {
        let mut tx = db.begin().await.unwrap();
        let index = tx.reserve_log_index().await.unwrap();
        let entry = format!("{{\"id\":\"{id}\"}}");
        let leaf = merkle::leaf_hash(entry.as_bytes());
        let known = tx.log_nodes(&merkle::append_needs(index)).await.unwrap();
        let nodes = merkle::append(index, leaf, &known).unwrap();
        tx.append_log(index, id, &entry, &leaf, &nodes)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let took = started.elapsed();
    let size = db.log_size().await.unwrap();
    assert_eq!(size, ENTRIES);
    let root = merkle::root(
        size,
        &db.log_nodes(&merkle::root_needs(size)).await.unwrap(),
    )
    .unwrap();
    let (mut inclusion, mut consistency) = (Vec::new(), Vec::new());
    for i in 0..PROOFS {
        let index = (i as u64 * 7_919) % size;
        let t = Instant::now();
        let known = db
            .log_nodes(&merkle::inclusion_needs(index, size).unwrap())
            .await
            .unwrap();
        let proof = merkle::inclusion_proof(index, size, &known).unwrap();
        inclusion.push(t.elapsed());
        let leaf = merkle::leaf_hash(db.log_entry(index).await.unwrap().unwrap().as_bytes());
        assert!(merkle::verify_inclusion(&leaf, index, size, &proof, &root));
        let old = 1 + (i as u64 * 6_007) % (size - 1);
        let t = Instant::now();
        let known = db
            .log_nodes(&merkle::consistency_needs(old, size).unwrap())
            .await
            .unwrap();
        std::hint::black_box(merkle::consistency_proof(old, size, &known).unwrap());
        consistency.push(t.elapsed());
    }
    println!("transparency log on {name}:");
    println!(
        "  {ENTRIES} appends in {:.1} s: {:.0} appends/s (one transaction each)",
        took.as_secs_f64(),
        ENTRIES as f64 / took.as_secs_f64()
    );
    println!(
        "  inclusion proof at {size} entries, from the database: median {}",
        ms(median(inclusion))
    );
    println!(
        "  consistency proof to {size} entries, from the database: median {}",
        ms(median(consistency))
    );
    db.close().await;
}

async fn postgres_database() -> Option<String> {
    let server = std::env::var("CANVASS_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&server)
        .await
        .ok()?;
    let name = format!("canvass_bench_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut conn)
    .await
    .ok()?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .ok()?;
    let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    validation();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("canvass-bench-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        log_figures(
            "SQLite",
            &format!("sqlite://{}", dir.join("log.db").display()),
        )
        .await;
        let _ = std::fs::remove_dir_all(&dir);
        match postgres_database().await {
            Some(url) => log_figures("PostgreSQL", &url).await,
            None => println!("transparency log on PostgreSQL: SKIPPED (no server answers)"),
        }
    });
}
