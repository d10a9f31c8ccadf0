#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Community requests: creation by investigators of verified agencies, validation against the
//! limits (each a setting), the automated pre-screen, moderation, publication with the
//! transparency log, immutability (in the API and in the database), visibility per role, and
//! the public transparency report.

mod common;

use std::time::{Duration as StdDuration, Instant};

use canvass::domain::Role;
use chrono::{DateTime, Duration, Utc};
use common::requests::{approve, create, decide, valid_request};
use common::{Reply, Session, TestApp, ids, time, ts};
use serde_json::{Value, json};

/// Where `TestApp::account` puts every resident's home: (lon, lat).
const HOME: (f64, f64) = (-122.66, 45.515);
/// A spot in Riverton well away from `HOME`: (lon, lat).
const ELSEWHERE: (f64, f64) = (-122.68, 45.505);

/// A rectangle `w` degrees of longitude by `h` degrees of latitude centred on (lon, lat).
fn rect(lon: f64, lat: f64, w: f64, h: f64) -> Value {
    let (w, h) = (w / 2.0, h / 2.0);
    json!({"type": "Polygon", "coordinates": [[
        [lon - w, lat - h], [lon + w, lat - h], [lon + w, lat + h], [lon - w, lat + h], [lon - w, lat - h]
    ]]})
}

/// About 470 m by 440 m (0.08 square miles) around (lon, lat).
fn area_at((lon, lat): (f64, f64)) -> Value {
    rect(lon, lat, 0.006, 0.004)
}

/// A bad input: what it is, the body, the status and code it answers, the field the problem is
/// listed under, and texts that problem must contain.
type BadInput = (
    &'static str,
    Value,
    u16,
    &'static str,
    &'static str,
    Vec<&'static str>,
);

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

/// A verified agency with its evidence account, and one of its investigators.
async fn agency_with_investigator(t: &TestApp, name: &str) -> (String, Session) {
    let agency = t.agency(name).await;
    let investigator = t.account(Role::Investigator, Some(&agency)).await;
    (agency, investigator)
}

async fn moderator_rejects(t: &TestApp, moderator: &Session, id: &str, reasons: &[&str]) {
    decide(
        t,
        moderator,
        id,
        json!({"decision": "reject", "reasons": reasons, "note": "Please fix and resubmit."}),
    )
    .await
    .expect(200, None);
}

async fn get_request(t: &TestApp, who: &Session, id: &str) -> Reply {
    t.get(&format!("/api/v1/requests/{id}"), Some(&who.token))
        .await
}

async fn withdraw(t: &TestApp, who: &Session, id: &str) -> Reply {
    t.call(
        "DELETE",
        &format!("/api/v1/requests/{id}"),
        Some(&who.token),
        None,
    )
    .await
}

async fn revise(t: &TestApp, who: &Session, id: &str, body: Value) -> Reply {
    t.call(
        "PUT",
        &format!("/api/v1/requests/{id}"),
        Some(&who.token),
        Some(body),
    )
    .await
}

