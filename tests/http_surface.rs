#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The HTTP surface every client meets: the error shape, body and query parsing errors,
//! unknown routes and methods, size limits, security headers, health, metrics, the OpenAPI
//! document and CSRF protection for cookie sessions.

mod common;

use std::collections::BTreeSet;

use canvass::domain::Role;
use common::{PASSWORD, Reply, TestApp};
use serde_json::{Value, json};

/// Asserts the documented error shape exactly: `{"error": {"code", "message", "details": {}}}`
/// with the status and code given, served as JSON.
#[track_caller]
fn assert_error(r: &Reply, status: u16, code: &str) {
    r.expect(status, Some(code));
    assert_error_shape(r);
}

/// Asserts that an answer is not a 500 and, when it is an error, has the documented shape.
#[track_caller]
fn assert_sane(r: &Reply, what: &str) {
    assert!(
        r.status.as_u16() < 500,
        "{what}: answered {} {}",
        r.status,
        r.text
    );
    if r.status.as_u16() >= 400 {
        assert_error_shape(r);
    }
}

/// Asserts that an answer to `HEAD` is not a 500 and has no body (a `HEAD` answer never has
/// one, so its error code cannot be checked).
#[track_caller]
fn assert_sane_head(r: &Reply, what: &str) {
    assert!(
        r.status.as_u16() < 500,
        "{what}: answered {} {}",
        r.status,
        r.text
    );
    assert!(
        r.text.is_empty(),
        "{what}: HEAD answered a body: {}",
        r.text
    );
}

#[track_caller]
fn assert_error_shape(r: &Reply) {
    let top: Vec<&String> = r
        .body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not a JSON object: {}", r.text))
        .keys()
        .collect();
    assert_eq!(top, ["error"], "error body: {}", r.text);
    let mut keys: Vec<&String> = r.body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("`error` is not an object: {}", r.text))
        .keys()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["code", "details", "message"],
        "error body: {}",
        r.text
    );
    let code = r.code();
    assert!(
        !code.is_empty()
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "code is not snake_case: {code:?}"
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(r.body["error"]["details"].is_object());
    let ctype = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        ctype.starts_with("application/json"),
        "error served as {ctype:?}"
    );
}

/// Sends a request with raw headers and bytes.
async fn raw(
    t: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = t.client.request(method, format!("{}{path}", t.base));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    TestApp::reply(req.send().await.unwrap()).await
}

const JSON: (&str, &str) = ("content-type", "application/json");

fn sign_up_body(t: &TestApp) -> Value {
    json!({
        "email": t.email("resident"),
        "password": PASSWORD,
        "display_name": "Sam Porter",
        "home_address": "1200 Elm St, Riverton, OR 97214",
        "home_location": {"lat": 45.515, "lon": -122.66}
    })
}

#[tokio::test]
async fn malformed_json_answers_400_malformed_json() {
    common::announce("malformed_json_answers_400_malformed_json");
    let t = TestApp::start().await;
    let login = json!({"email": "a@b.co", "password": PASSWORD}).to_string();
    let sign_up = sign_up_body(&t).to_string();
    for (path, complete) in [
        ("/api/v1/auth/login", login),
        ("/api/v1/residents", sign_up),
    ] {
        for body in [
            "{".to_owned(),
            "{\"email\": \"a@b.co\",".to_owned(),
            "not json at all".to_owned(),
            "{\"email\": 'single quotes'}".to_owned(),
            complete[..complete.len() - 1].to_owned(),
            format!("{complete} trailing"),
            String::new(),
        ] {
            let r = raw(&t, "POST", path, &[JSON], Some(body.clone().into_bytes())).await;
            assert_error(&r, 400, "malformed_json");
        }
    }
    t.stop().await;
}

#[tokio::test]
async fn wrong_content_type_answers_415_unsupported_media_type() {
    common::announce("wrong_content_type_answers_415_unsupported_media_type");
    let t = TestApp::start().await;
    let login = json!({"email": "a@b.co", "password": PASSWORD}).to_string();
    let sign_up = sign_up_body(&t).to_string();
    for (path, body) in [
        ("/api/v1/auth/login", &login),
        ("/api/v1/residents", &sign_up),
    ] {
        for headers in [
            &[("content-type", "text/plain")][..],
            &[("content-type", "application/x-www-form-urlencoded")],
            &[],
        ] {
            let r = raw(&t, "POST", path, headers, Some(body.clone().into_bytes())).await;
            assert_error(&r, 415, "unsupported_media_type");
        }
    }
    // JSON with parameters, in any case, or a `+json` type is JSON.
    for ctype in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.canvass+json",
    ] {
        let r = raw(
            &t,
            "POST",
            "/api/v1/auth/login",
            &[("content-type", ctype)],
            Some(login.clone().into_bytes()),
        )
        .await;
        assert_error(&r, 401, "invalid_credentials");
    }
    t.stop().await;
}

