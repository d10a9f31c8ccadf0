#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Residents' cameras: registering, listing, renaming and removing them; their upload tokens
//! (shown once, stored only hashed, revoked and re-issued); validation; and who may see them.

mod common;

use canvass::domain::Role;
use common::{HOME, Reply, Session, TestApp};
use serde_json::{Value, json};

async fn create(t: &TestApp, who: &Session, body: Value) -> Reply {
    t.post("/api/v1/devices", Some(&who.token), body).await
}

fn porch() -> Value {
    json!({"name": "Porch", "location": {"lat": 45.5151, "lon": -122.6601}})
}

/// Whether a camera token reaches the upload API (a HEAD of an unknown upload: 404 when the
/// token works, 401 when it does not).
async fn token_works(t: &TestApp, token: &str) -> bool {
    let r = t
        .client
        .head(format!("{}/api/v1/uploads/no-such-upload", t.base))
        .header("Tus-Resumable", "1.0.0")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    match r.status().as_u16() {
        404 => true,
        401 => false,
        other => panic!("unexpected status {other}"),
    }
}

async fn audit_actions(t: &TestApp, target: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT action FROM audit_log WHERE target = $1 AND outcome = 'success' ORDER BY id",
    )
    .bind(target)
    .fetch_all(t.app().db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn residents_register_list_rename_and_remove_cameras() {
    common::announce("residents_register_list_rename_and_remove_cameras");
    let t = TestApp::start().await;
    let me = t.resident_at(HOME.0, HOME.1).await;
    let r = create(&t, &me, porch()).await;
    r.expect(201, None);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("cvd_"), "{token}");
    // 32 random bytes, base64url without padding.
    assert_eq!(token.len(), 4 + 43);
    assert_eq!(r.body["name"], "Porch");
    assert_eq!(
        r.body["location"],
        json!({"lat": 45.5151, "lon": -122.6601})
    );
    assert!(r.body["created_at"].is_string());

    // Only the hash is stored, and it is never shown again.
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM devices WHERE id = $1")
        .bind(&id)
        .fetch_one(t.app().db.pool())
        .await
        .unwrap();
    assert_eq!(stored, canvass::app::auth::token_hash(&token));
    assert_ne!(stored, token);
    let list = t.get("/api/v1/devices", Some(&me.token)).await;
    list.expect(200, None);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["id"], id);
    assert_eq!(list.body["items"][0]["has_token"], true);
    assert!(list.body["items"][0].get("token").is_none());
    assert!(!list.text.contains(&token));
    let one = t
        .get(&format!("/api/v1/devices/{id}"), Some(&me.token))
        .await;
    one.expect(200, None);
    assert_eq!(one.body["name"], "Porch");
    assert!(!one.text.contains(&token));

    // Rename (trimmed).
    let r = t
        .call(
            "PATCH",
            &format!("/api/v1/devices/{id}"),
            Some(&me.token),
            Some(json!({"name": "  Front porch  "})),
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body["name"], "Front porch");
    t.call(
        "PATCH",
        &format!("/api/v1/devices/{id}"),
        Some(&me.token),
        Some(json!({"name": ""})),
    )
    .await
    .expect(422, Some("invalid_input"));

    // Remove.
    t.call(
        "DELETE",
        &format!("/api/v1/devices/{id}"),
        Some(&me.token),
        None,
    )
    .await
    .expect(204, None);
    t.get(&format!("/api/v1/devices/{id}"), Some(&me.token))
        .await
        .expect(404, Some("not_found"));
    assert!(!token_works(&t, &token).await);
    let list = t.get("/api/v1/devices", Some(&me.token)).await;
    assert_eq!(list.body["items"], json!([]));
    assert_eq!(
        audit_actions(&t, &format!("device:{id}")).await,
        ["device_create", "device_remove"]
    );
    t.stop().await;
}

#[tokio::test]
async fn a_token_can_be_revoked_and_reissued_and_the_old_one_stays_dead() {
    common::announce("a_token_can_be_revoked_and_reissued_and_the_old_one_stays_dead");
    let t = TestApp::start().await;
    let me = t.resident_at(HOME.0, HOME.1).await;
    let r = create(&t, &me, porch()).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let first = r.body["token"].as_str().unwrap().to_owned();
    assert!(token_works(&t, &first).await);

    let path = format!("/api/v1/devices/{id}/token");
    t.call("DELETE", &path, Some(&me.token), None)
        .await
        .expect(204, None);
    assert!(!token_works(&t, &first).await);
    let one = t
        .get(&format!("/api/v1/devices/{id}"), Some(&me.token))
        .await;
    assert_eq!(one.body["has_token"], false);
    // Revoking again is harmless.
    t.call("DELETE", &path, Some(&me.token), None)
        .await
        .expect(204, None);

    let r = t.call("POST", &path, Some(&me.token), None).await;
    r.expect(201, None);
    let second = r.body["token"].as_str().unwrap().to_owned();
    assert!(second.starts_with("cvd_"));
    assert_ne!(second, first);
    assert!(token_works(&t, &second).await);
    assert!(!token_works(&t, &first).await);
    // Issuing again replaces the token at once.
    let r = t.call("POST", &path, Some(&me.token), None).await;
    let third = r.body["token"].as_str().unwrap().to_owned();
    assert!(!token_works(&t, &second).await);
    assert!(token_works(&t, &third).await);
    // A camera token is not a session: the rest of the API refuses it.
    t.get("/api/v1/devices", Some(&third))
        .await
        .expect(401, Some("unauthenticated"));
    t.get("/api/v1/recordings", Some(&third))
        .await
        .expect(401, Some("unauthenticated"));
    assert_eq!(
        audit_actions(&t, &format!("device:{id}")).await,
        [
            "device_create",
            "device_token_revoke",
            "device_token_revoke",
            "device_token_issue",
            "device_token_issue"
        ]
    );
    t.stop().await;
}

