//! The whole story in a real browser, as the people who use Canvass go through it:
//!
//! 1. An investigator signs in with a second factor, draws an area on the map and files a
//!    request.
//! 2. A moderator approves it.
//! 3. A resident inside the area sees it in the feed and receives the email.
//! 4. The resident chooses a clip and consents.
//! 5. The investigator plays the clip and exports the evidence.
//! 6. `canvass verify-export` passes on that ZIP.
//!
//! Reported SKIPPED without chromium and chromedriver, unless `CANVASS_REQUIRE_BROWSER=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/browser.rs"]
mod browser;
mod common;
#[path = "support/smtp_sink.rs"]
mod smtp_sink;

use std::process::Command;
use std::time::{Duration as StdDuration, Instant};

use browser::Browser;
use canvass::domain::{Role, mfa};
use chrono::{Duration, NaiveTime, Utc};
use common::tus::{camera, upload_fixture};
use common::{PASSWORD, TempDir, TestApp};
use serde_json::Value;
use smtp_sink::SmtpSink;

/// The TOTP code of the step after the current one: the account's API login used the current
/// one, codes are single-use, and login accepts one step of skew.
fn next_code(secret: &str) -> String {
    mfa::code_at(secret, Utc::now().timestamp() as u64 + 30).unwrap()
}

/// The middle of a drawn Polygon's ring (lat, lon).
fn centre(area: &Value) -> (f64, f64) {
    let ring = area["coordinates"][0].as_array().unwrap();
    let corners = &ring[..ring.len() - 1];
    let n = corners.len() as f64;
    let lon = corners.iter().map(|p| p[0].as_f64().unwrap()).sum::<f64>() / n;
    let lat = corners.iter().map(|p| p[1].as_f64().unwrap()).sum::<f64>() / n;
    (lat, lon)
}