#[tokio::test]
async fn missing_or_wrong_typed_fields_answer_422_invalid_input() {
    common::announce("missing_or_wrong_typed_fields_answer_422_invalid_input");
    let t = TestApp::start().await;
    let login = "/api/v1/auth/login";
    for body in [
        json!({}),
        json!({"email": "a@b.co"}),
        json!({"email": 42, "password": PASSWORD}),
        json!({"email": "a@b.co", "password": PASSWORD, "totp": 123456}),
        json!({"email": "a@b.co", "password": PASSWORD, "unexpected": true}),
        json!([]),
        json!(null),
    ] {
        assert_error(&t.post(login, None, body).await, 422, "invalid_input");
    }
    let residents = "/api/v1/residents";
    let mut missing = sign_up_body(&t);
    missing.as_object_mut().unwrap().remove("home_location");
    let mut wrong_type = sign_up_body(&t);
    wrong_type["home_location"] = json!({"lat": "north", "lon": -122.66});
    let mut as_string = sign_up_body(&t);
    as_string["home_location"] = json!("45.5,-122.6");
    for body in [json!({}), missing, wrong_type, as_string] {
        assert_error(&t.post(residents, None, body).await, 422, "invalid_input");
    }
    // Well-typed but breaking the rules: 422 that names the field.
    let mut bad_values = sign_up_body(&t);
    bad_values["email"] = json!("not-an-email");
    bad_values["home_location"] = json!({"lat": 123.0, "lon": -122.66});
    let r = t.post(residents, None, bad_values).await;
    assert_error(&r, 422, "invalid_input");
    assert!(r.body["error"]["details"]["email"].is_array(), "{}", r.text);
    assert!(
        r.body["error"]["details"]["home_location"].is_array(),
        "{}",
        r.text
    );
    t.stop().await;
}

#[tokio::test]
async fn unknown_route_answers_404_not_found() {
    common::announce("unknown_route_answers_404_not_found");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    // `/` is the start page (src/web/pages).
    for path in [
        "/nope",
        "/api",
        "/api/v1",
        "/api/v1/nope",
        "/api/v2/me",
        "/api/v1/me/extra",
        "/api/v1/agencies/a/b/c/d",
    ] {
        assert_error(&t.get(path, None).await, 404, "not_found");
        assert_error(&t.get(path, Some(&admin.token)).await, 404, "not_found");
        let r = t.post(path, Some(&admin.token), json!({})).await;
        assert_error(&r, 404, "not_found");
    }
    t.stop().await;
}

#[tokio::test]
async fn wrong_method_answers_405_method_not_allowed() {
    common::announce("wrong_method_answers_405_method_not_allowed");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    for (method, path) in [
        ("DELETE", "/api/v1/me"),
        ("POST", "/api/v1/me"),
        ("GET", "/api/v1/auth/login"),
        ("PUT", "/api/v1/agencies"),
        ("DELETE", "/api/v1/agencies/some-id"),
        ("POST", "/healthz"),
        ("DELETE", "/api/v1/audit"),
        ("GET", "/api/v1/uploads"),
        ("PUT", "/api/v1/recordings/some-id"),
        ("POST", "/api/v1/evidence/some-id"),
        ("DELETE", "/api/v1/requests/some-id/export"),
    ] {
        for token in [None, Some(admin.token.as_str())] {
            let r = t.call(method, path, token, None).await;
            assert_error(&r, 405, "method_not_allowed");
        }
    }
    t.stop().await;
}