#[tokio::test]
async fn another_residents_camera_is_not_found() {
    common::announce("another_residents_camera_is_not_found");
    let t = TestApp::start().await;
    let owner = t.resident_at(HOME.0, HOME.1).await;
    let other = t.resident_at(HOME.0, HOME.1).await;
    let r = create(&t, &owner, porch()).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let token = r.body["token"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        ("GET", format!("/api/v1/devices/{id}"), None),
        (
            "PATCH",
            format!("/api/v1/devices/{id}"),
            Some(json!({"name": "Mine now"})),
        ),
        ("DELETE", format!("/api/v1/devices/{id}"), None),
        ("POST", format!("/api/v1/devices/{id}/token"), None),
        ("DELETE", format!("/api/v1/devices/{id}/token"), None),
    ] {
        let r = t.call(method, &path, Some(&other.token), body).await;
        r.expect(404, Some("not_found"));
        assert_eq!(r.body["error"]["message"], "camera not found");
    }
    // Nothing changed, and the other resident's list is empty.
    let one = t
        .get(&format!("/api/v1/devices/{id}"), Some(&owner.token))
        .await;
    assert_eq!(one.body["name"], "Porch");
    assert!(token_works(&t, &token).await);
    let list = t.get("/api/v1/devices", Some(&other.token)).await;
    assert_eq!(list.body["items"], json!([]));
    // An id that exists nowhere answers the same.
    t.get("/api/v1/devices/no-such-camera", Some(&other.token))
        .await
        .expect(404, Some("not_found"));
    t.stop().await;
}

#[tokio::test]
async fn bad_names_and_locations_are_refused() {
    common::announce("bad_names_and_locations_are_refused");
    let t = TestApp::start().await;
    let me = t.resident_at(HOME.0, HOME.1).await;
    let cases = [
        (
            json!({"name": "", "location": {"lat": 45.5, "lon": -122.6}}),
            vec!["name"],
        ),
        (
            json!({"name": "   ", "location": {"lat": 45.5, "lon": -122.6}}),
            vec!["name"],
        ),
        (
            json!({"name": "x".repeat(101), "location": {"lat": 45.5, "lon": -122.6}}),
            vec!["name"],
        ),
        (
            json!({"name": "Porch\u{7}", "location": {"lat": 45.5, "lon": -122.6}}),
            vec!["name"],
        ),
        (
            json!({"name": "Porch", "location": {"lat": 91.0, "lon": 0.0}}),
            vec!["location"],
        ),
        (
            json!({"name": "Porch", "location": {"lat": 0.0, "lon": -180.5}}),
            vec!["location"],
        ),
        (json!({"name": "Porch"}), vec!["location"]),
        (
            json!({"name": "", "location": {"lat": -90.5, "lon": 0.0}}),
            vec!["location", "name"],
        ),
    ];
    for (body, fields) in cases {
        let r = create(&t, &me, body.clone()).await;
        r.expect(422, Some("invalid_input"));
        let got: Vec<&str> = r.body["error"]["details"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(got, fields, "{body}: {}", r.text);
    }
    // A name of exactly 100 characters and the edges of the map are fine.
    create(
        &t,
        &me,
        json!({"name": "x".repeat(100), "location": {"lat": -90.0, "lon": 180.0}}),
    )
    .await
    .expect(201, None);
    // Unknown fields and non-JSON bodies keep the usual answers.
    create(
        &t,
        &me,
        json!({"name": "Porch", "location": {"lat": 1.0, "lon": 1.0}, "token": "mine"}),
    )
    .await
    .expect(422, Some("invalid_input"));
    let list = t.get("/api/v1/devices", Some(&me.token)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn only_residents_have_cameras() {
    common::announce("only_residents_have_cameras");
    let t = TestApp::start().await;
    let agency = t.agency("Riverton Police Department").await;
    let resident = t.resident_at(HOME.0, HOME.1).await;
    let id = create(&t, &resident, porch()).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let staff = [
        t.account(Role::Admin, None).await,
        t.account(Role::Moderator, None).await,
        t.account(Role::Investigator, Some(&agency)).await,
        t.account(Role::AgencyAdmin, Some(&agency)).await,
    ];
    for who in &staff {
        create(&t, who, porch())
            .await
            .expect(403, Some("forbidden"));
        t.get("/api/v1/devices", Some(&who.token))
            .await
            .expect(403, Some("forbidden"));
        t.get(&format!("/api/v1/devices/{id}"), Some(&who.token))
            .await
            .expect(403, Some("forbidden"));
    }
    t.post("/api/v1/devices", None, porch())
        .await
        .expect(401, Some("unauthenticated"));
    t.stop().await;
}
