//! The resident's settings (with Web Push and the PWA's manifest and service worker) and "My
//! cameras" (adding a camera on the form, its upload token, uploads from the browser over
//! tus) in a real browser: headless Chromium through chromedriver, against the real server.
//!
//! Reported SKIPPED without chromium and chromedriver, unless `CANVASS_REQUIRE_BROWSER=1`.
//!
//! What headless Chromium cannot do here: a real push subscription. `pushManager.subscribe`
//! asks the browser vendor's push service for an endpoint, and this machine has no network
//! beyond loopback. So the push test checks what can be checked for real: the worker registers
//! at the site's root scope, the manifest is served and valid, a refused and a granted
//! permission are each reported on the page, and the page's own subscription call stores a
//! subscription (one with a real P-256 key, as a browser would make) through the API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/browser.rs"]
mod browser;
mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use browser::{Browser, browser, server};
use common::{HOME, TestApp};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{Value, json};

/// Sets the page origin's notification permission (`granted`, `denied` or `prompt`).
async fn set_notifications(b: &Browser, setting: &str) {
    b.cdp(
        "Browser.setPermission",
        json!({
            "permission": {"name": "notifications"},
            "setting": setting,
            "origin": b.base,
        }),
    )
    .await;
}

/// Waits until `script` (a function body) answers something other than null or false, and
/// answers it.
async fn wait_for_js(b: &Browser, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = b.js(script, vec![]).await;
        if !v.is_null() && v != json!(false) {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Waits until the page's heading is `text` (after a form post whose answer keeps the path).
async fn wait_for_h1(b: &Browser, text: &str) {
    let script = format!(
        "const h = document.querySelector('h1'); return h !== null && h.textContent.trim() === {};",
        json!(text)
    );
    wait_for_js(b, text, &script).await;
}

async fn settings_of(t: &TestApp, token: &str) -> Value {
    let r = t.get("/api/v1/me/settings", Some(token)).await;
    r.expect(200, None);
    r.body
}

#[tokio::test]
async fn a_resident_turns_community_requests_off_and_on_again() {
    let t = server().await;
    let Some(b) = browser("a_resident_turns_community_requests_off_and_on_again", &t).await else {
        return t.stop().await;
    };
    let r = t.resident_at(HOME.0, HOME.1).await;
    b.use_session(&r.token).await;

    b.open("/settings").await;
    assert_eq!(b.text("h1").await, "Settings");
    for id in ["community_requests", "email", "push"] {
        let checked = b.find(&format!("#{id}")).await.prop("checked").await;
        assert_eq!(checked.unwrap().as_deref(), Some("true"), "{id}");
    }
    assert!(!b.has("#settings-saved").await);
    b.assert_clean("settings", &[]).await;
    b.screenshot("settings").await;

    // Off: saved, confirmed, and the API says so.
    b.click("#community_requests").await;
    b.click("form[action='/settings'] button[type=submit]")
        .await;
    b.wait_for_path("/settings").await;
    assert!(b.text("#settings-saved").await.contains("saved"));
    let off = b.find("#community_requests").await.prop("checked").await;
    assert_eq!(off.unwrap().as_deref(), Some("false"));
    let s = settings_of(&t, &r.token).await;
    assert_eq!(
        s,
        json!({"community_requests": false, "push": true, "email": true})
    );
    b.assert_clean("settings saved", &[]).await;

    // And on again, with email off this time. The page posts to its own address and already
    // shows "saved", so that notice is taken away first: its return marks the new page.
    b.click("#community_requests").await;
    b.click("#email").await;
    b.js(
        "document.getElementById('settings-saved').remove();",
        vec![],
    )
    .await;
    b.click("form[action='/settings'] button[type=submit]")
        .await;
    b.wait_text("#settings-saved", "saved").await;
    let s = settings_of(&t, &r.token).await;
    assert_eq!(
        s,
        json!({"community_requests": true, "push": true, "email": false})
    );

    // At phone width nothing overflows.
    b.window(390, 844).await;
    b.open("/settings").await;
    b.assert_clean("settings at 390 px", &[]).await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn push_registers_the_worker_at_the_root_and_the_page_stores_a_subscription() {
    let t = server().await;
    let Some(b) = browser(
        "push_registers_the_worker_at_the_root_and_the_page_stores_a_subscription",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let r = t.resident_at(HOME.0, HOME.1).await;
    b.use_session(&r.token).await;

    // The worker and the manifest are served where and how browsers want them.
    let sw = t
        .client
        .get(format!("{}/sw.js", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(sw.status(), 200);
    let h = sw.headers().clone();
    assert!(h["content-type"].to_str().unwrap().contains("javascript"));
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["service-worker-allowed"], "/");
    let body = sw.text().await.unwrap();
    assert!(body.contains("notificationclick") && body.contains("CANVASS_ICON"));

    let m = t
        .client
        .get(format!("{}/manifest.webmanifest", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(m.status(), 200);
    assert_eq!(m.headers()["content-type"], "application/manifest+json");
    let manifest: Value = serde_json::from_str(&m.text().await.unwrap()).unwrap();
    assert_eq!(manifest["name"], "Canvass");
    assert_eq!(manifest["start_url"], "/feed");
    assert_eq!(manifest["display"], "standalone");
    let icons = manifest["icons"].as_array().unwrap();
    assert!(icons.len() >= 2, "{manifest}");
    for icon in icons {
        let src = icon["src"].as_str().unwrap();
        let got = t
            .client
            .get(format!("{}{src}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200, "{src}");
        assert_eq!(
            got.headers()["content-type"],
            icon["type"].as_str().unwrap()
        );
    }

    // The settings page links the manifest, carries the VAPID key and registers the worker
    // at the root scope.
    b.open("/settings").await;
    let linked = b
        .js(
            "return document.querySelector('link[rel=manifest]').getAttribute('href');",
            vec![],
        )
        .await;
    assert_eq!(linked, "/manifest.webmanifest");
    let key = b
        .js(
            "return document.getElementById('push-panel').getAttribute('data-vapid-key');",
            vec![],
        )
        .await;
    let key = URL_SAFE_NO_PAD.decode(key.as_str().unwrap()).unwrap();
    assert_eq!(key.len(), 65, "an uncompressed P-256 point");
    let scope = wait_for_js(
        &b,
        "the service worker",
        "return navigator.serviceWorker.getRegistration('/').then(r => r && r.active ? r.scope : null);",
    )
    .await;
    assert_eq!(scope, format!("{}/", t.base).as_str());
    b.assert_clean("settings with the worker", &[]).await;

    // Notifications refused: the page says so.
    set_notifications(&b, "denied").await;
    b.click("#push-enable").await;
    let state = wait_for_js(
        &b,
        "the refusal",
        "const s = document.getElementById('push-status').getAttribute('data-state'); return s === 'working' ? null : s;",
    )
    .await;
    assert_eq!(state, "denied");
    assert!(
        b.text("#push-status")
            .await
            .contains("blocks notifications")
    );

    // Granted: the browser then asks its push service for an endpoint, which it cannot reach
    // from this machine, so the page reports that (on a machine with network it would say
    // enabled, and the subscription would be stored).
    set_notifications(&b, "granted").await;
    b.click("#push-enable").await;
    let state = wait_for_js(
        &b,
        "the outcome",
        "const s = document.getElementById('push-status').getAttribute('data-state'); return s === 'working' ? null : s;",
    )
    .await;
    assert!(
        state == "error" || state == "enabled",
        "{state}: {}",
        b.text("#push-status").await
    );
    let stored_by_button = t.app().db.push_subscriptions(&r.id).await.unwrap().len();
    assert_eq!(stored_by_button, usize::from(state == "enabled"));

    // The page's subscription call, with what a browser's PushSubscription.toJSON() holds:
    // an endpoint and a real P-256 public key with a 16-byte auth secret.
    let secret = loop {
        let mut bytes = [0_u8; 32];
        rand::fill(&mut bytes);
        if let Ok(k) = p256::SecretKey::from_slice(&bytes) {
            break k;
        }
    };
    let p256dh = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
    let auth = URL_SAFE_NO_PAD.encode([7_u8; 16]);
    let endpoint = "https://push.example.net/wpush/v2/abc123";
    let subscription = json!({
        "endpoint": endpoint,
        "expirationTime": null,
        "keys": {"p256dh": p256dh, "auth": auth},
    });
    let answer = b
        .js(
            "return window.CanvassPush.sendSubscription(arguments[0]).then(r => r, e => ({failed: e.message}));",
            vec![subscription],
        )
        .await;
    assert!(answer["id"].is_string(), "{answer}");
    let stored = t.app().db.push_subscriptions(&r.id).await.unwrap();
    let ours: Vec<_> = stored.iter().filter(|s| s.endpoint == endpoint).collect();
    assert_eq!(ours.len(), 1, "{stored:?}");
    assert_eq!(ours[0].p256dh, p256dh);
    assert_eq!(ours[0].auth, auth);

    // A broken one is refused with the server's reason.
    let answer = b
        .js(
            "return window.CanvassPush.sendSubscription({endpoint: 'https://push.example.net/x', keys: {p256dh: 'BAAAAA', auth: 'x'}}).then(r => r, e => ({failed: e.message}));",
            vec![],
        )
        .await;
    assert!(answer["failed"].is_string(), "{answer}");
    // The refusal (422) is logged by the browser as a failed load.
    b.assert_clean("settings after push", &["422", "push-subscriptions"])
        .await;

    b.finish().await;
    t.stop().await;
}

/// Sets a `datetime-local` field by script: typing into one depends on the browser's locale.
async fn set_time(b: &Browser, css: &str, value: &str) {
    b.js(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('change'));",
        vec![json!(css), json!(value)],
    )
    .await;
}

/// Fills the camera upload `form`: the fixture `file`, and when the clip starts and ends.
async fn fill_upload(b: &Browser, form: &str, file: &str, started: &str, ended: &str) {
    b.find(&format!("{form} input[type=file]"))
        .await
        .send_keys(&fixture_path(file))
        .await
        .unwrap();
    set_time(b, &format!("{form} input[name=started_at]"), started).await;
    set_time(b, &format!("{form} input[name=ended_at]"), ended).await;
}

fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn a_resident_adds_a_camera_sees_its_token_once_and_uploads_a_recording() {
    let t = server().await;
    let Some(b) = browser(
        "a_resident_adds_a_camera_sees_its_token_once_and_uploads_a_recording",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let r = t.resident_at(HOME.0, HOME.1).await;
    b.use_session(&r.token).await;

    b.open("/cameras").await;
    assert_eq!(b.text("h1").await, "My cameras");
    assert!(b.text(".camera-list").await.contains("no cameras yet"));
    b.assert_clean("cameras, none yet", &[]).await;

    // A place that is not a number is refused on the form, with what was typed kept.
    b.fill("#camera-name", "Porch").await;
    b.fill("#camera-lat", "north").await;
    b.fill("#camera-lon", "-122.66").await;
    b.click("#add-camera button[type=submit]").await;
    assert!(
        b.text("#add-error")
            .await
            .contains("latitude and longitude")
    );
    assert_eq!(b.value("#camera-name").await.as_deref(), Some("Porch"));
    b.assert_clean("add refused", &[]).await;

    // A click on the map fills the two fields (the map starts at the home).
    b.fill("#camera-lat", "").await;
    b.click("#camera-map").await;
    let lat: f64 = b.value("#camera-lat").await.unwrap().parse().unwrap();
    let lon: f64 = b.value("#camera-lon").await.unwrap().parse().unwrap();
    assert!(
        (lat - HOME.0).abs() < 0.001 && (lon - HOME.1).abs() < 0.001,
        "{lat}, {lon}"
    );

    // With the keyboard fallback fields: added, and the token is shown once.
    b.fill("#camera-lat", "45.5152").await;
    b.fill("#camera-lon", "-122.6601").await;
    b.click("#add-camera button[type=submit]").await;
    wait_for_h1(&b, "Camera added").await;
    let token = b.value("#device-token").await.unwrap();
    assert!(token.starts_with("cvd_"), "{token}");
    assert!(b.text("main").await.contains("only time it is shown"));
    b.assert_clean("token", &[]).await;
    b.screenshot("cameras-token").await;

    let devices = t.get("/api/v1/devices", Some(&r.token)).await;
    devices.expect(200, None);
    let list = devices.body["items"]
        .as_array()
        .or(devices.body.as_array())
        .cloned()
        .unwrap();
    assert_eq!(list.len(), 1, "{}", devices.text);
    assert_eq!(list[0]["name"], "Porch");
    assert_eq!(list[0]["has_token"], true);
    let device_id = list[0]["id"].as_str().unwrap().to_owned();
    // The token page is a GET after a redirect: reloading it neither adds a second camera nor
    // shows the token again.
    assert_eq!(b.path().await, format!("/cameras/{device_id}/token"));
    b.driver.refresh().await.unwrap();
    wait_for_h1(&b, "My cameras").await;
    assert!(!b.driver.source().await.unwrap().contains(&token));
    let again = t.get("/api/v1/devices", Some(&r.token)).await;
    assert_eq!(
        again.body["items"]
            .as_array()
            .or(again.body.as_array())
            .map(Vec::len),
        Some(1),
        "{}",
        again.text
    );

    // Back on the list the token is nowhere.
    let source = b.driver.source().await.unwrap();
    assert!(!source.contains(&token));
    assert!(b.text(".camera-name").await.contains("Porch"));

    // Upload through the page's file input, over tus.
    let form = format!("form.upload-form[data-device-id='{device_id}']");
    fill_upload(
        &b,
        &form,
        "porch-cam.mp4",
        "2026-11-20T21:30:00",
        "2026-11-20T21:36:00",
    )
    .await;
    b.click(&format!("{form} button[type=submit]")).await;
    wait_for_js(
        &b,
        "the uploaded recording in the list",
        "return document.querySelector('tr.recording') !== null;",
    )
    .await;
    assert_eq!(b.path().await, "/cameras?done=uploaded");
    assert!(b.text("#cameras-notice").await.contains("uploaded"));
    let row = b.text("tr.recording").await;
    assert!(row.contains("porch-cam.mp4"), "{row}");
    assert!(row.contains("6 s"), "{row}");
    let recordings = t.get("/api/v1/recordings", Some(&r.token)).await;
    recordings.expect(200, None);
    let items = recordings.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["sha256"],
        common::sha256_hex(&common::fixture("porch-cam.mp4")).as_str()
    );
    assert_eq!(items[0]["device_id"], device_id.as_str());
    assert_eq!(
        common::time(&items[0]["started_at"]).to_rfc3339(),
        "2026-11-20T21:30:00+00:00"
    );
    b.assert_clean("cameras with a recording", &[]).await;
    b.js("window.scrollTo(0, 0);", vec![]).await;
    b.screenshot("cameras").await;
    b.js(
        "document.getElementById('add-camera').scrollIntoView();",
        vec![],
    )
    .await;
    b.screenshot("cameras-add").await;

    // Not a video: refused with a clear message, and nothing is added.
    fill_upload(
        &b,
        &form,
        "not-a-video.mp4",
        "2026-11-20T22:00:00",
        "2026-11-20T22:05:00",
    )
    .await;
    b.click(&format!("{form} button[type=submit]")).await;
    let state = wait_for_js(
        &b,
        "the refusal",
        "const s = document.querySelector('.upload-status').getAttribute('data-state'); return s === 'error' ? s : null;",
    )
    .await;
    assert_eq!(state, "error");
    let message = b.text(&format!("{form} .upload-status")).await;
    assert!(message.contains("not a video"), "{message}");
    b.assert_clean("upload refused", &["415"]).await;
    let recordings = t.get("/api/v1/recordings", Some(&r.token)).await;
    assert_eq!(recordings.body["items"].as_array().unwrap().len(), 1);

    // At phone width nothing overflows.
    b.window(390, 844).await;
    b.open("/cameras").await;
    b.assert_clean("cameras at 390 px", &[]).await;
    b.window(1200, 900).await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn a_camera_is_renamed_its_token_revoked_and_replaced_and_it_is_removed_after_confirming() {
    let t = server().await;
    let Some(b) = browser(
        "a_camera_is_renamed_its_token_revoked_and_replaced_and_it_is_removed_after_confirming",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let r = t.resident_at(HOME.0, HOME.1).await;
    let created = t
        .post(
            "/api/v1/devices",
            Some(&r.token),
            json!({"name": "Driveway", "location": {"lat": HOME.0, "lon": HOME.1}}),
        )
        .await;
    created.expect(201, None);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let first_token = created.body["token"].as_str().unwrap().to_owned();
    b.use_session(&r.token).await;
    b.open("/cameras").await;

    // Rename.
    b.click(&format!("#camera-{id} details summary")).await;
    b.fill(&format!("#rename-{id}"), "Side gate").await;
    b.click(&format!("form[action='/cameras/{id}/rename'] button"))
        .await;
    assert!(b.text("#cameras-notice").await.contains("renamed"));
    assert!(b.text(".camera-name").await.contains("Side gate"));
    // An empty name is refused with the reason.
    b.click(&format!("#camera-{id} details summary")).await;
    b.js(
        "document.getElementById(arguments[0]).removeAttribute('required');",
        vec![json!(format!("rename-{id}"))],
    )
    .await;
    b.fill(&format!("#rename-{id}"), "").await;
    b.click(&format!("form[action='/cameras/{id}/rename'] button"))
        .await;
    assert!(b.text("#cameras-error").await.contains("not renamed"));
    b.assert_clean("rename refused", &[]).await;

    // Revoke: the old token stops working.
    b.click(&format!("#camera-{id} details summary")).await;
    b.click(&format!("form[action='/cameras/{id}/token/revoke'] button"))
        .await;
    assert!(b.text("#cameras-notice").await.contains("revoked"));
    assert!(b.text(".camera-facts").await.contains("no upload token"));
    let options = t
        .client
        .request(
            reqwest::Method::HEAD,
            format!("{}/api/v1/uploads/nothing", t.base),
        )
        .header("Tus-Resumable", "1.0.0")
        .bearer_auth(&first_token)
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 401);

    // A new one: shown once.
    b.click(&format!("#camera-{id} details summary")).await;
    b.click(&format!("form[action='/cameras/{id}/token'] button"))
        .await;
    wait_for_h1(&b, "New upload token").await;
    let token = b.value("#device-token").await.unwrap();
    assert!(token.starts_with("cvd_") && token != first_token);
    b.assert_clean("new token", &[]).await;

    // Remove: a confirmation page first; keeping it changes nothing.
    b.open("/cameras").await;
    b.click(&format!("#camera-{id} details summary")).await;
    b.click(&format!("a[href='/cameras/{id}/remove']")).await;
    b.wait_for_path(&format!("/cameras/{id}/remove")).await;
    assert!(b.text("h1").await.contains("Side gate"));
    b.assert_clean("remove confirmation", &[]).await;
    b.click_link("Keep it").await;
    b.wait_for_path("/cameras").await;
    assert!(b.has(&format!("#camera-{id}")).await);
    b.open(&format!("/cameras/{id}/remove")).await;
    b.click("#confirm-remove").await;
    b.wait_for_path("/cameras").await;
    assert!(b.text("#cameras-notice").await.contains("removed"));
    assert!(!b.has(&format!("#camera-{id}")).await);
    let devices = t.get("/api/v1/devices", Some(&r.token)).await;
    assert!(devices.text.contains("[]"), "{}", devices.text);

    // Another resident's camera is not found.
    let other = t.resident_at(HOME.0, HOME.1).await;
    let theirs = t
        .post(
            "/api/v1/devices",
            Some(&other.token),
            json!({"name": "Theirs", "location": {"lat": HOME.0, "lon": HOME.1}}),
        )
        .await;
    let their_id = theirs.body["id"].as_str().unwrap();
    b.open(&format!("/cameras/{their_id}/remove")).await;
    assert!(b.text("main").await.contains("There is nothing here"));

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn a_recording_is_deleted_after_confirming_and_another_residents_is_not_found() {
    let t = server().await;
    let Some(b) = browser(
        "a_recording_is_deleted_after_confirming_and_another_residents_is_not_found",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let r = t.resident_at(HOME.0, HOME.1).await;
    let (device, _) = common::tus::camera(&t, &r, "Porch", HOME).await;
    let end = chrono::Utc::now() - chrono::Duration::hours(1);
    let during = (end - chrono::Duration::minutes(5), end);
    let kept = common::tus::upload_fixture(&t, &r, &device, "porch-cam.mp4", during).await;
    let doomed = common::tus::upload_fixture(&t, &r, &device, "porch-cam.mp4", during).await;
    b.use_session(&r.token).await;
    b.open("/cameras").await;
    let listed = async || {
        b.js(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(format!("#camera-{device} tr.recording"))],
        )
        .await
    };
    assert_eq!(listed().await, json!(2), "both recordings are listed");
    b.assert_clean("cameras with recordings", &[]).await;

    // A confirmation page first; keeping it changes nothing.
    b.click(&format!("a[href='/recordings/{doomed}/delete']"))
        .await;
    b.wait_for_path(&format!("/recordings/{doomed}/delete"))
        .await;
    assert!(b.text("h1").await.contains("porch-cam.mp4"));
    assert!(b.text("main").await.contains("keeps its own copy"));
    b.assert_clean("delete confirmation", &[]).await;
    b.click_link("Keep it").await;
    b.wait_for_path("/cameras").await;
    assert_eq!(listed().await, json!(2));

    // Confirmed: gone from the page and from the API; the other one stays.
    b.open(&format!("/recordings/{doomed}/delete")).await;
    b.click("#confirm-delete").await;
    b.wait_for_path("/cameras").await;
    assert!(b.text("#cameras-notice").await.contains("deleted"));
    assert!(!b.has(&format!("tr[data-recording-id='{doomed}']")).await);
    assert!(b.has(&format!("tr[data-recording-id='{kept}']")).await);
    t.get(&format!("/api/v1/recordings/{doomed}"), Some(&r.token))
        .await
        .expect(404, Some("not_found"));
    t.get(&format!("/api/v1/recordings/{kept}"), Some(&r.token))
        .await
        .expect(200, None);

    // Another resident's recording is not found, and not deleted.
    let other = t.resident_at(HOME.0, HOME.1).await;
    let (their_device, _) = common::tus::camera(&t, &other, "Theirs", HOME).await;
    let theirs =
        common::tus::upload_fixture(&t, &other, &their_device, "porch-cam.mp4", during).await;
    b.open(&format!("/recordings/{theirs}/delete")).await;
    assert!(b.text("main").await.contains("There is nothing here"));
    t.get(&format!("/api/v1/recordings/{theirs}"), Some(&other.token))
        .await
        .expect(200, None);

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn an_upload_that_stopped_half_way_goes_on_where_it_stopped() {
    let t = server().await;
    let Some(b) = browser(
        "an_upload_that_stopped_half_way_goes_on_where_it_stopped",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let r = t.resident_at(HOME.0, HOME.1).await;
    let created = t
        .post(
            "/api/v1/devices",
            Some(&r.token),
            json!({"name": "Porch", "location": {"lat": HOME.0, "lon": HOME.1}}),
        )
        .await;
    created.expect(201, None);
    let device_id = created.body["id"].as_str().unwrap().to_owned();

    // What the page would have sent before the tab was closed: the upload created with the
    // page's metadata, and its first 40,000 bytes.
    let bytes = common::fixture("porch-cam.mp4");
    let (started, ended) = ("2026-11-20T21:30:00.000Z", "2026-11-20T21:36:00.000Z");
    let tus = common::tus::Tus::new(&t, &r.token);
    let location = tus
        .created(
            bytes.len() as u64,
            &common::tus::metadata(&[
                ("device_id", &device_id),
                ("started_at", started),
                ("ended_at", ended),
                ("filename", "porch-cam.mp4"),
            ]),
        )
        .await;
    tus.patch(&location, 0, &bytes[..40_000])
        .await
        .expect(204, None);
    let upload_id = location.rsplit('/').next().unwrap().to_owned();

    b.use_session(&r.token).await;
    b.open("/cameras").await;
    let form = format!("form.upload-form[data-device-id='{device_id}']");
    fill_upload(
        &b,
        &form,
        "porch-cam.mp4",
        "2026-11-20T21:30:00",
        "2026-11-20T21:36:00",
    )
    .await;
    // And what tus-js-client had kept in localStorage under the page's fingerprint (the
    // camera, the file and the times; see cameras.js).
    b.js(
        "const [form, id, url, started, ended] = arguments;
         const f = document.querySelector(form + ' input[type=file]').files[0];
         const fingerprint = ['canvass', id, f.name, f.type, f.size, f.lastModified, started, ended].join('|');
         localStorage.setItem('tus::' + fingerprint + '::1', JSON.stringify({
           size: f.size, metadata: {}, creationTime: new Date().toString(), uploadUrl: url
         }));",
        vec![
            json!(form),
            json!(device_id),
            json!(format!("{}{location}", t.base)),
            json!(started),
            json!(ended),
        ],
    )
    .await;
    b.click(&format!("{form} button[type=submit]")).await;
    wait_for_js(
        &b,
        "the uploaded recording in the list",
        "return document.querySelector('tr.recording') !== null;",
    )
    .await;

    // The recording is that upload (a recording keeps its upload's id), whole.
    let recordings = t.get("/api/v1/recordings", Some(&r.token)).await;
    let items = recordings.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", recordings.text);
    assert_eq!(items[0]["id"], upload_id.as_str());
    assert_eq!(items[0]["sha256"], common::sha256_hex(&bytes).as_str());
    // Its key is gone from localStorage once finished.
    let left = b
        .js(
            "return Object.keys(localStorage).filter(k => k.startsWith('tus::')).length;",
            vec![],
        )
        .await;
    assert_eq!(left, 0);
    b.assert_clean("after a resumed upload", &[]).await;

    b.finish().await;
    t.stop().await;
}