#[tokio::test]
async fn body_over_max_json_bytes_answers_413_payload_too_large() {
    common::announce("body_over_max_json_bytes_answers_413_payload_too_large");
    let t = TestApp::start().await;
    let big = "a".repeat(2 << 20);
    let login = json!({"email": "a@b.co", "password": big}).to_string();
    let mut sign_up = sign_up_body(&t);
    sign_up["display_name"] = json!(big);
    let sign_up = sign_up.to_string();
    for (path, body) in [
        ("/api/v1/auth/login", login),
        ("/api/v1/residents", sign_up),
    ] {
        assert!(body.len() > 2 << 20);
        let r = raw(&t, "POST", path, &[JSON], Some(body.into_bytes())).await;
        assert_error(&r, 413, "payload_too_large");
    }
    // Just under the limit is parsed (and then refused for its content, not its size).
    let mut near = sign_up_body(&t);
    near["display_name"] = json!("a".repeat((1 << 20) - 1000));
    let r = t.post("/api/v1/residents", None, near).await;
    assert_error(&r, 422, "invalid_input");
    assert!(r.body["error"]["details"]["display_name"].is_array());
    t.stop().await;
}

#[tokio::test]
async fn bad_query_string_answers_400_invalid_query() {
    common::announce("bad_query_string_answers_400_invalid_query");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    for query in [
        "limit=abc",
        "before=yesterday",
        "limit=1.5",
        "limit=99999999999999999999999",
        "unknown=1",
    ] {
        let r = t
            .get(&format!("/api/v1/audit?{query}"), Some(&admin.token))
            .await;
        assert_error(&r, 400, "invalid_query");
    }
    // Good queries still work, and out-of-range page sizes are clamped, not refused.
    for query in ["limit=5", "limit=0", "limit=-3", "limit=100000", "before=1"] {
        let r = t
            .get(&format!("/api/v1/audit?{query}"), Some(&admin.token))
            .await;
        r.expect(200, None);
        assert!(r.body.is_array(), "{}", r.text);
    }
    let r = t.get("/api/v1/audit?limit=1", Some(&admin.token)).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    t.stop().await;
}

/// A request published over the home `TestApp::account` gives residents; answers its id.
async fn published_request(t: &TestApp, investigator: &str, moderator: &str) -> String {
    let end = (chrono::Utc::now() - chrono::Duration::hours(3)).format("%Y-%m-%dT%H:%M:%SZ");
    let start = (chrono::Utc::now() - chrono::Duration::hours(5)).format("%Y-%m-%dT%H:%M:%SZ");
    let body = json!({
        "incident_type": "vehicle_break_in",
        "details": "A car window was smashed overnight. Footage of the street would help.",
        "footage_start": start.to_string(),
        "footage_end": end.to_string(),
        "investigator": {"name": "Det. A. Rivera", "phone": "+1-555-0100", "email": "arivera@pd.example"},
        "area": {"type": "Polygon", "coordinates": [[[-122.665, 45.512], [-122.659, 45.512], [-122.659, 45.516], [-122.665, 45.516], [-122.665, 45.512]]]},
        "investigation_code": "ODD-1",
        "ongoing_threat": false,
        "suspects": []
    });
    let r = t.post("/api/v1/requests", Some(investigator), body).await;
    r.expect(201, None);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = t
        .post(
            &format!("/api/v1/moderation/requests/{id}/decision"),
            Some(moderator),
            json!({"decision": "approve"}),
        )
        .await;
    r.expect(200, None);
    id
}