#[tokio::test]
async fn the_whole_story_from_drawing_a_request_to_a_verified_export() {
    common::announce("the_whole_story_from_drawing_a_request_to_a_verified_export");
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let t = TestApp::start_with(|a| {
        a.tile_url = Some(String::new());
        a.smtp_url = Some(smtp);
    })
    .await;
    let Some(b) = Browser::start(
        "the_whole_story_from_drawing_a_request_to_a_verified_export",
        &t.base,
    )
    .await
    else {
        return t.stop().await;
    };
    let agency = t.agency(common::AGENCY).await;
    let investigator = t.account(Role::Investigator, Some(&agency)).await;
    let moderator = t.account(Role::Moderator, None).await;

    // 1. The investigator signs in through the form with a code from their authenticator.
    b.open("/login").await;
    b.fill("#email", &investigator.email).await;
    b.fill("#password", PASSWORD).await;
    b.fill(
        "#totp",
        &next_code(investigator.totp_secret.as_deref().unwrap()),
    )
    .await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.wait_for_path("/agency").await;
    let investigator_cookie = b
        .driver
        .get_named_cookie("canvass_session")
        .await
        .unwrap()
        .value()
        .to_owned();

    // ... draws the area with the rectangle tool ...
    b.click("a[href='/agency/requests/new']").await;
    b.wait_for_path("/agency/requests/new").await;
    b.wait_js(
        "the jurisdiction's outline",
        "return document.querySelectorAll('#area-map .leaflet-overlay-pane path').length >= 1;",
    )
    .await;
    b.draw_rectangle("#area-map").await;
    b.wait_js(
        "the drawn rectangle",
        "return document.querySelector('#area').value.includes('\"Polygon\"');",
    )
    .await;
    let readout = b.text("#area-readout").await;
    assert!(
        readout.contains("Area: about") && !readout.contains("Too"),
        "{readout}"
    );
    let area: Value = serde_json::from_str(&b.value("#area").await.unwrap()).unwrap();

    // ... fills in the request, in the agency's local time ...
    let day = (Utc::now() - Duration::days(2)).date_naive();
    let at = |h: u32| {
        day.and_time(NaiveTime::from_hms_opt(h, 0, 0).unwrap())
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    b.set_value("#footage_start", &at(10)).await;
    b.set_value("#footage_end", &at(12)).await;
    b.click("#incident_type option[value='package_theft']")
        .await;
    b.fill("#investigation_code", "2026-PT-1001").await;
    b.fill(
        "#details",
        "A package was taken from a porch on the 400 block of Elm St. Doorbell or driveway footage of the street between these times would help.",
    )
    .await;
    b.fill(
        "#suspect-0-features",
        "red hooded jacket\nblack BMX bicycle",
    )
    .await;
    b.fill("#contact_name", "Det. A. Rivera").await;
    b.fill("#contact_phone", "+1-555-0100").await;
    b.fill("#contact_email", "arivera@pd.example").await;
    // ... checks it (the pre-screen finds nothing) and submits it for review.
    b.click("#check-request").await;
    b.wait_for_path("/agency/requests/check").await;
    assert!(
        b.has("#submit-request").await,
        "the check found problems: {}",
        b.text("main").await
    );
    b.click("#submit-request").await;
    b.wait_js(
        "the request page",
        "return /^\\/agency\\/requests\\/[^/]+$/.test(location.pathname) && !/\\/(new|check)$/.test(location.pathname);",
    )
    .await;
    let path = b.path().await;
    let id = path
        .split('?')
        .next()
        .unwrap()
        .trim_start_matches("/agency/requests/")
        .to_owned();
    assert_eq!(b.text("#request-status").await, "Pending review");

    // A resident lives in the middle of the drawn area, and has a camera there with a clip of
    // the afternoon in question.
    let home = centre(&area);
    let resident = t
        .resident_named(
            home.0,
            home.1,
            "Jordan Park",
            "1200 Elm St, Riverton, OR 97214",
        )
        .await;
    let detail = t
        .get(&format!("/api/v1/requests/{id}"), Some(&investigator.token))
        .await;
    let start = common::time(&detail.body["footage_start"]);
    let (cam, _) = camera(&t, &resident, "Porch", home).await;
    let clip = upload_fixture(
        &t,
        &resident,
        &cam,
        "porch-cam.mp4",
        (start + Duration::minutes(20), start + Duration::minutes(25)),
    )
    .await;

    // 2. The moderator approves it from the queue.
    b.use_session(&moderator.token).await;
    b.open("/moderation").await;
    b.click(&format!("#request-{id} button[value=approve]"))
        .await;
    b.wait_text("#decision-message", "Approved and published")
        .await;

    // 3. The resident sees it in the feed, and the email arrives.
    b.use_session(&resident.token).await;
    b.open("/feed").await;
    let card = format!("#request-{id}");
    assert!(b.text(&card).await.contains("Community Request"));
    let deadline = Instant::now() + StdDuration::from_secs(30);
    let email = loop {
        if let Some(m) = sink
            .messages()
            .into_iter()
            .find(|m| m.rcpt_to.contains(&resident.email))
        {
            break m;
        }
        assert!(Instant::now() < deadline, "no email reached the resident");
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    };
    assert!(
        email.header("Subject").unwrap().contains(common::AGENCY),
        "{}",
        email.raw()
    );
    assert!(email.body_text().contains("/r/"), "{}", email.raw());

    // 4. ... chooses the clip, consents, and gets the receipt.
    b.click(&format!("{card} h2 a")).await;
    b.wait_for_path(&format!("/requests/{id}")).await;
    b.click("#choose-videos").await;
    b.wait_for_path(&format!("/requests/{id}/share")).await;
    b.click(&format!("#clip-{clip}")).await;
    b.click("#choose-form button[type=submit]").await;
    b.wait_js(
        "the consent screen",
        "return location.pathname.endsWith('/share/consent');",
    )
    .await;
    assert!(b.text("#consent-notice").await.contains("home address"));
    b.click("#consent").await;
    b.click("#share-button").await;
    b.wait_js(
        "the receipt",
        "return location.pathname.startsWith('/shares/');",
    )
    .await;
    let fixture_sha = common::sha256_hex(&common::fixture("porch-cam.mp4"));
    assert_eq!(b.text(".receipt-item .sha256").await, fixture_sha);

    // 5. The investigator plays the clip on the request page and exports the evidence.
    b.use_session(&investigator_cookie).await;
    b.open(&format!("/agency/requests/{id}")).await;
    assert_eq!(b.text(".clip-hash").await, fixture_sha);
    assert_eq!(b.text(".submitter-email").await, resident.email);
    b.wait_js(
        "the clip's metadata",
        "const v = document.querySelector('video'); return !v.error && (v.readyState >= 1 || v.duration > 0);",
    )
    .await;
    b.js(
        "const v = document.querySelector('video'); v.muted = true; return v.play().then(() => true, () => false);",
        vec![],
    )
    .await;
    b.wait_js(
        "the clip playing",
        "return document.querySelector('video').currentTime > 0;",
    )
    .await;
    let href = b.find("#export").await.attr("href").await.unwrap().unwrap();
    // The browser's own download goes to a folder the test cannot name portably; the same
    // request, with the same session cookie, gets the same bytes.
    let zip = t
        .client
        .get(format!("{}{href}", t.base))
        .header("Cookie", format!("canvass_session={investigator_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    let bytes = zip.bytes().await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("canvass-story-{id}")));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("evidence.zip");
    std::fs::write(&path, &bytes).unwrap();

    // 6. The export verifies offline, against the log's published key.
    let key = t.get("/api/v1/transparency/key", None).await.text;
    let out = Command::new(env!("CARGO_BIN_EXE_canvass"))
        .arg("verify-export")
        .arg(&path)
        .arg("--key")
        .arg(key.trim())
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    // The custody log now holds the playback and the export.
    let custody = t
        .get(
            &format!("/api/v1/requests/{id}/submissions"),
            Some(&investigator.token),
        )
        .await;
    let evidence_id = custody.body[0]["items"][0]["evidence_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kinds = common::evidence::kinds(
        &common::evidence::chain_of_custody(&t, &investigator, &evidence_id).await,
    );
    for kind in ["received", "hash_verified", "viewed", "exported"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    b.assert_clean("the investigator's request page at the end", &[])
        .await;

    b.finish().await;
    t.stop().await;
}
