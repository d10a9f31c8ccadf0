#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Notifications end to end: publication fans out one outbox row per (resident, channel) to
//! everyone inside the area who has not opted out; the delivery worker sends them by email to a
//! real SMTP server (the sink in `support/smtp_sink.rs`) and by Web Push to a real push service
//! (`support/push_service.rs`, which checks VAPID and decrypts); opting out cancels what is
//! queued; gone push subscriptions are removed; transient failures are retried with backoff and
//! given up on; and a `kill -9` of the real binary in the middle of delivery, followed by a
//! restart, leaves every eligible resident with one notification per channel.

mod common;
#[path = "support/push_service.rs"]
mod push_service;
#[path = "support/smtp_sink.rs"]
mod smtp_sink;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use canvass::domain::Role;
use canvass::domain::push::PushSubscription;
use canvass::jobs::email::{incident_label, timeframe_label};
use canvass::jobs::push::PushSender;
use canvass::store::{Db, NewAgency, NewUser, ResidentSettings};
use chrono::{DateTime, Duration, Utc};
use common::requests::{Staff, approval, staff, valid_request};
use common::{AGENCY, Reply, Session, TempDir, TestApp, clear_canvass_env, time};
use push_service::PushService;
use serde_json::{Value, json};
use smtp_sink::SmtpSink;
use sqlx::Row;
use tokio::io::AsyncWriteExt;

/// Where `TestApp::account` puts every resident's home: (lon, lat).
const HOME: (f64, f64) = (-122.66, 45.515);
/// A spot in Riverton well away from `HOME`: (lon, lat).
const ELSEWHERE: (f64, f64) = (-122.68, 45.505);
/// Width and height (degrees of longitude and latitude) of the request area around `HOME`
/// (`valid_request`'s `home_area`).
const AREA_W: f64 = 0.006;
const AREA_H: f64 = 0.004;

/// The i-th of `n` homes spread over a grid strictly inside the request area: (lat, lon).
fn inside(i: usize, n: usize) -> (f64, f64) {
    let cols = (n as f64).sqrt().ceil().max(2.0) as usize;
    let rows = n.div_ceil(cols).max(2);
    // 90% of the area, so every home is clear of the edges.
    let (w, h) = (AREA_W * 0.9, AREA_H * 0.9);
    let (c, r) = (i % cols, i / cols);
    let lon = HOME.0 - w / 2.0 + w * c as f64 / (cols - 1) as f64;
    let lat = HOME.1 - h / 2.0 + h * r as f64 / (rows - 1) as f64;
    (lat, lon)
}

/// Creates a request and has it approved (published) over HTTP; answers the published request.
async fn publish(base: &str, investigator: &str, moderator: &str, code: &str) -> Value {
    let client = canvass::http_client();
    let r = TestApp::reply(
        client
            .post(format!("{base}/api/v1/requests"))
            .bearer_auth(investigator)
            .json(&valid_request(code))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.expect(201, None);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = TestApp::reply(
        client
            .post(format!("{base}/api/v1/moderation/requests/{id}/decision"))
            .bearer_auth(moderator)
            .json(&approval())
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.expect(200, None);
    assert_eq!(r.body["status"], "published", "{}", r.text);
    assert!(r.body["public_id"].is_string(), "{}", r.text);
    r.body
}

async fn put_settings(t: &TestApp, who: &Session, community: bool, push: bool, email: bool) {
    let r = t
        .call(
            "PUT",
            "/api/v1/me/settings",
            Some(&who.token),
            Some(json!({"community_requests": community, "push": push, "email": email})),
        )
        .await;
    r.expect(200, None);
    assert_eq!(
        r.body,
        json!({"community_requests": community, "push": push, "email": email})
    );
}

async fn get_settings(t: &TestApp, who: &Session) -> Value {
    let r = t.get("/api/v1/me/settings", Some(&who.token)).await;
    r.expect(200, None);
    r.body
}

/// Registers a browser subscription over HTTP, as the resident's browser would.
async fn register_push(t: &TestApp, who: &Session, sub: &PushSubscription) {
    let r = t
        .post(
            "/api/v1/me/push-subscriptions",
            Some(&who.token),
            sub.to_json(),
        )
        .await;
    r.expect(201, None);
}

/// The server's VAPID public key: a subscription made with it as `applicationServerKey` makes
/// the push service refuse pushes signed by any other key.
fn vapid_public_key(data_dir: &Path) -> String {
    PushSender::load_or_create(data_dir, "mailto:ops@test.example".into())
        .unwrap()
        .public_key_base64url()
}

// ---------------------------------------------------------------------------------------------
// The outbox, read with SQL
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct OutboxRow {
    user_id: String,
    channel: String,
    state: String,
    attempts: i64,
    next_attempt_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    claimed_until: Option<String>,
    last_error: Option<String>,
}

fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("stored time {s:?}: {e}"))
        .with_timezone(&Utc)
}

async fn outbox(db: &Db, request_id: &str) -> Vec<OutboxRow> {
    let rows = sqlx::query(
        "SELECT user_id, channel, state, attempts, next_attempt_at, updated_at, claimed_until, \
         last_error FROM notification_outbox WHERE request_id = $1 ORDER BY user_id, channel",
    )
    .bind(request_id)
    .fetch_all(db.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| OutboxRow {
            user_id: r.try_get("user_id").unwrap(),
            channel: r.try_get("channel").unwrap(),
            state: r.try_get("state").unwrap(),
            attempts: r.try_get("attempts").unwrap(),
            next_attempt_at: parse_time(&r.try_get::<String, _>("next_attempt_at").unwrap()),
            updated_at: parse_time(&r.try_get::<String, _>("updated_at").unwrap()),
            claimed_until: r.try_get("claimed_until").unwrap(),
            last_error: r.try_get("last_error").unwrap(),
        })
        .collect()
}

/// Whether the fan-out job of a request has finished.
async fn fanout_done(db: &Db, request_id: &str) -> bool {
    let done: Option<Option<String>> =
        sqlx::query_scalar("SELECT done_at FROM fanout_jobs WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(db.pool())
            .await
            .unwrap();
    matches!(done, Some(Some(_)))
}

fn find<'a>(rows: &'a [OutboxRow], user: &Session, channel: &str) -> Option<&'a OutboxRow> {
    rows.iter()
        .find(|r| r.user_id == user.id && r.channel == channel)
}

#[track_caller]
fn row<'a>(rows: &'a [OutboxRow], user: &Session, channel: &str) -> &'a OutboxRow {
    find(rows, user, channel)
        .unwrap_or_else(|| panic!("no {channel} row for {}: {rows:#?}", user.email))
}