#[tokio::test]
async fn odd_requests_never_answer_500() {
    common::announce("odd_requests_never_answer_500");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let agency = t.agency("Riverton Police Department").await;
    let agency_admin = t.account(Role::AgencyAdmin, Some(&agency)).await;
    let resident = t.account(Role::Resident, None).await;
    let nul = "a\u{0}b";
    let long = "x".repeat(10_000);
    let odd_ids = [
        "%00".to_owned(),
        "%FF%FE".to_owned(),
        "'%20OR%201=1--".to_owned(),
        "..%2F..%2Fetc%2Fpasswd".to_owned(),
        long.clone(),
    ];
    let mut seen = 0;
    let tokens = [
        None,
        Some(admin.token.as_str()),
        Some(agency_admin.token.as_str()),
        Some(resident.token.as_str()),
    ];
    for token in tokens {
        for id in &odd_ids {
            for (method, path, body) in [
                ("GET", format!("/api/v1/agencies/{id}"), None),
                (
                    "PATCH",
                    format!("/api/v1/agencies/{id}"),
                    Some(json!({"verified": true})),
                ),
                ("GET", format!("/api/v1/agencies/{id}/members"), None),
                (
                    "POST",
                    format!("/api/v1/agencies/{id}/members"),
                    Some(
                        json!({"email": t.email("m"), "password": PASSWORD, "role": "investigator"}),
                    ),
                ),
                (
                    "DELETE",
                    format!("/api/v1/agencies/{agency}/members/{id}"),
                    None,
                ),
                (
                    "DELETE",
                    format!("/api/v1/agencies/{id}/members/{id}"),
                    None,
                ),
            ] {
                let r = t.call(method, &path, token, body).await;
                assert_sane(&r, &format!("{method} {path}"));
                seen += 1;
            }
        }
    }
    // Strange text in JSON bodies: NUL characters, huge strings, odd numbers.
    let bodies = [
        (
            "/api/v1/auth/login",
            json!({"email": nul, "password": PASSWORD}),
        ),
        (
            "/api/v1/auth/login",
            json!({"email": "a@b.co", "password": nul}),
        ),
        (
            "/api/v1/auth/login",
            json!({"email": admin.email, "password": PASSWORD, "totp": nul}),
        ),
        (
            "/api/v1/auth/login",
            json!({"email": long, "password": long}),
        ),
        (
            "/api/v1/residents",
            json!({"email": format!("{nul}@test.example"), "password": PASSWORD, "display_name": "x",
                "home_address": "y", "home_location": {"lat": 45.5, "lon": -122.6}}),
        ),
        (
            "/api/v1/residents",
            json!({"email": t.email("nul"), "password": format!("{PASSWORD}{nul}"), "display_name": nul,
                "home_address": nul, "home_location": {"lat": 45.5, "lon": -122.6}}),
        ),
        (
            "/api/v1/residents",
            json!({"email": t.email("big"), "password": PASSWORD, "display_name": "x",
                "home_address": "y", "home_location": {"lat": 1e300, "lon": -1e300}}),
        ),
    ];
    for (path, body) in bodies {
        let r = t.post(path, None, body).await;
        assert_sane(&r, &format!("POST {path}"));
        seen += 1;
    }
    let staff_bodies = [
        (
            "POST",
            "/api/v1/agencies".to_owned(),
            json!({"name": nul, "kind": "fire", "jurisdiction": common::riverton()}),
        ),
        (
            "POST",
            "/api/v1/agencies".to_owned(),
            json!({"name": "Fire", "kind": nul, "jurisdiction": common::riverton()}),
        ),
        (
            "POST",
            "/api/v1/agencies".to_owned(),
            json!({"name": "Fire", "kind": "fire", "jurisdiction": {"type": "Polygon", "coordinates": [[[1e308, 1e308]]]}}),
        ),
        (
            "PATCH",
            format!("/api/v1/agencies/{agency}"),
            json!({"name": nul}),
        ),
        (
            "POST",
            format!("/api/v1/agencies/{agency}/members"),
            json!({"email": t.email("m"), "password": PASSWORD, "role": "investigator", "display_name": nul}),
        ),
        (
            "POST",
            "/api/v1/moderators".to_owned(),
            json!({"email": t.email("mod"), "password": PASSWORD, "display_name": nul}),
        ),
        (
            "POST",
            "/api/v1/me/mfa/confirm".to_owned(),
            json!({"totp": nul}),
        ),
    ];
    for (method, path, body) in staff_bodies {
        let r = t.call(method, &path, Some(&admin.token), Some(body)).await;
        assert_sane(&r, &format!("{method} {path}"));
        seen += 1;
    }
    // Odd credentials.
    for (name, value) in [
        ("authorization", "Bearer "),
        ("authorization", "Basic YWRtaW46YWRtaW4="),
        ("authorization", "bearer x y z"),
        ("cookie", "canvass_session="),
        ("cookie", "canvass_session=%00; other=1"),
    ] {
        for path in ["/api/v1/me", "/api/v1/audit", "/api/v1/agencies"] {
            let r = raw(&t, "GET", path, &[(name, value)], None).await;
            assert_sane(&r, &format!("GET {path} with {name}: {value}"));
            assert_error(&r, 401, "unauthenticated");
            seen += 1;
        }
    }
    // Cameras, recordings, tus uploads, submissions and evidence: odd ids in the path (and in
    // a selection), from every kind of caller that reaches a look-up, on a published request
    // over the resident's home so the resident's share gets as far as the recordings.
    let investigator = t.account(Role::Investigator, Some(&agency)).await;
    let moderator = t.account(Role::Moderator, None).await;
    let request = published_request(&t, &investigator.token, &moderator.token).await;
    let nul_json = [
        nul.to_owned(),
        "'; DROP TABLE recordings;--".to_owned(),
        long.clone(),
    ];
    let tokens = [
        None,
        Some(admin.token.as_str()),
        Some(agency_admin.token.as_str()),
        Some(investigator.token.as_str()),
        Some(resident.token.as_str()),
    ];
    for token in tokens {
        for id in &odd_ids {
            for (method, path, body) in [
                ("GET", format!("/api/v1/devices/{id}"), None),
                (
                    "PATCH",
                    format!("/api/v1/devices/{id}"),
                    Some(json!({"name": "Porch"})),
                ),
                ("DELETE", format!("/api/v1/devices/{id}"), None),
                ("POST", format!("/api/v1/devices/{id}/token"), None),
                ("DELETE", format!("/api/v1/devices/{id}/token"), None),
                ("GET", format!("/api/v1/recordings/{id}"), None),
                ("GET", format!("/api/v1/recordings/{id}/content"), None),
                ("DELETE", format!("/api/v1/recordings/{id}"), None),
                (
                    "GET",
                    format!("/api/v1/requests/{id}/shareable-recordings"),
                    None,
                ),
                ("GET", format!("/api/v1/requests/{id}/submissions"), None),
                (
                    "POST",
                    format!("/api/v1/requests/{id}/submissions"),
                    Some(json!({"recording_ids": ["r"], "consent": true})),
                ),
                ("GET", format!("/api/v1/requests/{id}/export"), None),
                ("GET", format!("/api/v1/evidence/{id}"), None),
                ("GET", format!("/api/v1/evidence/{id}/content"), None),
                ("GET", format!("/api/v1/evidence/{id}/custody"), None),
            ] {
                let r = t.call(method, &path, token, body).await;
                assert_sane(&r, &format!("{method} {path}"));
                seen += 1;
            }
            let auth = token.map(|tk| format!("Bearer {tk}"));
            let mut headers = vec![("tus-resumable", "1.0.0")];
            if let Some(a) = &auth {
                headers.push(("authorization", a));
            }
            let path = format!("/api/v1/uploads/{id}");
            let r = raw(&t, "HEAD", &path, &headers, None).await;
            assert_sane_head(&r, &format!("HEAD {path}"));
            let r = raw(&t, "DELETE", &path, &headers, None).await;
            assert_sane(&r, &format!("DELETE {path}"));
            let mut patch = headers.clone();
            patch.extend([
                ("content-type", "application/offset+octet-stream"),
                ("upload-offset", "0"),
            ]);
            let r = raw(&t, "PATCH", &path, &patch, Some(b"abc".to_vec())).await;
            assert_sane(&r, &format!("PATCH {path}"));
            seen += 3;
        }
        // Odd recording ids in a selection for a request the resident may share with.
        for id in &nul_json {
            let path = format!("/api/v1/requests/{request}/submissions");
            let body = json!({"recording_ids": [id], "consent": true});
            let r = t.call("POST", &path, token, Some(body)).await;
            assert_sane(&r, &format!("POST {path} with an odd recording id"));
            seen += 1;
        }
    }
    // Odd `Upload-Metadata` from a resident: odd camera ids, file names and times.
    let bearer = format!("Bearer {}", resident.token);
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
    };
    for (key, value) in [
        ("device_id", nul),
        ("device_id", "'; DROP TABLE devices;--"),
        ("device_id", long.as_str()),
        ("filename", nul),
        ("filename", long.as_str()),
        ("started_at", nul),
        ("started_at", "+275760-09-13T00:00:00Z"),
        ("ended_at", "-000001-01-01T00:00:00Z"),
    ] {
        let mut pairs = vec![
            ("device_id", b64("no-such-camera")),
            ("started_at", b64("2026-01-01T10:00:00Z")),
            ("ended_at", b64("2026-01-01T10:05:00Z")),
        ];
        pairs.retain(|(k, _)| *k != key);
        pairs.push((key, b64(value)));
        let metadata = pairs
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(",");
        let r = raw(
            &t,
            "POST",
            "/api/v1/uploads",
            &[
                ("tus-resumable", "1.0.0"),
                ("authorization", &bearer),
                ("upload-length", "1000"),
                ("upload-metadata", &metadata),
            ],
            None,
        )
        .await;
        assert_sane(
            &r,
            &format!(
                "POST /api/v1/uploads with an odd {key} ({} chars)",
                value.len()
            ),
        );
        seen += 1;
    }
    eprintln!("{seen} odd requests, none answered 5xx");
    t.stop().await;
}