/// The problems listed for `field` in a 422 answer.
fn problems(r: &Reply, field: &str) -> Vec<String> {
    r.body["error"]["details"][field]
        .as_array()
        .unwrap_or_else(|| panic!("details.{field} missing: {}", r.text))
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

/// The text of `details` between two character offsets.
fn chars(details: &str, span: &Value) -> String {
    let start = span["start"].as_u64().unwrap() as usize;
    let end = span["end"].as_u64().unwrap() as usize;
    details.chars().skip(start).take(end - start).collect()
}

/// The findings of one guideline, each as the text its span covers.
fn flagged(details: &str, findings: &Value, guideline: &str) -> Vec<String> {
    findings
        .as_array()
        .unwrap_or_else(|| panic!("findings is not an array: {findings}"))
        .iter()
        .filter(|f| f["guideline"] == guideline)
        .map(|f| {
            assert!(f["message"].as_str().is_some_and(|m| !m.is_empty()), "{f}");
            chars(details, &f["span"])
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn investigator_creates_a_request_and_gets_201_pending_review_with_findings_and_label() {
    common::announce(
        "investigator_creates_a_request_and_gets_201_pending_review_with_findings_and_label",
    );
    let t = TestApp::start().await;
    let (agency, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let body = valid_request("2026-004512");
    let r = t
        .post("/api/v1/requests", Some(&inv.token), body.clone())
        .await;
    r.expect(201, None);
    let id = r.body["id"].as_str().expect("id is a string").to_owned();
    assert!(!id.is_empty());
    assert_eq!(r.body["status"], "pending_review");
    assert_eq!(r.body["label"], "Community Request");
    assert_eq!(r.body["agency_id"], agency.as_str());
    assert_eq!(r.body["agency_name"], "Riverton Police Department");
    assert_eq!(r.body["findings"], json!([]), "clean text: {}", r.text);
    assert_eq!(r.body["revision"], 1);
    assert_eq!(r.body["incident_type"], "package_theft");
    assert_eq!(r.body["details"], body["details"]);
    assert_eq!(r.body["investigation_code"], "2026-004512");
    assert_eq!(r.body["investigator"], body["investigator"]);
    assert_eq!(r.body["area"], body["area"]);
    assert_eq!(r.body["suspects"], body["suspects"]);
    assert_eq!(r.body["ongoing_threat"], false);
    assert_eq!(time(&r.body["footage_start"]), time(&body["footage_start"]));
    assert_eq!(time(&r.body["footage_end"]), time(&body["footage_end"]));
    let sq_mi = r.body["area_sq_mi"].as_f64().unwrap();
    assert!(sq_mi > 0.025 && sq_mi < 0.5, "area {sq_mi}");
    assert!(r.body["created_at"].is_string());
    for unpublished in [
        "published_at",
        "response_deadline",
        "public_id",
        "log_index",
        "open_for_responses",
    ] {
        assert!(
            r.body.get(unpublished).is_none(),
            "{unpublished} before publication: {}",
            r.text
        );
    }
    // It reads back the same.
    let got = get_request(&t, &inv, &id).await;
    got.expect(200, None);
    assert_eq!(got.body, r.body);
    t.stop().await;
}

#[tokio::test]
async fn only_investigators_create_requests_other_roles_get_403_and_anonymous_401() {
    common::announce("only_investigators_create_requests_other_roles_get_403_and_anonymous_401");
    let t = TestApp::start().await;
    let agency = t.agency("Riverton Police Department").await;
    let callers = [
        t.account(Role::Moderator, None).await,
        t.account(Role::Admin, None).await,
        t.account(Role::AgencyAdmin, Some(&agency)).await,
        t.account(Role::Resident, None).await,
    ];
    for who in &callers {
        let r = t
            .post("/api/v1/requests", Some(&who.token), valid_request("C-1"))
            .await;
        r.expect(403, Some("forbidden"));
        assert!(
            r.body["error"]["details"].is_object(),
            "{:?}: {}",
            who.role,
            r.text
        );
    }
    t.post("/api/v1/requests", None, valid_request("C-1"))
        .await
        .expect(401, Some("unauthenticated"));
    // Nothing was created.
    let moderator = &callers[0];
    let list = t.get("/api/v1/requests", Some(&moderator.token)).await;
    list.expect(200, None);
    assert_eq!(list.body, json!([]));
    t.stop().await;
}

#[tokio::test]
async fn unverified_agency_gets_403_agency_not_verified_and_without_evidence_account_403_evidence_account_required()
 {
    common::announce(
        "unverified_agency_gets_403_agency_not_verified_and_without_evidence_account_403_evidence_account_required",
    );
    let t = TestApp::start().await;
    let mut agencies = Vec::new();
    for (name, verified, evidence_enabled) in [
        ("Unverified PD", false, true),
        ("Unverified, no evidence PD", false, false),
        ("No evidence PD", true, false),
    ] {
        agencies.push(t.agency_with(name, verified, evidence_enabled).await);
    }
    for (agency, code) in [
        (&agencies[0], "agency_not_verified"),
        (&agencies[1], "agency_not_verified"),
        (&agencies[2], "evidence_account_required"),
    ] {
        let inv = t.account(Role::Investigator, Some(agency)).await;
        let r = t
            .post("/api/v1/requests", Some(&inv.token), valid_request("C-1"))
            .await;
        r.expect(403, Some(code));
    }
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn several_bad_fields_answer_one_422_invalid_request_listing_every_field() {
    common::announce("several_bad_fields_answer_one_422_invalid_request_listing_every_field");
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let mut body = valid_request("C-1");
    body["incident_type"] = json!("other");
    body["details"] = json!("");
    body["investigator"]["phone"] = json!("call me");
    body["investigator"]["email"] = json!("nope");
    body["investigation_code"] = json!("");
    body["footage_end"] = body["footage_start"].clone();
    body["area"] = json!({"type": "Point", "coordinates": [-122.66, 45.515]});
    let r = t.post("/api/v1/requests", Some(&inv.token), body).await;
    r.expect(422, Some("invalid_request"));
    for field in [
        "incident_type",
        "details",
        "investigator.phone",
        "investigator.email",
        "investigation_code",
        "footage_end",
        "area",
    ] {
        let listed = problems(&r, field);
        assert!(!listed.is_empty(), "{field}: {}", r.text);
    }
    // A body with no fields at all lists every required one.
    let r = t
        .post("/api/v1/requests", Some(&inv.token), json!({}))
        .await;
    r.expect(422, Some("invalid_request"));
    for field in [
        "incident_type",
        "details",
        "footage_start",
        "footage_end",
        "investigator.name",
        "investigator.phone",
        "investigator.email",
        "investigation_code",
        "area",
    ] {
        assert!(!problems(&r, field).is_empty(), "{field}: {}", r.text);
    }
    t.stop().await;
}

#[tokio::test]
async fn each_bad_input_answers_its_status_and_code_naming_the_field_and_limit() {
    common::announce("each_bad_input_answers_its_status_and_code_naming_the_field_and_limit");
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let now = Utc::now();
    let base = valid_request("C-1");
    let (lon, lat) = HOME;
    let ring = |positions: Value| json!({"type": "Polygon", "coordinates": [positions]});
    let timeframe = |start: DateTime<Utc>, end: DateTime<Utc>| {
        let b = with(base.clone(), "footage_start", json!(ts(start)));
        with(b, "footage_end", json!(ts(end)))
    };
    let day_ago = now - Duration::days(1);
    let naive = |t: DateTime<Utc>| json!(t.format("%Y-%m-%dT%H:%M:%S").to_string());
    let mut bad_phone = base.clone();
    bad_phone["investigator"]["phone"] = json!("call me maybe");
    let mut bad_email = base.clone();
    bad_email["investigator"]["email"] = json!("arivera at pd");
    let mut general_suspect = base.clone();
    general_suspect["suspects"] = json!([{"descriptors": {"sex": "male", "age": "20s"}, "distinctive_features": ["red jacket"]}]);

    // (what, body, status, code, field, texts the problem must contain)
    let cases: Vec<BadInput> = vec![
        (
            "a Point, not a Polygon",
            with(
                base.clone(),
                "area",
                json!({"type": "Point", "coordinates": [lon, lat]}),
            ),
            422,
            "invalid_request",
            "area",
            vec!["Polygon"],
        ),
        (
            "a LineString",
            with(
                base.clone(),
                "area",
                json!({"type": "LineString", "coordinates": [[lon, lat], [lon + 0.01, lat]]}),
            ),
            422,
            "invalid_request",
            "area",
            vec!["Polygon"],
        ),
        (
            "a ring that is not closed",
            with(
                base.clone(),
                "area",
                ring(json!([
                    [-122.663, 45.513],
                    [-122.657, 45.513],
                    [-122.657, 45.517],
                    [-122.663, 45.517]
                ])),
            ),
            422,
            "invalid_request",
            "area",
            vec!["not closed"],
        ),
        (
            "a bow-tie (self-intersecting) polygon",
            with(
                base.clone(),
                "area",
                ring(json!([
                    [-122.663, 45.513],
                    [-122.657, 45.517],
                    [-122.657, 45.513],
                    [-122.663, 45.517],
                    [-122.663, 45.513]
                ])),
            ),
            422,
            "invalid_request",
            "area",
            vec!["not a valid area"],
        ),
        (
            "latitude and longitude swapped",
            with(
                base.clone(),
                "area",
                ring(json!([
                    [45.513, -122.663],
                    [45.513, -122.657],
                    [45.517, -122.657],
                    [45.517, -122.663],
                    [45.513, -122.663]
                ])),
            ),
            422,
            "invalid_request",
            "area",
            vec!["latitude -122.663", "-90..90"],
        ),
        (
            "an area too small",
            with(base.clone(), "area", rect(lon, lat, 0.001, 0.001)),
            422,
            "invalid_request",
            "area",
            vec!["covers 0.00", "square miles", "smallest allowed is 0.025"],
        ),
        (
            "an area too large",
            with(base.clone(), "area", rect(-122.67, 45.512, 0.02, 0.014)),
            422,
            "invalid_request",
            "area",
            vec!["covers 0.9", "largest allowed is 0.5"],
        ),
        (
            "an area outside the jurisdiction",
            with(base.clone(), "area", area_at((-122.60, 45.515))),
            422,
            "outside_jurisdiction",
            "area",
            vec!["jurisdiction"],
        ),
        (
            "an area straddling the jurisdiction's edge",
            with(base.clone(), "area", area_at((-122.631, 45.515))),
            422,
            "outside_jurisdiction",
            "area",
            vec!["jurisdiction"],
        ),
        (
            "footage_end before footage_start",
            timeframe(day_ago, day_ago - Duration::hours(1)),
            422,
            "invalid_request",
            "footage_end",
            vec!["is not after footage_start"],
        ),
        (
            "a timeframe under 15 minutes",
            timeframe(day_ago - Duration::minutes(10), day_ago),
            422,
            "invalid_request",
            "footage_end",
            vec!["10 min", "shortest allowed is 15 min"],
        ),
        (
            "a timeframe over 12 hours",
            timeframe(day_ago - Duration::hours(13), day_ago),
            422,
            "invalid_request",
            "footage_end",
            vec!["13 h", "longest allowed is 12 h"],
        ),
        (
            "an end in the future",
            timeframe(now - Duration::hours(1), now + Duration::hours(1)),
            422,
            "invalid_request",
            "footage_end",
            vec!["in the future"],
        ),
        (
            "a start more than 30 days ago",
            timeframe(
                now - Duration::days(31),
                now - Duration::days(31) + Duration::hours(2),
            ),
            422,
            "invalid_request",
            "footage_start",
            vec!["more than 30 days ago"],
        ),
        (
            "a start without a zone",
            with(
                base.clone(),
                "footage_start",
                naive(day_ago - Duration::hours(2)),
            ),
            422,
            "invalid_request",
            "footage_start",
            vec!["with a zone"],
        ),
        (
            "an end without a zone",
            with(base.clone(), "footage_end", naive(day_ago)),
            422,
            "invalid_request",
            "footage_end",
            vec!["with a zone"],
        ),
        (
            "empty details",
            with(base.clone(), "details", json!("   ")),
            422,
            "invalid_request",
            "details",
            vec!["required"],
        ),
        (
            "details over 2,000 characters",
            with(base.clone(), "details", json!("x".repeat(2001))),
            422,
            "invalid_request",
            "details",
            vec!["2001", "2000"],
        ),
        (
            "a broad incident type",
            with(base.clone(), "incident_type", json!("suspicious_activity")),
            422,
            "invalid_request",
            "incident_type",
            vec!["suspicious_activity", "package_theft"],
        ),
        (
            "a malformed phone",
            bad_phone,
            422,
            "invalid_request",
            "investigator.phone",
            vec!["call me maybe"],
        ),
        (
            "a malformed email",
            bad_email,
            422,
            "invalid_request",
            "investigator.email",
            vec![],
        ),
        (
            "a suspect with sex, age and only one feature",
            general_suspect,
            422,
            "suspect_description_too_general",
            "suspects.0.distinctive_features",
            vec!["at least 2 distinctive features", "1 given"],
        ),
    ];
    for (what, body, status, code, field, texts) in cases {
        let r = t.post("/api/v1/requests", Some(&inv.token), body).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text);
        assert_eq!(r.code(), code, "{what}: {}", r.text);
        r.expect(status, Some(code));
        let listed = problems(&r, field);
        assert!(!listed.is_empty(), "{what}: {}", r.text);
        for text in texts {
            assert!(
                listed.iter().any(|p| p.contains(text)),
                "{what}: no problem of {field} mentions {text:?}: {}",
                r.text
            );
        }
        // Only the bad field is listed.
        let fields: Vec<&String> = r.body["error"]["details"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(fields, [field], "{what}: {}", r.text);
    }

    // Unknown fields are refused as input errors.
    let r = t
        .post(
            "/api/v1/requests",
            Some(&inv.token),
            with(base.clone(), "priority", json!("high")),
        )
        .await;
    r.expect(422, Some("invalid_input"));
    assert!(r.text.contains("priority"), "{}", r.text);
    let mut nested = base.clone();
    nested["investigator"]["badge"] = json!("1234");
    let r = t.post("/api/v1/requests", Some(&inv.token), nested).await;
    r.expect(422, Some("invalid_input"));

    // Nothing was stored; the valid body still goes through afterwards.
    create(&t, &inv, base).await;
    let list = t.get("/api/v1/requests", Some(&inv.token)).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1, "{}", list.text);
    t.stop().await;
}

#[tokio::test]
async fn a_polygon_with_100000_vertices_answers_422_quickly_naming_the_vertex_limit() {
    common::announce("a_polygon_with_100000_vertices_answers_422_quickly_naming_the_vertex_limit");
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    // Compact positions keep the body under the 1 MiB limit: the server must refuse by count.
    let n = 100_000;
    let mut ring: Vec<Value> = (0..n - 1)
        .map(|i| match i % 4 {
            0 => json!([-122, 45]),
            1 => json!([-121, 45]),
            2 => json!([-121, 46]),
            _ => json!([-122, 46]),
        })
        .collect();
    ring.push(json!([-122, 45]));
    let body = with(
        valid_request("C-1"),
        "area",
        json!({"type": "Polygon", "coordinates": [ring]}),
    );
    let size = body.to_string().len();
    assert!(size < 1 << 20, "the body is {size} bytes");
    let started = Instant::now();
    let r = t.post("/api/v1/requests", Some(&inv.token), body).await;
    let took = started.elapsed();
    r.expect(422, Some("invalid_request"));
    let listed = problems(&r, "area");
    assert!(
        listed
            .iter()
            .any(|p| p.contains("100000 positions") && p.contains("the limit is 10000")),
        "{}",
        r.text
    );
    assert!(took < StdDuration::from_secs(5), "took {took:?}");
    t.stop().await;
}

#[tokio::test]
async fn a_5_mb_body_answers_413_payload_too_large() {
    common::announce("a_5_mb_body_answers_413_payload_too_large");
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let body = with(valid_request("C-1"), "details", json!("x".repeat(5 << 20)));
    let r = t.post("/api/v1/requests", Some(&inv.token), body).await;
    r.expect(413, Some("payload_too_large"));
    t.stop().await;
}

#[tokio::test]
async fn duplicate_investigation_code_answers_409_within_an_agency_but_not_across_agencies_or_after_withdrawal()
 {
    common::announce(
        "duplicate_investigation_code_answers_409_within_an_agency_but_not_across_agencies_or_after_withdrawal",
    );
    let t = TestApp::start().await;
    let (agency, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let colleague = t.account(Role::Investigator, Some(&agency)).await;
    let (_, other) = agency_with_investigator(&t, "Riverton Sheriff").await;
    let first = create(&t, &inv, valid_request("RPD-1")).await;
    // The same code again, by anyone of the agency, and even with spaces around it.
    for (who, code) in [(&inv, "RPD-1"), (&colleague, " RPD-1 ")] {
        let r = t
            .post("/api/v1/requests", Some(&who.token), valid_request(code))
            .await;
        r.expect(409, Some("duplicate_investigation_code"));
        assert!(r.text.contains("RPD-1"), "{}", r.text);
    }
    // Another agency may use the same code.
    create(&t, &other, valid_request("RPD-1")).await;
    // A revision may not take another request's code either.
    let second = create(&t, &inv, valid_request("RPD-2")).await;
    revise(&t, &inv, &second, valid_request("RPD-1"))
        .await
        .expect(409, Some("duplicate_investigation_code"));
    // Revising with its own code is fine.
    revise(&t, &inv, &second, valid_request("RPD-2"))
        .await
        .expect(200, None);
    // A withdrawn request frees its code.
    withdraw(&t, &inv, &first).await.expect(204, None);
    let again = create(&t, &inv, valid_request("RPD-1")).await;
    assert_ne!(again, first);
    // A rejected request keeps its code.
    let moderator = t.account(Role::Moderator, None).await;
    moderator_rejects(&t, &moderator, &again, &["other"]).await;
    t.post("/api/v1/requests", Some(&inv.token), valid_request("RPD-1"))
        .await
        .expect(409, Some("duplicate_investigation_code"));
    t.stop().await;
}

#[tokio::test]
async fn request_limits_are_settings_and_refusals_name_the_configured_limit() {
    common::announce("request_limits_are_settings_and_refusals_name_the_configured_limit");
    let t = TestApp::start_with(|s| {
        s.request_max_details_chars = Some("100".into());
        s.request_min_minutes = Some("30".into());
        s.request_max_area_sq_mi = Some("0.05".into());
        s.request_max_area_vertices = Some("8".into());
    })
    .await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let end = Utc::now() - Duration::days(1);
    let mut body = valid_request("C-1");
    body["details"] = json!("d".repeat(150));
    body["footage_start"] = json!(ts(end - Duration::minutes(20)));
    body["footage_end"] = json!(ts(end));
    let r = t
        .post("/api/v1/requests", Some(&inv.token), body.clone())
        .await;
    r.expect(422, Some("invalid_request"));
    let details = problems(&r, "details");
    assert!(
        details
            .iter()
            .any(|p| p.contains("150") && p.contains("the limit is 100")),
        "{}",
        r.text
    );
    let timeframe = problems(&r, "footage_end");
    assert!(
        timeframe
            .iter()
            .any(|p| p.contains("20 min") && p.contains("shortest allowed is 30 min")),
        "{}",
        r.text
    );
    let area = problems(&r, "area");
    assert!(
        area.iter().any(|p| p.contains("largest allowed is 0.05")),
        "{}",
        r.text
    );
    // Nine positions are over a limit of eight.
    let (lon, lat) = HOME;
    let nine = json!({"type": "Polygon", "coordinates": [[
        [lon - 0.002, lat - 0.0015], [lon, lat - 0.0015], [lon + 0.002, lat - 0.0015],
        [lon + 0.002, lat], [lon + 0.002, lat + 0.0015], [lon, lat + 0.0015],
        [lon - 0.002, lat + 0.0015], [lon - 0.002, lat], [lon - 0.002, lat - 0.0015]
    ]]});
    let r = t
        .post(
            "/api/v1/requests",
            Some(&inv.token),
            with(valid_request("C-1"), "area", nine),
        )
        .await;
    r.expect(422, Some("invalid_request"));
    assert!(
        problems(&r, "area")
            .iter()
            .any(|p| p.contains("9 positions") && p.contains("the limit is 8")),
        "{}",
        r.text
    );
    // Within the configured limits it is accepted.
    body["details"] = json!("d".repeat(100));
    body["footage_start"] = json!(ts(end - Duration::minutes(30)));
    body["area"] = rect(lon, lat, 0.004, 0.003);
    create(&t, &inv, body).await;
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The automated pre-screen
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn prescreen_flags_a_street_address_and_a_victim_name_with_character_spans_for_the_moderator()
{
    common::announce(
        "prescreen_flags_a_street_address_and_a_victim_name_with_character_spans_for_the_moderator",
    );
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let moderator = t.account(Role::Moderator, None).await;
    // Non-ASCII text before the flags: spans count characters, not bytes.
    let details = "Près du café — a package was taken from the porch at 1423 Oak Street; victim Jane Doe saw it happen.";
    let body = with(valid_request("C-1"), "details", json!(details));
    let r = t.post("/api/v1/requests", Some(&inv.token), body).await;
    r.expect(201, None);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let privacy = flagged(details, &r.body["findings"], "victim_privacy");
    assert!(
        privacy.iter().any(|s| s == "1423 Oak Street"),
        "address not flagged: {privacy:?} in {}",
        r.text
    );
    assert!(
        privacy.iter().any(|s| s.contains("Jane Doe")),
        "name not flagged: {privacy:?} in {}",
        r.text
    );
    // The moderator sees the same findings in the queue and on the request.
    let queue = t
        .get("/api/v1/moderation/queue", Some(&moderator.token))
        .await;
    queue.expect(200, None);
    let entry = queue
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap_or_else(|| panic!("not queued: {}", queue.text));
    assert_eq!(entry["findings"], r.body["findings"]);
    let seen = get_request(&t, &moderator, &id).await;
    seen.expect(200, None);
    assert_eq!(seen.body["findings"], r.body["findings"]);
    t.stop().await;
}

#[tokio::test]
async fn prescreen_does_not_flag_names_or_addresses_with_an_ongoing_threat_or_for_a_missing_person()
{
    common::announce(
        "prescreen_does_not_flag_names_or_addresses_with_an_ongoing_threat_or_for_a_missing_person",
    );
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let details = "The person was last seen leaving 1423 Oak Street; victim Jane Doe is at risk.";
    let mut threat = with(valid_request("C-1"), "details", json!(details));
    threat["ongoing_threat"] = json!(true);
    threat["incident_type"] = json!("assault");
    let mut missing = with(valid_request("C-2"), "details", json!(details));
    missing["incident_type"] = json!("missing_person");
    let mut neither = with(valid_request("C-3"), "details", json!(details));
    neither["incident_type"] = json!("assault");
    for (what, body, expect_flags) in [
        ("ongoing threat", threat, false),
        ("missing person", missing, false),
        ("neither", neither, true),
    ] {
        let r = t.post("/api/v1/requests", Some(&inv.token), body).await;
        r.expect(201, None);
        let privacy = flagged(details, &r.body["findings"], "victim_privacy");
        assert_eq!(!privacy.is_empty(), expect_flags, "{what}: {}", r.text);
    }
    t.stop().await;
}

#[tokio::test]
async fn prescreen_flags_suspicious_person_as_incident_not_specific() {
    common::announce("prescreen_flags_suspicious_person_as_incident_not_specific");
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let details =
        "Neighbours reported a suspicious person near the porches before the package was taken.";
    let r = t
        .post(
            "/api/v1/requests",
            Some(&inv.token),
            with(valid_request("C-1"), "details", json!(details)),
        )
        .await;
    r.expect(201, None);
    let broad = flagged(details, &r.body["findings"], "incident_not_specific");
    assert_eq!(broad, ["suspicious person"], "{}", r.text);
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Moderation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn moderation_queue_lists_pending_requests_oldest_first_for_moderators_only() {
    common::announce("moderation_queue_lists_pending_requests_oldest_first_for_moderators_only");
    let t = TestApp::start().await;
    let (agency, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let (_, other) = agency_with_investigator(&t, "Riverton Sheriff").await;
    let moderator = t.account(Role::Moderator, None).await;
    let first = create(&t, &inv, valid_request("C-1")).await;
    let second = create(&t, &other, valid_request("C-1")).await;
    let third = create(&t, &inv, valid_request("C-3")).await;
    let published = create(&t, &inv, valid_request("C-4")).await;
    approve(&t, &moderator, &published).await;
    let withdrawn = create(&t, &inv, valid_request("C-5")).await;
    withdraw(&t, &inv, &withdrawn).await.expect(204, None);
    let rejected = create(&t, &inv, valid_request("C-6")).await;
    moderator_rejects(&t, &moderator, &rejected, &["other"]).await;

    let queue = t
        .get("/api/v1/moderation/queue", Some(&moderator.token))
        .await;
    queue.expect(200, None);
    assert_eq!(
        ids(&queue.body),
        [first.as_str(), second.as_str(), third.as_str()],
        "{}",
        queue.text
    );
    for entry in queue.body.as_array().unwrap() {
        assert_eq!(entry["status"], "pending_review");
        assert!(entry["findings"].is_array(), "{entry}");
        assert_eq!(entry["label"], "Community Request");
    }
    // Only moderators.
    for who in [
        &inv,
        &t.account(Role::AgencyAdmin, Some(&agency)).await,
        &t.account(Role::Resident, None).await,
    ] {
        t.get("/api/v1/moderation/queue", Some(&who.token))
            .await
            .expect(403, Some("forbidden"));
    }
    t.get("/api/v1/moderation/queue", None)
        .await
        .expect(401, Some("unauthenticated"));
    t.stop().await;
}

#[tokio::test]
async fn decisions_are_for_moderators_need_guideline_reasons_to_reject_and_a_pending_request() {
    common::announce(
        "decisions_are_for_moderators_need_guideline_reasons_to_reject_and_a_pending_request",
    );
    let t = TestApp::start().await;
    let (agency, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let moderator = t.account(Role::Moderator, None).await;
    let id = create(&t, &inv, valid_request("C-1")).await;

    // Agency members cannot moderate, not even their own request.
    for who in [&inv, &t.account(Role::AgencyAdmin, Some(&agency)).await] {
        decide(&t, who, &id, json!({"decision": "approve"}))
            .await
            .expect(403, Some("forbidden"));
    }
    // A rejection needs at least one reason, and every reason must be a guideline code.
    let r = decide(&t, &moderator, &id, json!({"decision": "reject"})).await;
    r.expect(422, Some("invalid_decision"));
    assert!(!problems(&r, "reasons").is_empty());
    let r = decide(
        &t,
        &moderator,
        &id,
        json!({"decision": "reject", "reasons": [], "note": "no"}),
    )
    .await;
    r.expect(422, Some("invalid_decision"));
    let r = decide(
        &t,
        &moderator,
        &id,
        json!({"decision": "reject", "reasons": ["victim_privacy", "too_vague"]}),
    )
    .await;
    r.expect(422, Some("invalid_decision"));
    assert!(
        problems(&r, "reasons")
            .iter()
            .any(|p| p.contains("too_vague") && p.contains("incident_not_specific")),
        "{}",
        r.text
    );
    decide(
        &t,
        &moderator,
        &id,
        json!({"decision": "approve", "reasons": ["nope"]}),
    )
    .await
    .expect(422, Some("invalid_decision"));
    decide(&t, &moderator, &id, json!({"decision": "maybe"}))
        .await
        .expect(422, Some("invalid_input"));
    // None of that changed the request.
    let got = get_request(&t, &inv, &id).await;
    assert_eq!(got.body["status"], "pending_review", "{}", got.text);
    // An unknown request.
    decide(
        &t,
        &moderator,
        "no-such-request",
        json!({"decision": "approve"}),
    )
    .await
    .expect(404, Some("not_found"));

    // Only a pending request can be decided.
    approve(&t, &moderator, &id).await;
    for body in [
        json!({"decision": "approve"}),
        json!({"decision": "reject", "reasons": ["other"]}),
    ] {
        decide(&t, &moderator, &id, body)
            .await
            .expect(409, Some("request_not_pending"));
    }
    let rejected = create(&t, &inv, valid_request("C-2")).await;
    moderator_rejects(&t, &moderator, &rejected, &["incident_not_specific"]).await;
    decide(&t, &moderator, &rejected, json!({"decision": "approve"}))
        .await
        .expect(409, Some("request_not_pending"));
    let withdrawn = create(&t, &inv, valid_request("C-3")).await;
    withdraw(&t, &inv, &withdrawn).await.expect(204, None);
    decide(&t, &moderator, &withdrawn, json!({"decision": "approve"}))
        .await
        .expect(409, Some("request_not_pending"));
    t.stop().await;
}

#[tokio::test]
async fn rejected_request_shows_reasons_and_note_to_the_agency_and_is_revised_back_into_the_queue_with_history()
 {
    common::announce(
        "rejected_request_shows_reasons_and_note_to_the_agency_and_is_revised_back_into_the_queue_with_history",
    );
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let moderator = t.account(Role::Moderator, None).await;
    let original =
        "Graffiti was sprayed on the garage at 1423 Maple St, owned by victim Jane Morrison.";
    let id = create(
        &t,
        &inv,
        with(valid_request("C-1"), "details", json!(original)),
    )
    .await;
    let note = "Please remove the house number and the victim's name; the block is enough.";
    let r = decide(
        &t,
        &moderator,
        &id,
        json!({"decision": "reject", "reasons": ["victim_privacy", "other"], "note": note}),
    )
    .await;
    r.expect(200, None);
    assert_eq!(r.body["status"], "rejected");

    // The agency sees the outcome, the reasons and the note.
    let got = get_request(&t, &inv, &id).await;
    got.expect(200, None);
    assert_eq!(got.body["status"], "rejected");
    assert_eq!(got.body["moderation"]["decision"], "rejected");
    assert_eq!(
        got.body["moderation"]["reasons"],
        json!(["victim_privacy", "other"])
    );
    assert_eq!(got.body["moderation"]["note"], note);
    assert!(got.body["moderation"]["decided_at"].is_string());
    assert_eq!(got.body["revision"], 1);
    let queue = t
        .get("/api/v1/moderation/queue", Some(&moderator.token))
        .await;
    assert!(!ids(&queue.body).contains(&id), "{}", queue.text);

    // A revision sends it back to the queue as revision 2.
    let fixed = "Graffiti was sprayed on a garage on the 1400 block of Maple St. Footage of anyone near the garages would help.";
    let r = revise(
        &t,
        &inv,
        &id,
        with(valid_request("C-1"), "details", json!(fixed)),
    )
    .await;
    r.expect(200, None);
    assert_eq!(r.body["status"], "pending_review");
    assert_eq!(r.body["revision"], 2);
    assert_eq!(r.body["details"], fixed);
    assert_eq!(r.body["findings"], json!([]), "{}", r.text);
    let queue = t
        .get("/api/v1/moderation/queue", Some(&moderator.token))
        .await;
    assert_eq!(ids(&queue.body), [id.as_str()], "{}", queue.text);
    assert_eq!(queue.body[0]["revision"], 2);

    approve(&t, &moderator, &id).await;
    let history = t
        .get(&format!("/api/v1/requests/{id}/history"), Some(&inv.token))
        .await;
    history.expect(200, None);
    let events = history.body.as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["submitted", "rejected", "revised", "approved"],
        "{}",
        history.text
    );
    let revisions: Vec<i64> = events
        .iter()
        .map(|e| e["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(revisions, [1, 1, 2, 2]);
    assert_eq!(events[0]["snapshot"]["details"], original);
    assert_eq!(events[0]["actor_id"], inv.id.as_str());
    assert_eq!(events[1]["reasons"], json!(["victim_privacy", "other"]));
    assert_eq!(events[1]["note"], note);
    assert_eq!(events[1]["actor_id"], moderator.id.as_str());
    assert_eq!(events[2]["snapshot"]["details"], fixed);
    assert_eq!(events[3]["actor_id"], moderator.id.as_str());
    for e in events {
        assert!(e["at"].is_string(), "{e}");
    }
    // Moderators read it too; so does the agency's moderation view on the request.
    t.get(
        &format!("/api/v1/requests/{id}/history"),
        Some(&moderator.token),
    )
    .await
    .expect(200, None);
    let got = get_request(&t, &inv, &id).await;
    assert_eq!(
        got.body["moderation"]["decision"], "approved",
        "{}",
        got.text
    );
    t.stop().await;
}

#[tokio::test]
async fn investigator_withdraws_a_pending_or_rejected_request_and_a_second_delete_answers_409() {
    common::announce(
        "investigator_withdraws_a_pending_or_rejected_request_and_a_second_delete_answers_409",
    );
    let t = TestApp::start().await;
    let (agency, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let colleague = t.account(Role::Investigator, Some(&agency)).await;
    let agency_admin = t.account(Role::AgencyAdmin, Some(&agency)).await;
    let moderator = t.account(Role::Moderator, None).await;
    let pending = create(&t, &inv, valid_request("C-1")).await;
    let rejected = create(&t, &inv, valid_request("C-2")).await;
    moderator_rejects(&t, &moderator, &rejected, &["other"]).await;

    // Only investigators withdraw an unpublished request.
    for who in [&agency_admin, &moderator] {
        withdraw(&t, who, &pending)
            .await
            .expect(403, Some("forbidden"));
    }
    let r = withdraw(&t, &inv, &pending).await;
    r.expect(204, None);
    assert!(r.text.is_empty(), "{}", r.text);
    // Any investigator of the agency may withdraw.
    withdraw(&t, &colleague, &rejected).await.expect(204, None);
    for id in [&pending, &rejected] {
        let got = get_request(&t, &inv, id).await;
        got.expect(200, None);
        assert_eq!(got.body["status"], "withdrawn");
        withdraw(&t, &inv, id)
            .await
            .expect(409, Some("request_withdrawn"));
        revise(&t, &inv, id, valid_request("C-9"))
            .await
            .expect(409, Some("request_withdrawn"));
        let history = t
            .get(&format!("/api/v1/requests/{id}/history"), Some(&inv.token))
            .await;
        let last = history.body.as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["kind"], "withdrawn", "{}", history.text);
    }
    let queue = t
        .get("/api/v1/moderation/queue", Some(&moderator.token))
        .await;
    assert_eq!(queue.body, json!([]));
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Publication and immutability
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn approval_publishes_with_a_60_day_response_deadline_an_unguessable_public_id_and_a_log_index()
 {
    common::announce(
        "approval_publishes_with_a_60_day_response_deadline_an_unguessable_public_id_and_a_log_index",
    );
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let moderator = t.account(Role::Moderator, None).await;
    let before = Utc::now() - Duration::seconds(1);
    let first = create(&t, &inv, valid_request("C-1")).await;
    let second = create(&t, &inv, valid_request("C-2")).await;
    let mut public_ids = Vec::new();
    let mut log_indexes = Vec::new();
    for id in [&first, &second] {
        let decided = approve(&t, &moderator, id).await;
        let got = get_request(&t, &inv, id).await;
        got.expect(200, None);
        assert_eq!(
            got.body, decided,
            "the decision answers the request as stored"
        );
        let r = &got.body;
        assert_eq!(r["status"], "published");
        let published_at = time(&r["published_at"]);
        assert!(
            published_at >= before && published_at <= Utc::now(),
            "{published_at}"
        );
        assert_eq!(
            time(&r["response_deadline"]) - published_at,
            Duration::days(60),
            "{}",
            got.text
        );
        assert_eq!(r["open_for_responses"], true);
        let public_id = r["public_id"].as_str().unwrap().to_owned();
        assert!(public_id.len() >= 16, "{public_id}");
        assert!(
            public_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "URL-safe: {public_id}"
        );
        assert_ne!(public_id, id.as_str());
        public_ids.push(public_id);
        log_indexes.push(r["log_index"].as_i64().expect("log_index is a number"));
        assert_eq!(r["moderation"]["decision"], "approved");
    }
    assert_ne!(public_ids[0], public_ids[1]);
    assert_eq!(log_indexes, [0, 1]);
    // The log holds both.
    let checkpoint = t.get("/api/v1/transparency/checkpoint", None).await;
    checkpoint.expect(200, None);
    assert_eq!(
        checkpoint.text.lines().nth(1),
        Some("2"),
        "{}",
        checkpoint.text
    );
    t.stop().await;
}

#[tokio::test]
async fn published_request_answers_409_request_immutable_to_put_and_delete_from_every_role() {
    common::announce(
        "published_request_answers_409_request_immutable_to_put_and_delete_from_every_role",
    );
    let t = TestApp::start().await;
    let (agency, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let moderator = t.account(Role::Moderator, None).await;
    let id = create(&t, &inv, valid_request("C-1")).await;
    let published = approve(&t, &moderator, &id).await;
    let callers = [
        inv.clone(),
        t.account(Role::Investigator, Some(&agency)).await,
        t.account(Role::AgencyAdmin, Some(&agency)).await,
        moderator.clone(),
        t.account(Role::Admin, None).await,
    ];
    let mut change = valid_request("C-1");
    change["details"] = json!("Changed after publication: this must never be stored.");
    for who in &callers {
        let r = revise(&t, who, &id, change.clone()).await;
        r.expect(409, Some("request_immutable"));
        let r = withdraw(&t, who, &id).await;
        r.expect(409, Some("request_immutable"));
    }
    let got = get_request(&t, &inv, &id).await;
    got.expect(200, None);
    assert_eq!(got.body, published);
    let history = t
        .get(&format!("/api/v1/requests/{id}/history"), Some(&inv.token))
        .await;
    assert_eq!(
        history.body.as_array().unwrap().len(),
        2,
        "{}",
        history.text
    );
    t.stop().await;
}

#[tokio::test]
async fn database_refuses_to_change_or_delete_published_requests_their_history_and_the_log() {
    common::announce(
        "database_refuses_to_change_or_delete_published_requests_their_history_and_the_log",
    );
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let moderator = t.account(Role::Moderator, None).await;
    let id = create(&t, &inv, valid_request("C-1")).await;
    let published = approve(&t, &moderator, &id).await;
    let pool = t.app().db.pool();

    for sql in [
        "UPDATE community_requests SET details = 'x' WHERE id = $1",
        "UPDATE community_requests SET status = 'withdrawn' WHERE id = $1",
        "DELETE FROM community_requests WHERE id = $1",
    ] {
        let e = sqlx::query(sql)
            .bind(&id)
            .execute(pool)
            .await
            .expect_err(sql);
        assert!(e.to_string().contains("request_immutable"), "{sql}: {e}");
    }
    for sql in [
        "UPDATE transparency_entries SET entry = 'x' WHERE request_id = $1",
        "DELETE FROM transparency_entries WHERE request_id = $1",
        "UPDATE request_events SET note = 'x' WHERE request_id = $1",
        "DELETE FROM request_events WHERE request_id = $1",
    ] {
        let e = sqlx::query(sql)
            .bind(&id)
            .execute(pool)
            .await
            .expect_err(sql);
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    for sql in [
        "UPDATE transparency_nodes SET hash = 'x'",
        "DELETE FROM transparency_nodes",
    ] {
        let e = sqlx::query(sql).execute(pool).await.expect_err(sql);
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    // Nothing changed.
    let got = get_request(&t, &inv, &id).await;
    got.expect(200, None);
    assert_eq!(got.body, published);
    let entry = t.get("/api/v1/transparency/entries/0", None).await;
    entry.expect(200, None);
    assert!(entry.text.contains(&id), "{}", entry.text);
    let history = t
        .get(&format!("/api/v1/requests/{id}/history"), Some(&inv.token))
        .await;
    assert_eq!(
        history.body.as_array().unwrap().len(),
        2,
        "{}",
        history.text
    );

    // The trigger is specific: a pending request can still be changed by SQL.
    let pending = create(&t, &inv, valid_request("C-2")).await;
    let done =
        sqlx::query("UPDATE community_requests SET details = 'changed by SQL' WHERE id = $1")
            .bind(&pending)
            .execute(pool)
            .await
            .unwrap();
    assert_eq!(done.rows_affected(), 1);
    let got = get_request(&t, &inv, &pending).await;
    assert_eq!(got.body["details"], "changed by SQL");
    t.stop().await;
}

#[tokio::test]
async fn demo_request_published_75_days_ago_is_closed_for_responses_and_the_others_are_open() {
    common::announce(
        "demo_request_published_75_days_ago_is_closed_for_responses_and_the_others_are_open",
    );
    let t = TestApp::start().await;
    let city = t
        .app()
        .seed_demo()
        .await
        .unwrap()
        .expect("an empty database");
    assert!(city.seeded);
    let moderator = t.account(Role::Moderator, None).await;
    let list = t.get("/api/v1/requests", Some(&moderator.token)).await;
    list.expect(200, None);
    let requests = list.body.as_array().unwrap();
    assert_eq!(requests.len(), 6, "{}", list.text);
    let now = Utc::now();
    let admin = t.account(Role::Admin, None).await;
    let mut published = 0;
    for r in requests {
        if r["status"] != "published" {
            assert!(r.get("open_for_responses").is_none(), "{r}");
            continue;
        }
        published += 1;
        let published_at = time(&r["published_at"]);
        let deadline = time(&r["response_deadline"]);
        assert_eq!(deadline - published_at, Duration::days(60), "{r}");
        if r["incident_type"] == "hit_and_run" {
            assert_eq!(r["open_for_responses"], false, "{r}");
            assert!(deadline < now, "{r}");
            let age = now - published_at;
            assert!(
                age > Duration::days(74) && age < Duration::days(76),
                "published {age} ago"
            );
        } else {
            assert_eq!(r["open_for_responses"], true, "{r}");
            assert!(deadline > now, "{r}");
        }
        // The same on the request itself, for an admin too.
        let one = get_request(&t, &admin, r["id"].as_str().unwrap()).await;
        one.expect(200, None);
        assert_eq!(one.body["open_for_responses"], r["open_for_responses"]);
    }
    assert_eq!(published, 3);
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Visibility
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_agencys_investigator_gets_404_for_get_put_delete_and_history() {
    common::announce("another_agencys_investigator_gets_404_for_get_put_delete_and_history");
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let (other_agency, other) = agency_with_investigator(&t, "Riverton Sheriff").await;
    let other_admin = t.account(Role::AgencyAdmin, Some(&other_agency)).await;
    let moderator = t.account(Role::Moderator, None).await;
    let pending = create(&t, &inv, valid_request("C-1")).await;
    let published = create(&t, &inv, valid_request("C-2")).await;
    approve(&t, &moderator, &published).await;
    for id in [&pending, &published] {
        for who in [&other, &other_admin] {
            get_request(&t, who, id)
                .await
                .expect(404, Some("not_found"));
            t.get(&format!("/api/v1/requests/{id}/history"), Some(&who.token))
                .await
                .expect(404, Some("not_found"));
        }
        revise(&t, &other, id, valid_request("C-3"))
            .await
            .expect(404, Some("not_found"));
        withdraw(&t, &other, id)
            .await
            .expect(404, Some("not_found"));
        // Just like a request that does not exist.
        get_request(&t, &other, "no-such-request")
            .await
            .expect(404, Some("not_found"));
    }
    let got = get_request(&t, &inv, &pending).await;
    assert_eq!(got.body["status"], "pending_review");
    t.stop().await;
}

#[tokio::test]
async fn residents_see_published_requests_covering_their_home_without_findings_moderation_or_revision()
 {
    common::announce(
        "residents_see_published_requests_covering_their_home_without_findings_moderation_or_revision",
    );
    let t = TestApp::start().await;
    let (_, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let moderator = t.account(Role::Moderator, None).await;
    let resident = t.account(Role::Resident, None).await;
    let details = "A package was taken from a porch at 1423 Oak Street.";
    let here = create(
        &t,
        &inv,
        with(valid_request("C-1"), "details", json!(details)),
    )
    .await;
    let elsewhere = create(
        &t,
        &inv,
        with(valid_request("C-2"), "area", area_at(ELSEWHERE)),
    )
    .await;
    let pending_here = create(&t, &inv, valid_request("C-3")).await;
    let rejected_here = create(&t, &inv, valid_request("C-4")).await;
    // Pending and rejected requests are not the residents' business.
    moderator_rejects(&t, &moderator, &rejected_here, &["other"]).await;
    for id in [&here, &pending_here, &rejected_here] {
        get_request(&t, &resident, id)
            .await
            .expect(404, Some("not_found"));
    }
    let published = approve(&t, &moderator, &here).await;
    approve(&t, &moderator, &elsewhere).await;

    let r = get_request(&t, &resident, &here).await;
    r.expect(200, None);
    assert_eq!(r.body["status"], "published");
    assert_eq!(r.body["label"], "Community Request");
    assert_eq!(r.body["agency_name"], "Riverton Police Department");
    assert_eq!(r.body["details"], details);
    assert_eq!(r.body["investigator"], published["investigator"]);
    assert_eq!(r.body["area"], published["area"]);
    assert_eq!(r.body["public_id"], published["public_id"]);
    assert_eq!(r.body["open_for_responses"], true);
    for hidden in ["findings", "moderation", "revision", "created_at"] {
        assert!(r.body.get(hidden).is_none(), "{hidden}: {}", r.text);
    }
    assert!(!r.text.contains("Meets the guidelines"), "{}", r.text);
    // Not the history either.
    t.get(
        &format!("/api/v1/requests/{here}/history"),
        Some(&resident.token),
    )
    .await
    .expect(404, Some("not_found"));
    // A published request whose area does not hold the resident's home.
    get_request(&t, &resident, &elsewhere)
        .await
        .expect(404, Some("not_found"));
    // Residents cannot change a request they can see, and not one they cannot.
    revise(&t, &resident, &pending_here, valid_request("C-3"))
        .await
        .expect(404, Some("not_found"));
    t.stop().await;
}

#[tokio::test]
async fn request_list_shows_own_agency_to_its_members_all_to_moderators_and_admins_and_403_to_residents()
 {
    common::announce(
        "request_list_shows_own_agency_to_its_members_all_to_moderators_and_admins_and_403_to_residents",
    );
    let t = TestApp::start().await;
    let (agency, inv) = agency_with_investigator(&t, "Riverton Police Department").await;
    let (other_agency, other) = agency_with_investigator(&t, "Riverton Sheriff").await;
    let moderator = t.account(Role::Moderator, None).await;
    let a1 = create(&t, &inv, valid_request("C-1")).await;
    let a2 = create(&t, &inv, valid_request("C-2")).await;
    let b1 = create(&t, &other, valid_request("C-1")).await;
    approve(&t, &moderator, &a1).await;

    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let own = sorted(vec![a1.clone(), a2.clone()]);
    let all = sorted(vec![a1.clone(), a2.clone(), b1.clone()]);
    for (who, agency_id, expected) in [
        (inv.clone(), Some(&agency), &own),
        (
            t.account(Role::AgencyAdmin, Some(&agency)).await,
            Some(&agency),
            &own,
        ),
        (other.clone(), Some(&other_agency), &vec![b1.clone()]),
        (moderator.clone(), None, &all),
        (t.account(Role::Admin, None).await, None, &all),
    ] {
        let r = t.get("/api/v1/requests", Some(&who.token)).await;
        r.expect(200, None);
        assert_eq!(
            &sorted(ids(&r.body)),
            expected,
            "{:?}: {}",
            who.role,
            r.text
        );
        if let Some(a) = agency_id {
            for item in r.body.as_array().unwrap() {
                assert_eq!(item["agency_id"], a.as_str());
            }
        }
    }
    // Newest first.
    let r = t.get("/api/v1/requests", Some(&inv.token)).await;
    assert_eq!(ids(&r.body), [a2.as_str(), a1.as_str()]);
    let resident = t.account(Role::Resident, None).await;
    t.get("/api/v1/requests", Some(&resident.token))
        .await
        .expect(403, Some("forbidden"));
    t.get("/api/v1/requests", None)
        .await
        .expect(401, Some("unauthenticated"));
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The transparency report
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn transparency_report_counts_outcomes_per_agency_and_incident_type_and_nothing_about_residents()
 {
    common::announce(
        "transparency_report_counts_outcomes_per_agency_and_incident_type_and_nothing_about_residents",
    );
    let t = TestApp::start().await;
    let (_, police) = agency_with_investigator(&t, "Riverton Police Department").await;
    let (_, sheriff) = agency_with_investigator(&t, "Riverton Sheriff").await;
    let moderator = t.account(Role::Moderator, None).await;
    // Residents in the area, so there would be something to leak.
    t.account(Role::Resident, None).await;
    t.account(Role::Resident, None).await;
    let typed =
        |code: &str, incident: &str| with(valid_request(code), "incident_type", json!(incident));

    // Police: package_theft 2 published + 1 withdrawn; burglary 1 rejected (+ 1 rejected and
    // then revised, so pending again); robbery only pending.
    for code in ["P-1", "P-2"] {
        let id = create(&t, &police, typed(code, "package_theft")).await;
        approve(&t, &moderator, &id).await;
    }
    let id = create(&t, &police, typed("P-3", "package_theft")).await;
    withdraw(&t, &police, &id).await.expect(204, None);
    let id = create(&t, &police, typed("P-4", "burglary")).await;
    moderator_rejects(&t, &moderator, &id, &["victim_privacy"]).await;
    let id = create(&t, &police, typed("P-5", "burglary")).await;
    moderator_rejects(&t, &moderator, &id, &["other"]).await;
    revise(&t, &police, &id, typed("P-5", "burglary"))
        .await
        .expect(200, None);
    create(&t, &police, typed("P-6", "robbery")).await;
    // Sheriff: vandalism 1 published, 1 withdrawn after a rejection.
    let id = create(&t, &sheriff, typed("S-1", "vandalism")).await;
    approve(&t, &moderator, &id).await;
    let id = create(&t, &sheriff, typed("S-2", "vandalism")).await;
    moderator_rejects(&t, &moderator, &id, &["other"]).await;
    withdraw(&t, &sheriff, &id).await.expect(204, None);

    let r = t.get("/api/v1/transparency/report", None).await;
    r.expect(200, None);
    let lines = r.body["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text));
    let line = |agency: &str, incident: &str| {
        lines
            .iter()
            .find(|l| l["agency"] == agency && l["incident_type"] == incident)
            .map(|l| {
                (
                    l["published"].as_i64().unwrap(),
                    l["rejected"].as_i64().unwrap(),
                    l["withdrawn"].as_i64().unwrap(),
                )
            })
    };
    assert_eq!(
        line("Riverton Police Department", "package_theft"),
        Some((2, 0, 1)),
        "{}",
        r.text
    );
    assert_eq!(
        line("Riverton Police Department", "burglary"),
        Some((0, 1, 0)),
        "{}",
        r.text
    );
    assert_eq!(
        line("Riverton Police Department", "robbery"),
        None,
        "pending requests have no outcome yet: {}",
        r.text
    );
    assert_eq!(
        line("Riverton Sheriff", "vandalism"),
        Some((1, 0, 1)),
        "{}",
        r.text
    );
    assert_eq!(lines.len(), 3, "{}", r.text);
    // Only those fields: nothing about residents, viewers or shares.
    for l in lines {
        let mut keys: Vec<&String> = l.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "agency",
                "incident_type",
                "published",
                "rejected",
                "withdrawn"
            ],
            "{l}"
        );
    }
    let lower = r.text.to_lowercase();
    for word in [
        "resident",
        "viewer",
        "view",
        "share",
        "submission",
        "notif",
        "camera",
        "recipient",
    ] {
        assert!(!lower.contains(word), "{word} in {}", r.text);
    }
    // The same for everyone, signed in or not.
    let signed_in = t
        .get("/api/v1/transparency/report", Some(&police.token))
        .await;
    assert_eq!(signed_in.body, r.body);
    t.stop().await;
}