/// Polls the request's outbox until `done` holds for it (after its fan-out finished).
async fn wait_outbox(
    db: &Db,
    request_id: &str,
    what: &str,
    timeout: StdDuration,
    done: impl Fn(&[OutboxRow]) -> bool,
) -> Vec<OutboxRow> {
    let deadline = Instant::now() + timeout;
    loop {
        if fanout_done(db, request_id).await {
            let rows = outbox(db, request_id).await;
            if done(&rows) {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; outbox: {rows:#?}"
            );
        } else {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: the fan-out job never finished"
            );
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

/// Waits until the fan-out is done and no row of the request is pending.
async fn wait_settled(db: &Db, request_id: &str, timeout: StdDuration) -> Vec<OutboxRow> {
    wait_outbox(db, request_id, "every row settled", timeout, |rows| {
        rows.iter().all(|r| r.state != "pending")
    })
    .await
}

/// A pending, unclaimed row that has been tried `attempts` times.
fn retrying(r: Option<&OutboxRow>, attempts: i64) -> bool {
    r.is_some_and(|r| r.state == "pending" && r.attempts >= attempts && r.claimed_until.is_none())
}

/// Makes the request's retrying rows due now, instead of after their backoff (the code's
/// timing is untouched: only the stored due time moves).
async fn make_due(db: &Db, request_id: &str) {
    sqlx::query(
        "UPDATE notification_outbox SET next_attempt_at = $1 \
         WHERE request_id = $2 AND state = 'pending' AND claimed_until IS NULL",
    )
    .bind(canvass::store::ts(Utc::now() - Duration::seconds(1)))
    .bind(request_id)
    .execute(db.pool())
    .await
    .unwrap();
}

async fn subscriptions_at(db: &Db, endpoint: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM push_subscriptions WHERE endpoint = $1")
        .bind(endpoint)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

/// The pushes the service decrypted, as JSON, by endpoint.
fn pushes_by_endpoint(service: &PushService) -> BTreeMap<String, Vec<Value>> {
    let mut by: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in service.received() {
        by.entry(r.endpoint.clone())
            .or_default()
            .push(serde_json::from_slice(&r.plaintext).unwrap());
    }
    by
}

/// The emails the sink received, by recipient.
fn emails_by_recipient(sink: &SmtpSink) -> BTreeMap<String, Vec<smtp_sink::Received>> {
    let mut by: BTreeMap<String, Vec<smtp_sink::Received>> = BTreeMap::new();
    for m in sink.messages() {
        assert_eq!(m.rcpt_to.len(), 1, "one recipient per message");
        by.entry(m.rcpt_to[0].clone()).or_default().push(m);
    }
    by
}

// ---------------------------------------------------------------------------------------------
// Publication notifies everyone inside, once per channel
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn publication_notifies_every_resident_inside_who_has_not_opted_out_once_per_channel() {
    common::announce(
        "publication_notifies_every_resident_inside_who_has_not_opted_out_once_per_channel",
    );
    let sink = SmtpSink::start().await;
    let service = PushService::start().await;
    let t = TestApp::start_with(|a| {
        a.smtp_url = Some(sink.url());
        a.push_allow_loopback_http = Some("true".into());
    })
    .await;
    let db = &t.app().db;
    let vapid = vapid_public_key(&t.app().settings.data_dir);
    let Staff {
        investigator,
        moderator,
        ..
    } = staff(&t).await;

    // Thirty residents inside; every third has a browser registered for push.
    const N: usize = 30;
    let mut plain = Vec::new();
    let mut subs: BTreeMap<String, PushSubscription> = BTreeMap::new();
    for i in 0..N {
        let (lat, lon) = inside(i, N);
        let r = t.resident_at(lat, lon).await;
        if i % 3 == 0 {
            let sub = service.subscribe(Some(&vapid));
            register_push(&t, &r, &sub).await;
            subs.insert(r.id.clone(), sub);
        }
        plain.push(r);
    }
    // Inside, each with a browser: one opted out of Community Requests, one with email off,
    // one with push off.
    let mut special = Vec::new();
    for (k, (community, push, email)) in [
        (false, true, true),
        (true, true, false),
        (true, false, true),
    ]
    .into_iter()
    .enumerate()
    {
        let r = t
            .resident_at(HOME.1 - 0.0005 * k as f64, HOME.0 + 0.0004)
            .await;
        let sub = service.subscribe(Some(&vapid));
        register_push(&t, &r, &sub).await;
        subs.insert(r.id.clone(), sub);
        put_settings(&t, &r, community, push, email).await;
        special.push(r);
    }
    let (opted_out, email_off, push_off) = (&special[0], &special[1], &special[2]);
    // On the north edge of the area (computed as the area's corner is): inside.
    let on_edge = t.resident_at(HOME.1 + AREA_H / 2.0, HOME.0).await;
    // Outside: across town, and just past the north and east edges; two with browsers.
    let mut outside = Vec::new();
    for (lat, lon) in [
        (ELSEWHERE.1, ELSEWHERE.0),
        (HOME.1 + AREA_H / 2.0 + 0.0004, HOME.0),
        (HOME.1, HOME.0 + AREA_W / 2.0 + 0.0005),
    ] {
        let r = t.resident_at(lat, lon).await;
        if outside.len() < 2 {
            let sub = service.subscribe(Some(&vapid));
            register_push(&t, &r, &sub).await;
            subs.insert(r.id.clone(), sub);
        }
        outside.push(r);
    }

    let started = Instant::now();
    let published = publish(&t.base, &investigator.token, &moderator.token, "C-1").await;
    let request_id = published["id"].as_str().unwrap();
    let public_id = published["public_id"].as_str().unwrap();
    let rows = wait_settled(db, request_id, StdDuration::from_secs(60)).await;
    let elapsed = started.elapsed();

    // Who should hear, and how.
    let mut want_email: Vec<&Session> = Vec::new();
    let mut want_push: Vec<&Session> = Vec::new();
    for r in plain.iter().chain([email_off, push_off, &on_edge]) {
        if r.id != email_off.id {
            want_email.push(r);
        }
        if r.id != push_off.id && subs.contains_key(&r.id) {
            want_push.push(r);
        }
    }
    assert_eq!(want_email.len(), N + 2);
    assert_eq!(want_push.len(), N / 3 + 1);

    // The outbox: exactly one row per (resident, channel) wanted, each sent at the first try.
    let got: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.user_id.clone(), r.channel.clone()))
        .collect();
    let wanted: BTreeSet<(String, String)> = want_email
        .iter()
        .map(|r| (r.id.clone(), "email".to_owned()))
        .chain(want_push.iter().map(|r| (r.id.clone(), "push".to_owned())))
        .collect();
    assert_eq!(got, wanted, "outbox rows: {rows:#?}");
    assert_eq!(rows.len(), wanted.len(), "one row per resident and channel");
    for r in &rows {
        assert_eq!((r.state.as_str(), r.attempts), ("sent", 1), "{r:?}");
        assert!(r.claimed_until.is_none(), "{r:?}");
    }

    // Email: one per resident, saying who asks, what, when, with the link and the unsubscribe.
    let footage_start = time(&published["footage_start"]);
    let footage_end = time(&published["footage_end"]);
    let timeframe = timeframe_label(footage_start, footage_end);
    let share_link = format!("{}/r/{public_id}", t.base);
    let emails = emails_by_recipient(&sink);
    let recipients: BTreeSet<&str> = emails.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = want_email.iter().map(|r| r.email.as_str()).collect();
    assert_eq!(recipients, expected, "email recipients");
    for who in &want_email {
        let got = &emails[&who.email];
        assert_eq!(got.len(), 1, "{} got {} emails", who.email, got.len());
        let m = &got[0];
        assert_eq!(
            m.header("To").unwrap(),
            format!("\"Test Person\" <{}>", who.email)
        );
        assert_eq!(
            m.header("Subject").unwrap(),
            format!("Community Request from {AGENCY}: Package theft")
        );
        assert_eq!(
            m.header("Message-ID").unwrap(),
            format!("<{request_id}.{}@127.0.0.1>", who.id),
            "the Message-ID is made from the request and the resident"
        );
        let unsubscribe = canvass::jobs::delivery::unsubscribe_url(t.app(), &who.id);
        assert!(unsubscribe.starts_with(&format!("{}/api/v1/unsubscribe/", t.base)));
        assert_eq!(
            m.header("List-Unsubscribe").unwrap(),
            format!("<{unsubscribe}>")
        );
        assert_eq!(
            m.header("List-Unsubscribe-Post").unwrap(),
            "List-Unsubscribe=One-Click"
        );
        let body = m.body_text();
        let prose = body.replace('\n', " ");
        for wanted in [
            format!("{AGENCY} has posted a Community Request"),
            "Incident: Package theft".to_owned(),
            format!("Footage wanted: {timeframe}"),
        ] {
            assert!(prose.contains(&wanted), "{wanted:?} missing from:\n{body}");
        }
        assert!(
            body.contains(&format!("\n{share_link}\n")),
            "the share link on its own line:\n{body}"
        );
        assert!(
            body.trim_end().ends_with(&unsubscribe),
            "the unsubscribe link closes the body:\n{body}"
        );
    }

    // Push: one per resident with push on and a browser, decrypted by the browser's key.
    let pushes = pushes_by_endpoint(&service);
    let endpoints: BTreeSet<&str> = pushes.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = want_push
        .iter()
        .map(|r| subs[&r.id].endpoint.as_str())
        .collect();
    assert_eq!(endpoints, expected, "push endpoints");
    for got in pushes.values() {
        assert_eq!(got.len(), 1, "one push per browser: {got:?}");
        assert_eq!(
            got[0],
            json!({
                "title": format!("Community Request from {AGENCY}"),
                "body": format!("{} — {timeframe}", incident_label("package_theft")),
                "url": share_link,
            })
        );
    }
    assert!(
        service.rejections().is_empty(),
        "{:?}",
        service.rejections()
    );

    // Nobody outside, and not the resident who opted out, heard anything.
    for r in outside.iter().chain([opted_out]) {
        assert!(!emails.contains_key(&r.email), "{} got an email", r.email);
        if let Some(sub) = subs.get(&r.id) {
            assert!(
                service.received_for(sub).is_empty(),
                "{} got a push",
                r.email
            );
        }
        assert!(find(&rows, r, "email").is_none() && find(&rows, r, "push").is_none());
    }
    // Settings are what the residents set.
    assert_eq!(
        get_settings(&t, opted_out).await,
        json!({"community_requests": false, "push": true, "email": true})
    );

    println!(
        "{} emails and {} pushes delivered {:.2} s after the approval (fan-out runs each second)",
        want_email.len(),
        want_push.len(),
        elapsed.as_secs_f64()
    );
    t.stop().await;
}

/// Waits until `count()` reaches `n`; answers the time from the first arrival to the last.
async fn time_arrivals(what: &str, n: usize, count: impl Fn() -> usize) -> StdDuration {
    let deadline = Instant::now() + StdDuration::from_secs(300);
    let mut first = None;
    loop {
        let c = count();
        if c > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        if c >= n {
            return first.unwrap().elapsed();
        }
        assert!(Instant::now() < deadline, "only {c} of {n} {what} arrived");
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn three_hundred_residents_get_one_email_then_one_push_each_through_the_worker() {
    common::announce("three_hundred_residents_get_one_email_then_one_push_each_through_the_worker");
    let sink = SmtpSink::start().await;
    let service = PushService::start().await;
    let t = TestApp::start_with(|a| {
        a.smtp_url = Some(sink.url());
        a.push_allow_loopback_http = Some("true".into());
    })
    .await;
    let db = &t.app().db;
    let vapid = vapid_public_key(&t.app().settings.data_dir);
    let Staff {
        investigator,
        moderator,
        ..
    } = staff(&t).await;
    const N: usize = 300;
    let hash = canvass::domain::password::hash(common::PASSWORD).unwrap();
    let mut residents = Vec::new();
    for i in 0..N {
        let email = t.email("neighbour");
        let user = db
            .insert_user(
                &NewUser {
                    email: &email,
                    password_hash: &hash,
                    role: Role::Resident,
                    agency_id: None,
                    display_name: None,
                    home_address: Some("1 Any St, Riverton, OR 97214"),
                    home: Some(inside(i, N)),
                },
                Utc::now(),
            )
            .await
            .unwrap();
        let sub = service.subscribe(Some(&vapid));
        db.save_push_subscription(
            &user.id,
            &sub.endpoint,
            &URL_SAFE_NO_PAD.encode(&sub.p256dh),
            &URL_SAFE_NO_PAD.encode(&sub.auth),
            Utc::now(),
        )
        .await
        .unwrap();
        residents.push((user.id, email, sub));
    }
    let set_all = async |push: bool, email: bool| {
        for (id, _, _) in &residents {
            let s = ResidentSettings {
                community_requests: true,
                push,
                email,
            };
            db.save_resident_settings(id, s, Utc::now()).await.unwrap();
        }
    };

    // Email only.
    set_all(false, true).await;
    let approved = Instant::now();
    let first = publish(&t.base, &investigator.token, &moderator.token, "C-1").await;
    let took = time_arrivals("emails", N, || sink.messages().len()).await;
    let total = approved.elapsed();
    let rows = wait_settled(
        db,
        first["id"].as_str().unwrap(),
        StdDuration::from_secs(60),
    )
    .await;
    assert_eq!(rows.len(), N);
    assert!(
        rows.iter()
            .all(|r| r.channel == "email" && r.state == "sent")
    );
    let emails = emails_by_recipient(&sink);
    assert_eq!(emails.len(), N);
    assert!(residents.iter().all(|(_, e, _)| emails[e].len() == 1));
    println!(
        "{N} emails: {:.0} emails/s from the first to the last; all in {:.1} s after the approval",
        (N - 1) as f64 / took.as_secs_f64(),
        total.as_secs_f64()
    );

    // Push only.
    set_all(true, false).await;
    let approved = Instant::now();
    let second = publish(&t.base, &investigator.token, &moderator.token, "C-2").await;
    let took = time_arrivals("pushes", N, || service.received().len()).await;
    let total = approved.elapsed();
    let rows = wait_settled(
        db,
        second["id"].as_str().unwrap(),
        StdDuration::from_secs(60),
    )
    .await;
    assert_eq!(rows.len(), N);
    assert!(
        rows.iter()
            .all(|r| r.channel == "push" && r.state == "sent")
    );
    let pushes = pushes_by_endpoint(&service);
    assert_eq!(pushes.len(), N);
    assert!(
        residents
            .iter()
            .all(|(_, _, s)| pushes[&s.endpoint].len() == 1)
    );
    assert_eq!(sink.messages().len(), N, "no email the second time");
    println!(
        "{N} pushes: {:.0} pushes/s from the first to the last; all in {:.1} s after the approval",
        (N - 1) as f64 / took.as_secs_f64(),
        total.as_secs_f64()
    );
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The unsubscribe link
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_unsubscribe_link_in_an_email_turns_email_off_with_one_post() {
    common::announce("the_unsubscribe_link_in_an_email_turns_email_off_with_one_post");
    let sink = SmtpSink::start().await;
    let t = TestApp::start_with(|a| a.smtp_url = Some(sink.url())).await;
    let db = &t.app().db;
    let Staff {
        investigator,
        moderator,
        ..
    } = staff(&t).await;
    let ada = t.resident_at(HOME.1, HOME.0).await;
    let bob = t.resident_at(HOME.1 + 0.0005, HOME.0).await;

    let published = publish(&t.base, &investigator.token, &moderator.token, "C-1").await;
    let request_id = published["id"].as_str().unwrap();
    wait_settled(db, request_id, StdDuration::from_secs(60)).await;
    let emails = emails_by_recipient(&sink);
    let m = &emails[&ada.email][0];
    let link = m
        .header("List-Unsubscribe")
        .unwrap()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    assert!(m.body_text().trim_end().ends_with(&link));
    let token = link.rsplit('/').next().unwrap().to_owned();
    let on = json!({"community_requests": true, "push": true, "email": true});
    let client = canvass::http_client();

    // A GET (what a mail scanner or a click does) shows a page with the button, and changes
    // nothing.
    let page = TestApp::reply(client.get(&link).send().await.unwrap()).await;
    page.expect(200, None);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        page.headers
    );
    assert!(
        page.text
            .contains(&format!("action=\"/api/v1/unsubscribe/{token}\"")),
        "{}",
        page.text
    );
    assert!(page.text.contains("method=\"post\""), "{}", page.text);
    assert_eq!(get_settings(&t, &ada).await, on);

    // Forged links: a token signed with another key, Ada's MAC on Bob's id, a token for another
    // purpose, and garbage. Each is 404 and changes nothing.
    let bob_with_ada_mac = {
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let mac = &bytes[bytes.len() - 16..];
        let mut forged = bob.id.as_bytes().to_vec();
        forged.extend_from_slice(mac);
        URL_SAFE_NO_PAD.encode(forged)
    };
    for forged in [
        canvass::domain::cursor::seal(&[7_u8; 32], "unsubscribe", &bob.id),
        bob_with_ada_mac,
        canvass::domain::cursor::seal(&t.app().cursor_key, "feed-cursor", &bob.id),
        "not-a-token".to_owned(),
    ] {
        let r = TestApp::reply(
            client
                .post(format!("{}/api/v1/unsubscribe/{forged}", t.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.expect(404, Some("not_found"));
    }
    assert_eq!(get_settings(&t, &bob).await, on);
    assert_eq!(get_settings(&t, &ada).await, on);

    // One-click (RFC 8058): the mail program POSTs `List-Unsubscribe=One-Click`, no sign-in.
    for _ in 0..2 {
        let r = TestApp::reply(
            client
                .post(&link)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.expect(200, None);
        assert!(r.text.contains("Unsubscribed"), "{}", r.text);
    }
    assert_eq!(
        get_settings(&t, &ada).await,
        json!({"community_requests": true, "push": true, "email": false}),
        "email off; the rest unchanged"
    );
    assert_eq!(get_settings(&t, &bob).await, on, "only the link's resident");

    // The next publication emails Bob, not Ada.
    let second = publish(&t.base, &investigator.token, &moderator.token, "C-2").await;
    let second_id = second["id"].as_str().unwrap();
    let rows = wait_settled(db, second_id, StdDuration::from_secs(60)).await;
    assert!(find(&rows, &ada, "email").is_none(), "{rows:#?}");
    assert_eq!(row(&rows, &bob, "email").state, "sent");
    let emails = emails_by_recipient(&sink);
    assert_eq!(emails[&ada.email].len(), 1);
    assert_eq!(emails[&bob.email].len(), 2);
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Opting out cancels what is queued
// ---------------------------------------------------------------------------------------------

/// A door in front of the SMTP sink: shut, it greets with `421` and hangs up (a relay that is
/// down for a while); open, it forwards connections to the sink.
struct Gate {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Gate {
    async fn start(target: &str) -> Gate {
        let target: SocketAddr = target.trim_start_matches("smtp://").parse().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicUsize::new(0));
        let (o, n) = (open.clone(), refused.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if o.load(Ordering::SeqCst) {
                    tokio::spawn(async move {
                        let mut server = tokio::net::TcpStream::connect(target).await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    });
                } else {
                    n.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        let _ = client
                            .write_all(b"421 4.3.2 gate.test not available, try again later\r\n")
                            .await;
                    });
                }
            }
        });
        Gate {
            addr,
            open,
            refused,
            task,
        }
    }

    fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }
}

#[tokio::test]
async fn opting_out_cancels_queued_notifications_and_they_are_never_sent() {
    common::announce("opting_out_cancels_queued_notifications_and_they_are_never_sent");
    let sink = SmtpSink::start().await;
    let gate = Gate::start(&sink.url()).await;
    let service = PushService::start().await;
    let t = TestApp::start_with(|a| {
        a.smtp_url = Some(gate.url());
        a.push_allow_loopback_http = Some("true".into());
    })
    .await;
    let db = &t.app().db;
    let vapid = vapid_public_key(&t.app().settings.data_dir);
    let Staff {
        investigator,
        moderator,
        ..
    } = staff(&t).await;

    // Ann will opt out of everything; her browser's push service is failing, so her push is
    // queued for a retry too. Ben keeps everything (email only). Cy turns email off; his push
    // goes through at once.
    let ann = t.resident_at(HOME.1, HOME.0).await;
    let ann_sub = service.subscribe(Some(&vapid));
    register_push(&t, &ann, &ann_sub).await;
    service.answer_with(&ann_sub, 503);
    let ben = t.resident_at(HOME.1 + 0.0005, HOME.0).await;
    let cy = t.resident_at(HOME.1 - 0.0005, HOME.0).await;
    let cy_sub = service.subscribe(Some(&vapid));
    register_push(&t, &cy, &cy_sub).await;

    let published = publish(&t.base, &investigator.token, &moderator.token, "C-1").await;
    let request_id = published["id"].as_str().unwrap();
    // Every email was tried once and is waiting for its retry; Ann's push too.
    let rows = wait_outbox(
        db,
        request_id,
        "the first attempts",
        StdDuration::from_secs(60),
        |rows| {
            rows.len() == 5
                && [&ann, &ben, &cy]
                    .iter()
                    .all(|r| retrying(find(rows, r, "email"), 1))
                && retrying(find(rows, &ann, "push"), 1)
                && find(rows, &cy, "push").is_some_and(|r| r.state == "sent")
        },
    )
    .await;
    assert!(gate.refused.load(Ordering::SeqCst) >= 3);
    for r in [
        row(&rows, &ann, "email"),
        row(&rows, &ben, "email"),
        row(&rows, &ann, "push"),
    ] {
        assert!(
            r.next_attempt_at > Utc::now(),
            "a retry is scheduled: {r:?}"
        );
        assert!(
            r.last_error.as_deref().is_some_and(|e| !e.is_empty()),
            "{r:?}"
        );
    }
    assert!(sink.messages().is_empty());

    // Ann opts out: both her queued rows are cancelled by the time the answer comes.
    put_settings(&t, &ann, false, true, true).await;
    let rows = outbox(db, request_id).await;
    assert_eq!(row(&rows, &ann, "email").state, "cancelled");
    assert_eq!(row(&rows, &ann, "push").state, "cancelled");
    assert_eq!(row(&rows, &ben, "email").state, "pending");
    assert_eq!(row(&rows, &cy, "email").state, "pending");
    // Cy turns email off: only his email is cancelled; his push stays sent.
    put_settings(&t, &cy, true, true, false).await;
    let rows = outbox(db, request_id).await;
    assert_eq!(row(&rows, &cy, "email").state, "cancelled");
    assert_eq!(row(&rows, &cy, "push").state, "sent");
    assert_eq!(row(&rows, &ben, "email").state, "pending");
    // Ann's feed is empty now; Ben's still has the request.
    let feed = t.get("/api/v1/feed", Some(&ann.token)).await;
    feed.expect(200, None);
    assert_eq!(feed.body["items"], json!([]));
    let feed = t.get("/api/v1/feed", Some(&ben.token)).await;
    feed.expect(200, None);
    assert_eq!(feed.body["items"][0]["id"], request_id);

    // The relay comes back and every retry falls due now.
    gate.open.store(true, Ordering::SeqCst);
    make_due(db, request_id).await;
    let rows = wait_settled(db, request_id, StdDuration::from_secs(60)).await;
    let ben_email = row(&rows, &ben, "email");
    assert_eq!((ben_email.state.as_str(), ben_email.attempts), ("sent", 2));
    for (who, channel) in [(&ann, "email"), (&ann, "push"), (&cy, "email")] {
        let r = row(&rows, who, channel);
        assert_eq!(
            (r.state.as_str(), r.attempts),
            ("cancelled", 1),
            "never tried again: {r:?}"
        );
    }
    let emails = emails_by_recipient(&sink);
    assert_eq!(
        emails.keys().collect::<Vec<_>>(),
        [&ben.email],
        "only Ben's email went out"
    );
    assert_eq!(emails[&ben.email].len(), 1);
    assert!(service.received_for(&ann_sub).is_empty());
    assert_eq!(service.received_for(&cy_sub).len(), 1);

    // Later publications queue nothing for Ann, and only push for Cy.
    let second = publish(&t.base, &investigator.token, &moderator.token, "C-2").await;
    let rows = wait_settled(
        db,
        second["id"].as_str().unwrap(),
        StdDuration::from_secs(60),
    )
    .await;
    let got: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.user_id.clone(), r.channel.clone()))
        .collect();
    assert_eq!(
        got,
        BTreeSet::from([
            (ben.id.clone(), "email".to_owned()),
            (cy.id.clone(), "push".to_owned())
        ])
    );
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Push failures: gone subscriptions, retries with backoff, giving up
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn gone_push_subscriptions_are_removed_and_failing_services_are_retried_then_given_up() {
    common::announce(
        "gone_push_subscriptions_are_removed_and_failing_services_are_retried_then_given_up",
    );
    let service = PushService::start().await;
    // No smtp_url: email is off, so only push rows are queued.
    let t = TestApp::start_with(|a| {
        a.push_allow_loopback_http = Some("true".into());
        a.delivery_max_attempts = Some("3".into());
    })
    .await;
    let db = &t.app().db;
    let vapid = vapid_public_key(&t.app().settings.data_dir);
    let Staff {
        investigator,
        moderator,
        ..
    } = staff(&t).await;

    let mut people = Vec::new();
    for k in 0..5 {
        people.push(t.resident_at(HOME.1 + 0.0003 * k as f64, HOME.0).await);
    }
    let [gone410, gone404, mixed, failing, healthy] = &people[..] else {
        unreachable!()
    };
    let subscribe = async |who: &Session, status: Option<u16>| {
        let sub = service.subscribe(Some(&vapid));
        register_push(&t, who, &sub).await;
        if let Some(s) = status {
            service.answer_with(&sub, s);
        }
        sub
    };
    let sub410 = subscribe(gone410, Some(410)).await;
    let sub404 = subscribe(gone404, Some(404)).await;
    let mixed_gone = subscribe(mixed, Some(410)).await;
    let mixed_ok = subscribe(mixed, None).await;
    let sub500 = subscribe(failing, Some(500)).await;
    let sub_ok = subscribe(healthy, None).await;

    let published = publish(&t.base, &investigator.token, &moderator.token, "C-1").await;
    let request_id = published["id"].as_str().unwrap();
    let rows = wait_outbox(
        db,
        request_id,
        "everyone but the failing service settled",
        StdDuration::from_secs(60),
        |rows| {
            rows.len() == 5
                && rows
                    .iter()
                    .all(|r| r.user_id == failing.id || r.state != "pending")
                && retrying(find(rows, failing, "push"), 1)
        },
    )
    .await;
    assert!(
        rows.iter().all(|r| r.channel == "push"),
        "email is off without smtp_url: {rows:#?}"
    );

    // 410 and 404: the subscription is deleted; with no other browser the row fails.
    for (who, sub) in [(gone410, &sub410), (gone404, &sub404)] {
        let r = row(&rows, who, "push");
        assert_eq!((r.state.as_str(), r.attempts), ("failed", 1), "{r:?}");
        assert_eq!(
            r.last_error.as_deref(),
            Some("every push service refused or forgot the subscription")
        );
        assert_eq!(
            subscriptions_at(db, &sub.endpoint).await,
            0,
            "{}",
            who.email
        );
    }
    // One browser gone, the other took it: sent; only the gone one is deleted.
    assert_eq!(row(&rows, mixed, "push").state, "sent");
    assert_eq!(subscriptions_at(db, &mixed_gone.endpoint).await, 0);
    assert_eq!(subscriptions_at(db, &mixed_ok.endpoint).await, 1);
    assert_eq!(service.received_for(&mixed_ok).len(), 1);
    assert_eq!(row(&rows, healthy, "push").state, "sent");
    assert_eq!(service.received_for(&sub_ok).len(), 1);

    // 500: retried after 30 s, then 60 s, then given up at the third attempt.
    let first = row(&rows, failing, "push").clone();
    assert_eq!(
        first.next_attempt_at - first.updated_at,
        Duration::seconds(30)
    );
    assert!(
        first
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("500")),
        "{first:?}"
    );
    make_due(db, request_id).await;
    let rows = wait_outbox(
        db,
        request_id,
        "the second attempt",
        StdDuration::from_secs(30),
        |rows| retrying(find(rows, failing, "push"), 2),
    )
    .await;
    let second = row(&rows, failing, "push").clone();
    assert_eq!(second.attempts, 2);
    assert_eq!(
        second.next_attempt_at - second.updated_at,
        Duration::seconds(60)
    );
    assert!(
        second.next_attempt_at > first.next_attempt_at,
        "moves forward"
    );
    make_due(db, request_id).await;
    let rows = wait_settled(db, request_id, StdDuration::from_secs(30)).await;
    let last = row(&rows, failing, "push");
    assert_eq!(
        (last.state.as_str(), last.attempts),
        ("failed", 3),
        "{last:?}"
    );
    assert!(
        last.last_error
            .as_deref()
            .is_some_and(|e| e.contains("500"))
    );
    assert_eq!(
        subscriptions_at(db, &sub500.endpoint).await,
        1,
        "a failing service does not cost the resident their subscription"
    );
    assert!(service.received_for(&sub500).is_empty());
    assert!(
        service.rejections().is_empty(),
        "{:?}",
        service.rejections()
    );

    // The next publication queues no push for those whose only browser is gone.
    let again = publish(&t.base, &investigator.token, &moderator.token, "C-2").await;
    let rows = wait_outbox(
        db,
        again["id"].as_str().unwrap(),
        "the second request's first attempts",
        StdDuration::from_secs(60),
        |rows| rows.iter().all(|r| r.state != "pending" || r.attempts >= 1),
    )
    .await;
    let got: BTreeSet<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
    assert_eq!(
        got,
        BTreeSet::from([mixed.id.as_str(), failing.id.as_str(), healthy.id.as_str()])
    );
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// kill -9 in the middle of delivery
// ---------------------------------------------------------------------------------------------

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn collect(pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

/// `canvass serve` as a separate process; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
    output: Arc<Mutex<String>>,
}

impl Server {
    async fn start(data_dir: &Path, database_url: &str, smtp_url: &str) -> Server {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_canvass"));
        cmd.args([
            "serve",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--listen",
            &listen,
            "--database-url",
            database_url,
            "--smtp-url",
            smtp_url,
            "--require-staff-mfa",
            "false",
            "--push-allow-loopback-http",
            "true",
            "--login-rate-per-minute",
            "1000",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        clear_canvass_env(&mut cmd);
        cmd.env("RUST_LOG", "info,sqlx=warn");
        let mut child = cmd.spawn().expect("the binary starts");
        let output = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().unwrap(), output.clone());
        collect(child.stderr.take().unwrap(), output.clone());
        let mut server = Server {
            child,
            base: format!("http://{listen}"),
            output,
        };
        let client = canvass::http_client();
        let deadline = Instant::now() + StdDuration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the server exited ({status}): {}", server.output());
            }
            if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
                && r.status().is_success()
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not come up: {}",
                server.output()
            );
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
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

/// A relay in front of the SMTP sink that can hold back one `250 2.0.0 queued` (the answer to
/// a message's final dot): the sink has the message, the client never hears so.
struct Relay {
    addr: SocketAddr,
    /// Hold back the next `250 2.0.0 queued`.
    armed: Arc<AtomicBool>,
    /// One was held back.
    held: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    async fn start(target: &str) -> Relay {
        use tokio::io::AsyncBufReadExt;
        let target: SocketAddr = target.trim_start_matches("smtp://").parse().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let armed = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicBool::new(false));
        let (a, h) = (armed.clone(), held.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (a, h) = (a.clone(), h.clone());
                tokio::spawn(async move {
                    let server = tokio::net::TcpStream::connect(target).await.unwrap();
                    let (mut client_read, mut client_write) = client.into_split();
                    let (server_read, mut server_write) = server.into_split();
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                        let _ = server_write.shutdown().await;
                    });
                    let mut replies = tokio::io::BufReader::new(server_read);
                    let mut line = Vec::new();
                    loop {
                        line.clear();
                        match replies.read_until(b'\n', &mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line.starts_with(b"250 2.0.0 queued") && a.swap(false, Ordering::SeqCst)
                        {
                            h.store(true, Ordering::SeqCst);
                            // Keep the connection open and silent until the client is gone.
                            tokio::time::sleep(StdDuration::from_secs(120)).await;
                            return;
                        }
                        if client_write.write_all(&line).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Relay {
            addr,
            armed,
            held,
            task,
        }
    }

    fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }
}

/// Counts the outbox's rows by state, and those pending under a live claim.
async fn outbox_states(db: &Db) -> (BTreeMap<String, i64>, i64) {
    let mut by = BTreeMap::new();
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM notification_outbox GROUP BY state")
        .fetch_all(db.pool())
        .await
        .unwrap();
    for r in rows {
        by.insert(r.try_get("state").unwrap(), r.try_get("n").unwrap());
    }
    let claimed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notification_outbox WHERE state = 'pending' AND claimed_until IS NOT NULL",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    (by, claimed)
}

async fn login(base: &str, email: &str) -> String {
    let r: Reply = TestApp::reply(
        canvass::http_client()
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": common::PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.expect(200, None);
    r.body["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_9_during_delivery_and_a_restart_notify_every_resident_once_per_channel() {
    common::announce(
        "a_kill_9_during_delivery_and_a_restart_notify_every_resident_once_per_channel",
    );
    const INSIDE: usize = 2_000;
    let dir = TempDir(
        std::env::temp_dir().join(format!("canvass-crash-{}", uuid::Uuid::new_v4().simple())),
    );
    std::fs::create_dir_all(&dir.0).unwrap();
    let data_dir = dir.0.as_path();
    let database_url = common::fresh_database_url(data_dir).await;
    let sink = SmtpSink::start().await;
    let service = PushService::start().await;
    // The server reads the VAPID key this makes at its first start.
    let vapid = vapid_public_key(data_dir);

    // Seed straight into the database: staff, 2,000 residents inside the area (every tenth
    // with a browser, every hundredth opted out) and 20 outside.
    let seeding = Instant::now();
    let db = Db::connect(&database_url).await.unwrap();
    let now = Utc::now();
    let jurisdiction = common::riverton();
    let agency = db
        .insert_agency(
            &NewAgency {
                name: AGENCY,
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
    let hash = canvass::domain::password::hash(common::PASSWORD).unwrap();
    for (email, role, agency_id) in [
        (
            "inv@pd.example",
            Role::Investigator,
            Some(agency.id.as_str()),
        ),
        ("mod@canvass.example", Role::Moderator, None),
    ] {
        let staff = NewUser {
            email,
            password_hash: &hash,
            role,
            agency_id,
            display_name: None,
            home_address: None,
            home: None,
        };
        db.insert_user(&staff, now).await.unwrap();
    }
    let mut want_email: BTreeMap<String, String> = BTreeMap::new(); // email -> user id
    let mut want_push: BTreeMap<String, String> = BTreeMap::new(); // endpoint -> user id
    let mut unwanted_emails = BTreeSet::new();
    let mut unwanted_endpoints = BTreeSet::new();
    for i in 0..INSIDE + 20 {
        let email = format!("r{i:05}@homes.example");
        let home = if i < INSIDE {
            inside(i, INSIDE)
        } else {
            (ELSEWHERE.1 + 0.0001 * (i - INSIDE) as f64, ELSEWHERE.0)
        };
        let user = db
            .insert_user(
                &NewUser {
                    email: &email,
                    password_hash: &hash,
                    role: Role::Resident,
                    agency_id: None,
                    display_name: Some("Neighbour"),
                    home_address: Some("1 Any St, Riverton, OR 97214"),
                    home: Some(home),
                },
                now,
            )
            .await
            .unwrap();
        let sub = (i % 10 == 0).then(|| service.subscribe(Some(&vapid)));
        if let Some(s) = &sub {
            db.save_push_subscription(
                &user.id,
                &s.endpoint,
                &URL_SAFE_NO_PAD.encode(&s.p256dh),
                &URL_SAFE_NO_PAD.encode(&s.auth),
                now,
            )
            .await
            .unwrap();
        }
        let opted_out = i % 100 == 7;
        if opted_out {
            db.save_resident_settings(
                &user.id,
                ResidentSettings {
                    community_requests: false,
                    push: true,
                    email: true,
                },
                now,
            )
            .await
            .unwrap();
        }
        if i < INSIDE && !opted_out {
            want_email.insert(email, user.id.clone());
            if let Some(s) = sub {
                want_push.insert(s.endpoint, user.id);
            }
        } else {
            unwanted_emails.insert(email);
            if let Some(s) = sub {
                unwanted_endpoints.insert(s.endpoint);
            }
        }
    }
    db.close().await;
    println!(
        "seeded {} residents ({} to email, {} to push) in {:.1} s",
        INSIDE + 20,
        want_email.len(),
        want_push.len(),
        seeding.elapsed().as_secs_f64()
    );

    let relay = Relay::start(&sink.url()).await;
    let mut server = Server::start(data_dir, &database_url, &relay.url()).await;
    let investigator = login(&server.base, "inv@pd.example").await;
    let moderator = login(&server.base, "mod@canvass.example").await;
    let approved = Instant::now();
    let published = publish(&server.base, &investigator, &moderator, "C-1").await;
    let request_id = published["id"].as_str().unwrap().to_owned();

    // Two crashes. The first comes once a few emails are out, at the worst moment: the sink
    // has taken a message (250 after DATA) but the relay holds that answer back, so the server
    // cannot have marked it sent. The second comes wherever delivery is after 600 emails.
    let mut kills = Vec::new();
    let mut held = None;
    for (k, wait_for) in [5, 600].into_iter().enumerate() {
        let deadline = Instant::now() + StdDuration::from_secs(120);
        while sink.messages().len() < wait_for {
            assert!(
                Instant::now() < deadline,
                "no delivery under way: {}",
                server.output()
            );
            tokio::time::sleep(StdDuration::from_millis(2)).await;
        }
        if k == 0 {
            relay.armed.store(true, Ordering::SeqCst);
            while !relay.held.load(Ordering::SeqCst) {
                assert!(Instant::now() < deadline, "no message to hold back");
                tokio::time::sleep(StdDuration::from_millis(1)).await;
            }
        }
        server.kill_9();
        let (emails, pushes) = (sink.messages().len(), service.received().len());
        let db = Db::connect(&database_url).await.unwrap();
        let (states, claimed) = outbox_states(&db).await;
        if k == 0 {
            // Accepted by the sink but not recorded as sent: the held message, and perhaps
            // others that were in flight beside it (a worker sends CONCURRENCY at once).
            let rows = outbox(&db, &request_id).await;
            let in_flight: Vec<String> = sink
                .messages()
                .iter()
                .map(|m| m.rcpt_to[0].clone())
                .filter(|to| {
                    rows.iter().any(|r| {
                        r.user_id == want_email[to] && r.channel == "email" && r.state == "pending"
                    })
                })
                .collect();
            assert!(
                (1..=canvass::jobs::delivery::CONCURRENCY).contains(&in_flight.len()),
                "accepted by the sink, not marked sent: {in_flight:?}"
            );
            for to in &in_flight {
                let r = rows
                    .iter()
                    .find(|r| r.user_id == want_email[to] && r.channel == "email")
                    .unwrap();
                assert!(r.claimed_until.is_some(), "{r:?}");
            }
            held = Some(in_flight);
        }
        // The dead worker's claims would block their rows for the 5-minute lease; end them as
        // that time passing would.
        sqlx::query(
            "UPDATE notification_outbox SET claimed_until = $1 \
             WHERE state = 'pending' AND claimed_until IS NOT NULL",
        )
        .bind(canvass::store::ts(Utc::now() - Duration::seconds(1)))
        .execute(db.pool())
        .await
        .unwrap();
        db.close().await;
        println!(
            "kill -9 after {:.2} s: {emails} emails and {pushes} pushes out; outbox {states:?}, \
             {claimed} rows under the dead worker's lease",
            approved.elapsed().as_secs_f64()
        );
        kills.push(claimed);
        server = Server::start(data_dir, &database_url, &relay.url()).await;
    }

    // The last run delivers the rest; time it.
    let restarted = Instant::now();
    let (e0, p0) = (sink.messages().len(), service.received().len());
    let db = Db::connect(&database_url).await.unwrap();
    let mut last_change = restarted;
    let mut counts = (e0, p0);
    let deadline = Instant::now() + StdDuration::from_secs(300);
    let mut checked = Instant::now();
    loop {
        let now_counts = (sink.messages().len(), service.received().len());
        if now_counts != counts {
            counts = now_counts;
            last_change = Instant::now();
        }
        if checked.elapsed() > StdDuration::from_millis(250) {
            checked = Instant::now();
            let pending: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM notification_outbox WHERE state = 'pending'",
            )
            .fetch_one(db.pool())
            .await
            .unwrap();
            if pending == 0 && fanout_done(&db, &request_id).await {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "delivery did not finish; server output:\n{}",
            server.output()
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    let phase = (last_change - restarted).as_secs_f64();
    let (e1, p1) = counts;
    println!(
        "after the last restart: {} emails and {} pushes in {phase:.2} s by the one delivery \
         worker: {:.0} emails/s, {:.0} pushes/s, {:.0} notifications/s together",
        e1 - e0,
        p1 - p0,
        (e1 - e0) as f64 / phase,
        (p1 - p0) as f64 / phase,
        (e1 - e0 + p1 - p0) as f64 / phase
    );

    // The outbox: one row per (eligible resident, channel), every one sent.
    let rows = outbox(&db, &request_id).await;
    let got: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.user_id.clone(), r.channel.clone()))
        .collect();
    let wanted: BTreeSet<(String, String)> = want_email
        .values()
        .map(|id| (id.clone(), "email".to_owned()))
        .chain(want_push.values().map(|id| (id.clone(), "push".to_owned())))
        .collect();
    assert_eq!(rows.len(), got.len());
    assert_eq!(
        got, wanted,
        "the outbox holds exactly the eligible (resident, channel)s"
    );
    let not_sent: Vec<&OutboxRow> = rows.iter().filter(|r| r.state != "sent").collect();
    assert!(not_sent.is_empty(), "{not_sent:#?}");
    db.close().await;

    // Email: every eligible resident has it, under the one Message-ID of (request, resident).
    let emails = emails_by_recipient(&sink);
    let recipients: BTreeSet<&String> = emails.keys().collect();
    assert_eq!(recipients, want_email.keys().collect::<BTreeSet<_>>());
    assert!(emails.keys().all(|e| !unwanted_emails.contains(e)));
    let mut email_repeats = Vec::new();
    for (to, got) in &emails {
        let id = format!("<{request_id}.{}@127.0.0.1>", want_email[to]);
        for m in got {
            assert_eq!(m.header("Message-ID").unwrap(), id, "{to}");
        }
        if got.len() > 1 {
            email_repeats.push((to.clone(), got.len()));
        }
    }
    // Push: every eligible browser has it.
    let pushes = pushes_by_endpoint(&service);
    assert_eq!(
        pushes.keys().collect::<BTreeSet<_>>(),
        want_push.keys().collect::<BTreeSet<_>>()
    );
    assert!(pushes.keys().all(|e| !unwanted_endpoints.contains(e)));
    let push_repeats: Vec<(String, usize)> = pushes
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, v)| (k.clone(), v.len()))
        .collect();
    println!(
        "{} emails to {} residents and {} pushes to {} browsers; sent again after a kill \
         (accepted by the server before the kill, not yet marked sent): emails {email_repeats:?}, \
         pushes {push_repeats:?}",
        sink.messages().len(),
        emails.len(),
        service.received().len(),
        pushes.len()
    );
    // The message held back at the first kill went again after the restart, under the same
    // Message-ID (checked above), so the receiving side can tell it is the same message.
    for to in held.unwrap() {
        assert_eq!(
            emails[&to].len(),
            2,
            "{to}: sent, killed before recorded, sent again"
        );
    }
    // A worker has at most `CONCURRENCY` notifications in flight, so each kill can catch at
    // most that many handed over but not yet recorded; each went again under its Message-ID.
    let repeats: usize = email_repeats
        .iter()
        .chain(&push_repeats)
        .map(|(_, n)| n - 1)
        .sum();
    assert!(
        (1..=kills.len() * canvass::jobs::delivery::CONCURRENCY).contains(&repeats),
        "{repeats} repeats after {} kills: emails {email_repeats:?}, pushes {push_repeats:?}",
        kills.len()
    );

    // An unsubscribe link from an email sent before the first kill still works: the key that
    // signs it survived the restarts.
    let first = &sink.messages()[0];
    let link = first.header("List-Unsubscribe").unwrap();
    let path = link
        .trim_start_matches('<')
        .trim_end_matches('>')
        .split_once("/api/")
        .map(|(_, p)| format!("/api/{p}"))
        .unwrap();
    let r = canvass::http_client()
        .post(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let db = Db::connect(&database_url).await.unwrap();
    let user = &want_email[&first.rcpt_to[0]];
    let settings = db.resident_settings(user).await.unwrap().unwrap();
    assert!(!settings.email && settings.community_requests);
    db.close().await;
    server.kill_9();
}