#[tokio::test]
async fn nul_characters_answer_422_or_404_on_both_databases() {
    common::announce("nul_characters_answer_422_or_404_on_both_databases");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let r = t.login("a\u{0}b@test.example", PASSWORD, None).await;
    assert_error(&r, 422, "invalid_input");
    assert!(r.body["error"]["details"]["email"].is_array(), "{}", r.text);
    let mut body = sign_up_body(&t);
    body["display_name"] = json!("Sam\u{0}");
    body["home_address"] = json!("\u{0}");
    let r = t.post("/api/v1/residents", None, body).await;
    assert_error(&r, 422, "invalid_input");
    assert!(r.body["error"]["details"]["display_name"].is_array());
    assert!(r.body["error"]["details"]["home_address"].is_array());
    let mut jurisdiction = common::riverton();
    jurisdiction["properties"] = json!({"note": ["ok", "\u{0}"]});
    let r = t
        .post(
            "/api/v1/agencies",
            Some(&admin.token),
            json!({"name": "Fire", "kind": "fire", "jurisdiction": jurisdiction}),
        )
        .await;
    assert_error(&r, 422, "invalid_input");
    assert!(
        r.body["error"]["details"]["jurisdiction.properties.note.1"].is_array(),
        "{}",
        r.text
    );
    // The escaped text `\\u0000` is not a NUL character and is accepted as written.
    let r = t
        .post(
            "/api/v1/agencies",
            Some(&admin.token),
            json!({"name": "Fire \\u0000", "kind": "fire", "jurisdiction": common::riverton()}),
        )
        .await;
    r.expect(201, None);
    assert_eq!(r.body["name"], "Fire \\u0000");
    let r = t.get("/api/v1/agencies/a%00b", Some(&admin.token)).await;
    assert_error(&r, 404, "not_found");
    t.stop().await;
}

