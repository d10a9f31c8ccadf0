//! Web Push end to end: the sender encrypts and signs, a real local push service (HTTP on
//! 127.0.0.1) checks the VAPID token, decrypts with the browser's private key, and answers as
//! told.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/push_service.rs"]
mod push_service;

use std::time::Instant;

use canvass::domain::push::{PushSubscription, parse_subscription};
use canvass::jobs::push::{PushError, PushOutcome, PushSender, notification_payload};
use push_service::PushService;
use serde_json::{Value, json};

const SUBJECT: &str = "mailto:operator@canvass.test";

fn sender() -> PushSender {
    let mut secret = [0_u8; 32];
    rand::fill(&mut secret);
    PushSender::new(&secret, SUBJECT.into()).unwrap()
}

/// A service, a sender, and a subscription bound to the sender's key, as a browser makes it
/// and as the API would store it (through the browser JSON and the validation).
async fn setup() -> (PushService, PushSender, PushSubscription) {
    let service = PushService::start().await;
    let sender = sender();
    let browser = service.subscribe(Some(&sender.public_key_base64url()));
    let sub = parse_subscription(&browser.to_json(), true).unwrap();
    (service, sender, sub)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_push_is_delivered_and_decrypts_to_the_notification() {
    let (service, sender, sub) = setup().await;
    let payload = notification_payload(
        "Springfield Police Department",
        "Package theft",
        "12 May 2026, 21:00–23:00",
        "http://127.0.0.1:8080/r/AbC123",
    );
    let outcome = sender.send(&sub, &payload, 3600).await.unwrap();
    assert_eq!(outcome, PushOutcome::Delivered);
    assert!(
        service.rejections().is_empty(),
        "{:?}",
        service.rejections()
    );

    let got = service.received_for(&sub);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].plaintext, payload);
    let shown: Value = serde_json::from_slice(&got[0].plaintext).unwrap();
    assert_eq!(
        shown["title"],
        "Community Request from Springfield Police Department"
    );
    assert_eq!(shown["body"], "Package theft — 12 May 2026, 21:00–23:00");
    assert_eq!(shown["url"], "http://127.0.0.1:8080/r/AbC123");
    assert_eq!(got[0].ttl, "3600");
    assert_eq!(got[0].urgency.as_deref(), Some("normal"));
    // One aes128gcm record: 86-byte header, the payload, a delimiter and a 16-byte tag.
    assert_eq!(got[0].body_len, 86 + payload.len() + 1 + 16);
}

#[tokio::test]
async fn the_vapid_jwt_verifies_with_the_right_claims() {
    let (service, sender, sub) = setup().await;
    let before = now();
    sender.send(&sub, b"{}", 60).await.unwrap();
    let got = service.received_for(&sub);
    assert_eq!(got.len(), 1, "rejections: {:?}", service.rejections());
    // The service already verified the signature with k=; the claims are what RFC 8292 asks.
    let r = &got[0];
    assert_eq!(r.vapid_key, sender.public_key_base64url());
    assert_eq!(r.jwt_header["alg"], "ES256");
    assert_eq!(r.jwt_header["typ"], "JWT");
    assert_eq!(r.claims["aud"], service.origin());
    assert!(r.claims["aud"].as_str().unwrap().contains(':'), "port kept");
    assert_eq!(r.claims["sub"], SUBJECT);
    let exp = r.claims["exp"].as_i64().unwrap();
    assert!(exp > before && exp <= now() + 24 * 3600, "exp {exp}");
}

#[tokio::test]
async fn a_push_signed_by_another_key_is_refused_for_good() {
    let (service, _sender, sub) = setup().await;
    let stranger = sender();
    let err = stranger.send(&sub, b"{}", 60).await.unwrap_err();
    assert!(
        matches!(err, PushError::Rejected { status: 403, .. }),
        "{err}"
    );
    assert!(err.is_permanent());
    assert!(service.received().is_empty());
    assert_eq!(service.rejections().len(), 1);
}

#[tokio::test]
async fn gone_subscriptions_answer_gone() {
    let (service, sender, sub) = setup().await;
    for status in [410, 404] {
        service.answer_with(&sub, status);
        let outcome = sender.send(&sub, b"{}", 60).await.unwrap();
        assert_eq!(outcome, PushOutcome::Gone, "{status}");
    }
    let other = service.subscribe(None);
    service.unsubscribe(&other);
    assert_eq!(
        sender.send(&other, b"{}", 60).await.unwrap(),
        PushOutcome::Gone
    );
    assert!(service.received().is_empty());
}