#[tokio::test]
async fn security_headers_on_api_answers_and_on_404s() {
    common::announce("security_headers_on_api_answers_and_on_404s");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let answers = [
        ("api answer", t.get("/api/v1/me", Some(&admin.token)).await),
        ("api error", t.get("/api/v1/me", None).await),
        ("unknown route", t.get("/api/v1/nope", None).await),
        (
            "wrong method",
            t.call("DELETE", "/api/v1/me", None, None).await,
        ),
        ("health", t.get("/healthz", None).await),
    ];
    let mut ids = BTreeSet::new();
    for (what, r) in &answers {
        let header = |name: &str| {
            r.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{what}: no {name} header"))
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: CSP {csp}");
        assert!(csp.contains("default-src 'self'"), "{what}: CSP {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
        let id = header("x-request-id");
        assert!(!id.trim().is_empty(), "{what}: empty x-request-id");
        ids.insert(id);
    }
    assert_eq!(ids.len(), answers.len(), "request ids repeat: {ids:?}");
    t.stop().await;
}

#[tokio::test]
async fn healthz_answers_200_status_ok() {
    common::announce("healthz_answers_200_status_ok");
    let t = TestApp::start().await;
    let r = t.get("/healthz", None).await;
    r.expect(200, None);
    assert_eq!(r.body, json!({"status": "ok"}));
    t.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    common::announce("metrics_count_requests_by_route_template");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let agency = t.agency("Riverton Police Department").await;
    t.get("/api/v1/me", Some(&admin.token))
        .await
        .expect(200, None);
    t.get(&format!("/api/v1/agencies/{agency}"), Some(&admin.token))
        .await
        .expect(200, None);
    t.get("/api/v1/does-not-exist", None)
        .await
        .expect(404, None);
    let r = t.get("/metrics", None).await;
    r.expect(200, None);
    let ctype = r.headers["content-type"].to_str().unwrap();
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    let text = &r.text;
    assert!(text.contains("canvass_http_requests_total"), "{text}");
    assert!(
        text.contains("canvass_http_request_duration_seconds"),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("canvass_http_requests_total")
                && l.contains("route=\"/api/v1/me\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no counter for GET /api/v1/me: {text}"));
    assert!(line.ends_with(" 1"), "{line}");
    // Routes are labelled by template, never by the raw path with its ids.
    assert!(text.contains("route=\"/api/v1/agencies/{id}\""), "{text}");
    assert!(!text.contains(&agency), "metrics carry an id: {text}");
    assert!(!text.contains("does-not-exist"), "metrics carry a raw path");
    t.stop().await;
}

/// Every route in `web::routes()`, with its methods. A new route must be added here.
const ROUTES: [(&str, &[&str]); 49] = [
    ("/api/v1/auth/login", &["post"]),
    ("/api/v1/auth/logout", &["post"]),
    ("/api/v1/me/mfa/enroll", &["post"]),
    ("/api/v1/me/mfa/confirm", &["post"]),
    ("/api/v1/me", &["get"]),
    ("/api/v1/residents", &["post"]),
    ("/api/v1/agencies", &["get", "post"]),
    ("/api/v1/agencies/{id}", &["get", "patch"]),
    ("/api/v1/agencies/{id}/members", &["get", "post"]),
    ("/api/v1/agencies/{id}/members/{user_id}", &["delete"]),
    ("/api/v1/moderators", &["post"]),
    ("/api/v1/audit", &["get"]),
    ("/api/v1/requests", &["get", "post"]),
    ("/api/v1/requests/{id}", &["get", "put", "delete"]),
    ("/api/v1/requests/{id}/history", &["get"]),
    ("/api/v1/moderation/queue", &["get"]),
    ("/api/v1/moderation/requests/{id}/decision", &["post"]),
    ("/api/v1/transparency/checkpoint", &["get"]),
    ("/api/v1/transparency/key", &["get"]),
    ("/api/v1/transparency/entries/{index}", &["get"]),
    ("/api/v1/transparency/proof/inclusion/{index}", &["get"]),
    ("/api/v1/transparency/proof/consistency", &["get"]),
    ("/api/v1/transparency/report", &["get"]),
    ("/api/v1/feed", &["get"]),
    ("/api/v1/me/settings", &["get", "put"]),
    ("/api/v1/me/push-subscriptions", &["post"]),
    ("/api/v1/push/key", &["get"]),
    ("/api/v1/requests/{id}/comments", &["get", "post"]),
    ("/api/v1/requests/{id}/shareable-recordings", &["get"]),
    ("/api/v1/requests/{id}/submissions", &["get", "post"]),
    ("/api/v1/me/submissions", &["get"]),
    ("/api/v1/evidence/{id}", &["get"]),
    ("/api/v1/evidence/{id}/content", &["get"]),
    ("/api/v1/evidence/{id}/custody", &["get"]),
    ("/api/v1/requests/{id}/export", &["get"]),
    ("/api/v1/public/requests/{public_id}", &["get"]),
    ("/r/{public_id}", &["get"]),
    ("/api/v1/unsubscribe/{token}", &["get", "post"]),
    ("/api/v1/devices", &["get", "post"]),
    ("/api/v1/devices/{id}", &["get", "patch", "delete"]),
    ("/api/v1/devices/{id}/token", &["post", "delete"]),
    ("/api/v1/uploads", &["options", "post"]),
    ("/api/v1/uploads/{id}", &["head", "patch", "delete"]),
    ("/api/v1/recordings", &["get"]),
    ("/api/v1/recordings/{id}", &["get", "delete"]),
    ("/api/v1/recordings/{id}/content", &["get"]),
    ("/healthz", &["get"]),
    ("/metrics", &["get"]),
    ("/api/openapi.json", &["get"]),
];

#[tokio::test]
async fn openapi_document_is_3_1_and_covers_every_route() {
    common::announce("openapi_document_is_3_1_and_covers_every_route");
    let t = TestApp::start().await;
    let r = t.get("/api/openapi.json", None).await;
    r.expect(200, None);
    assert!(
        r.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "openapi: {}",
        r.body["openapi"]
    );
    let paths = r.body["paths"].as_object().expect("paths");
    let http_methods = [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| http_methods.contains(&k.as_str()))
                .map(|m| (path.clone(), m.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .iter()
                .map(|m| ((*path).to_owned(), (*m).to_owned()))
        })
        .collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "documented but not in this test's list: {extra:?}"
    );
    // Each documented operation is served (anonymous callers get 401 or an open answer, never
    // 404 or 405), so the document and the router agree.
    for (path, method) in &expected {
        let concrete = path
            .replace("{id}", "x")
            .replace("{user_id}", "y")
            .replace("{index}", "0")
            .replace("{public_id}", "z")
            .replace("{token}", "t");
        let r = t.call(&method.to_uppercase(), &concrete, None, None).await;
        // A 404 for a missing object is fine; the router's own 404 says "no such endpoint".
        // A HEAD answer has no body to say so, so there any 404 counts as unrouted (the tus
        // HEAD answers an anonymous caller without `Tus-Resumable` 412 before any look-up).
        let unrouted = r.status.as_u16() == 405
            || (r.status.as_u16() == 404
                && (method == "head" || r.text.contains("no such endpoint")));
        assert!(
            !unrouted,
            "{method} {path} is documented but the router answers {}: {}",
            r.status, r.text
        );
        if method == "head" {
            assert_sane_head(&r, &format!("{method} {concrete}"));
        } else {
            assert_sane(&r, &format!("{method} {concrete}"));
        }
    }
    t.stop().await;
}

#[tokio::test]
async fn cookie_session_change_from_another_origin_answers_403_csrf_rejected_but_bearer_works() {
    common::announce(
        "cookie_session_change_from_another_origin_answers_403_csrf_rejected_but_bearer_works",
    );
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let cookie = format!("canvass_session={}", admin.token);
    let bearer = format!("Bearer {}", admin.token);
    let body = || {
        Some(
            json!({"email": t.email("mod"), "password": PASSWORD})
                .to_string()
                .into_bytes(),
        )
    };
    let evil = ("origin", "https://evil.example");

    let r = raw(
        &t,
        "POST",
        "/api/v1/moderators",
        &[JSON, ("cookie", &cookie), evil],
        body(),
    )
    .await;
    assert_error(&r, 403, "csrf_rejected");
    let r = raw(
        &t,
        "POST",
        "/api/v1/moderators",
        &[JSON, ("cookie", &cookie), ("sec-fetch-site", "cross-site")],
        body(),
    )
    .await;
    assert_error(&r, 403, "csrf_rejected");
    let r = raw(
        &t,
        "POST",
        "/api/v1/auth/logout",
        &[("cookie", &cookie), evil],
        None,
    )
    .await;
    assert_error(&r, 403, "csrf_rejected");
    // The session survived the refused logout.
    t.get("/api/v1/me", Some(&admin.token))
        .await
        .expect(200, None);

    // Reading with the cookie from anywhere is fine (no change).
    let r = raw(&t, "GET", "/api/v1/me", &[("cookie", &cookie), evil], None).await;
    r.expect(200, None);
    // The same change with a bearer token works, whatever the Origin.
    let r = raw(
        &t,
        "POST",
        "/api/v1/moderators",
        &[JSON, ("authorization", &bearer), evil],
        body(),
    )
    .await;
    r.expect(201, None);
    assert_eq!(r.body["role"], "moderator");
    // And with the cookie from our own pages (no cross-site signals).
    let r = raw(
        &t,
        "POST",
        "/api/v1/moderators",
        &[JSON, ("cookie", &cookie), ("sec-fetch-site", "same-origin")],
        body(),
    )
    .await;
    r.expect(201, None);
    t.stop().await;
}

#[tokio::test]
async fn login_sets_an_http_only_session_cookie_that_authenticates() {
    common::announce("login_sets_an_http_only_session_cookie_that_authenticates");
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;
    let r = t.login(&resident.email, PASSWORD, None).await;
    r.expect(200, None);
    let set_cookie = r.headers["set-cookie"].to_str().unwrap().to_owned();
    let token = r.body["token"].as_str().unwrap();
    assert!(
        set_cookie.starts_with(&format!("canvass_session={token};")),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = format!("canvass_session={token}");
    let me = raw(&t, "GET", "/api/v1/me", &[("cookie", &cookie)], None).await;
    me.expect(200, None);
    assert_eq!(me.body["email"], resident.email);
    t.stop().await;
}