#[tokio::test]
async fn busy_or_failing_services_are_transient_and_refusals_permanent() {
    let (service, sender, sub) = setup().await;
    for (status, permanent) in [(500, false), (503, false), (429, false), (400, true)] {
        service.answer_with(&sub, status);
        let err = sender.send(&sub, b"{}", 60).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err}");
        assert_eq!(err.is_permanent(), permanent, "{status}: {err}");
        assert!(err.to_string().contains("as the test asked"), "{err}");
    }
}

#[tokio::test]
async fn an_unreachable_service_is_transient() {
    // A port that was just free: nothing listens there now.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let service = PushService::start().await;
    let mut sub = service.subscribe(None);
    sub.endpoint = format!("http://127.0.0.1:{port}/push/nobody");
    let err = sender().send(&sub, b"{}", 60).await.unwrap_err();
    assert!(matches!(err, PushError::Network(_)), "{err}");
    assert!(!err.is_permanent());
    assert!(
        !err.to_string().contains("nobody"),
        "endpoint kept out: {err}"
    );
}

#[tokio::test]
async fn a_host_name_that_resolves_into_the_servers_network_gets_no_connection() {
    // This machine's own host name, which its resolver maps to one of its own addresses: a
    // name that passes the subscription check but points into the server's network.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim().to_owned();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let resolved: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map(|a| a.collect())
        .unwrap_or_default();
    let own = |a: &std::net::SocketAddr| match a.ip() {
        std::net::IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        std::net::IpAddr::V6(v6) => v6.is_loopback(),
    };
    if host.is_empty() || resolved.is_empty() || !resolved.iter().all(own) {
        eprintln!(
            "SKIPPED a_host_name_that_resolves_into_the_servers_network_gets_no_connection: \
             the host name {host:?} does not resolve to this machine ({resolved:?})"
        );
        return;
    }
    let service = PushService::start().await;
    let mut browser = service.subscribe(None);
    browser.endpoint = format!("https://{host}:{port}/push/someone");
    let sub = parse_subscription(&browser.to_json(), false)
        .expect("a plain host name passes the subscription check");

    let err = sender().send(&sub, b"{}", 60).await.unwrap_err();
    let mut reasons = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(&err);
    while let Some(e) = cause {
        reasons.push(e.to_string());
        cause = e.source();
    }
    assert!(
        reasons.iter().any(|r| r.contains("no public address")),
        "{reasons:?}"
    );
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept())
            .await
            .is_err(),
        "the sender connected to {host}:{port}"
    );
}

#[tokio::test]
async fn two_hundred_pushes_in_a_row_all_arrive() {
    let (service, sender, sub) = setup().await;
    let n = 200;
    let started = Instant::now();
    for i in 0..n {
        let payload = notification_payload(
            "Springfield PD",
            "Burglary",
            &format!("push {i}"),
            &format!("http://127.0.0.1:8080/r/{i}"),
        );
        assert_eq!(
            sender.send(&sub, &payload, 600).await.unwrap(),
            PushOutcome::Delivered
        );
    }
    let elapsed = started.elapsed();
    let got = service.received_for(&sub);
    assert_eq!(got.len(), n, "rejections: {:?}", service.rejections());
    for (i, r) in got.iter().enumerate() {
        let v: Value = serde_json::from_slice(&r.plaintext).unwrap();
        assert_eq!(v["body"], format!("Burglary — push {i}"));
    }
    println!(
        "{n} pushes in a row in {:.0} ms: {:.0} pushes/s (encrypt, sign, POST, decrypt)",
        elapsed.as_secs_f64() * 1000.0,
        n as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test]
async fn malformed_subscriptions_are_refused_with_details() {
    let service = PushService::start().await;
    let good = service.subscribe(None).to_json();

    let mut bad_base64 = good.clone();
    bad_base64["keys"]["auth"] = json!("***not base64***");
    let err = parse_subscription(&bad_base64, true).unwrap_err();
    assert_eq!(err.code, "invalid_subscription");
    assert!(err.details["keys.auth"][0].contains("base64url"), "{err:?}");

    let mut short_key = good.clone();
    short_key["keys"]["p256dh"] = json!("BAAAAA");
    let err = parse_subscription(&short_key, true).unwrap_err();
    assert_eq!(err.code, "invalid_subscription");
    assert!(
        err.details["keys.p256dh"][0].contains("65 bytes"),
        "{err:?}"
    );

    // The service's http://127.0.0.1 endpoint is fine in test mode only.
    assert!(parse_subscription(&good, true).is_ok());
    let err = parse_subscription(&good, false).unwrap_err();
    assert_eq!(err.code, "invalid_subscription");
    assert!(err.details.contains_key("endpoint"), "{err:?}");
    let mut remote_http = good.clone();
    remote_http["endpoint"] = json!("http://push.example.com/send/1");
    let err = parse_subscription(&remote_http, true).unwrap_err();
    assert!(err.details["endpoint"][0].contains("https"), "{err:?}");
}
