//! The investigator portal and the team page in a real browser (headless Chromium), against
//! the real server, on SQLite or PostgreSQL: a new request drawn (pasted) on the map, checked
//! and submitted; a rejection as the investigator reads it; a published request's shared clip
//! playing in the page with its hash, submitter and custody, and the evidence export; the
//! agency admin's team; a rejected request revised through the form and resubmitted, and a
//! published one that can no longer change.
//!
//! Reported SKIPPED without chromium and chromedriver, unless `CANVASS_REQUIRE_BROWSER=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/browser.rs"]
mod browser;
mod common;

use std::time::{Duration as StdDuration, Instant};

use browser::{Browser, browser, server};
use canvass::domain::{Role, local_time};
use canvass::store::AgencyChanges;
use chrono::{Duration, NaiveTime, Utc};
use common::requests::{create, decide, home_area, publish, rect, request_at, staff};
use common::tus::{camera, upload_fixture};
use common::{AGENCY, HOME, PASSWORD, TestApp};
use serde_json::{Value, json};

/// A camera inside [`home_area`].
const INSIDE: (f64, f64) = (45.5155, -122.6595);

/// Waits until the page is a request's page (`/agency/requests/{id}`); answers the id.
async fn wait_for_request_page(b: &Browser) -> String {
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        let path = b.path().await;
        let id = path
            .split('?')
            .next()
            .and_then(|p| p.strip_prefix("/agency/requests/"))
            .filter(|id| !id.is_empty() && *id != "new" && *id != "check" && !id.contains('/'));
        if let Some(id) = id {
            return id.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "still on {path}; the page says: {}",
            b.text("main").await
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

/// Pastes GeoJSON into the area's text box (the keyboard path), as typing would.
async fn paste_area(b: &Browser, area: &Value) {
    b.js(
        "document.querySelector('details.paste').open = true;",
        vec![],
    )
    .await;
    b.set_value("#area-paste", &area.to_string()).await;
}

/// The agencies in these tests keep Pacific time.
const PACIFIC: &str = "America/Los_Angeles";

/// Sets `agency`'s time zone to `zone_name`; answers the zone.
async fn keep_time_in(t: &TestApp, agency: &str, zone_name: &str) -> chrono_tz::Tz {
    t.app()
        .db
        .update_agency(
            agency,
            &AgencyChanges {
                time_zone: Some(zone_name.into()),
                ..AgencyChanges::default()
            },
            Utc::now(),
        )
        .await
        .unwrap();
    local_time::zone(zone_name).unwrap()
}

#[tokio::test]
async fn an_investigator_draws_checks_and_submits_a_request_in_local_time() {
    let t = server().await;
    let Some(b) = browser(
        "an_investigator_draws_checks_and_submits_a_request_in_local_time",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let s = staff(&t).await;
    // The agency keeps Pacific time: the pickers take it, the server stores UTC.
    let zone_name = PACIFIC;
    let zone = keep_time_in(&t, &s.agency, zone_name).await;
    b.use_session(&s.investigator.token).await;

    // The empty dashboard says what will be there.
    b.open("/agency").await;
    assert!(b.text(".empty").await.contains("No requests yet"));
    b.assert_clean("empty dashboard", &[]).await;

    b.open("/agency/requests/new").await;
    // The jurisdiction is outlined on the map, and the drawing tools are there.
    b.wait_js(
        "the jurisdiction's outline",
        "return document.querySelectorAll('#area-map .leaflet-overlay-pane path').length >= 1;",
    )
    .await;
    assert!(
        b.has(".leaflet-pm-toolbar").await,
        "Leaflet-Geoman's toolbar"
    );
    assert!(b.text("#time-zone").await.contains(zone_name));
    b.assert_clean("new request form", &[]).await;

    // Drawing with the mouse: Geoman's rectangle tool, two clicks on the map. The hidden input
    // gets the Polygon, and the read-out its size.
    b.draw_rectangle("#area-map").await;
    b.wait_js(
        "the drawn rectangle in the hidden input",
        "const v = document.querySelector('#area').value; return v.includes('\"Polygon\"');",
    )
    .await;
    let drawn: Value = serde_json::from_str(&b.value("#area").await.unwrap()).unwrap();
    assert_eq!(
        drawn["coordinates"][0].as_array().unwrap().len(),
        5,
        "{drawn}"
    );
    assert!(b.text("#area-readout").await.contains("Area: about"));
    // The paste box follows the drawing (the keyboard path shows what was drawn).
    assert_eq!(
        b.value("#area-paste").await.unwrap(),
        b.value("#area").await.unwrap()
    );
    b.screenshot("agency-new-request-drawn").await;

    // First attempt: an area far too large, and an end before the start.
    let too_large = rect(-122.68, 45.505, -122.64, 45.525);
    paste_area(&b, &too_large).await;
    let readout = b.text("#area-readout").await;
    assert!(readout.contains("Too large"), "{readout}");
    let day = (Utc::now().with_timezone(&zone) - Duration::days(2)).date_naive();
    let local = |h: u32| day.and_time(NaiveTime::from_hms_opt(h, 0, 0).unwrap());
    let fmt = |h: u32| local(h).format("%Y-%m-%dT%H:%M").to_string();
    b.set_value("#footage_start", &fmt(14)).await;
    b.set_value("#footage_end", &fmt(12)).await;
    b.click("#incident_type option[value='burglary']").await;
    b.fill("#investigation_code", "2026-BR-77").await;
    let details = "A home was broken into. It was taken from 1423 Oak Street. Doorbell footage of the street would help.";
    b.fill("#details", details).await;
    // "Add another suspect" adds an empty, numbered row (left empty, it is not sent).
    b.click("#add-suspect").await;
    assert_eq!(b.text("#suspect-1 legend").await, "Suspect 2");
    assert_eq!(b.value("#suspect-1-features").await.as_deref(), Some(""));
    b.fill("#suspect-0-sex", "male").await;
    b.fill(
        "#suspect-0-features",
        "red hooded jacket\nblack BMX bicycle",
    )
    .await;
    b.fill("#contact_name", "Det. A. Rivera").await;
    b.fill("#contact_phone", "+1-555-0100").await;
    b.fill("#contact_email", "arivera@pd.example").await;
    b.click("#check-request").await;
    b.wait_for_path("/agency/requests/check").await;
    let area_error = b.text("#area-error").await;
    assert!(
        area_error.contains("largest allowed is 0.5"),
        "{area_error}"
    );
    let end_error = b.text("#footage_end-error").await;
    assert!(end_error.contains("after the start"), "{end_error}");
    assert!(b.has("#footage_end[aria-invalid='true']").await);
    // Everything typed and drawn is kept.
    assert_eq!(b.value("#details").await.as_deref(), Some(details));
    assert_eq!(
        b.value("#suspect-0-features").await.as_deref(),
        Some("red hooded jacket\nblack BMX bicycle")
    );
    let kept: Value = serde_json::from_str(&b.value("#area").await.unwrap()).unwrap();
    assert_eq!(kept, too_large);
    assert_eq!(b.value("#footage_start").await.unwrap(), fmt(14));
    b.wait_js(
        "the kept area drawn again",
        "return document.querySelectorAll('#area-map .leaflet-overlay-pane path').length >= 2;",
    )
    .await;
    assert!(
        !b.has("#submit-request").await,
        "no submitting before a clean check"
    );
    b.assert_clean("form with problems", &[]).await;

    // Fixed: the area around the residents' homes and two hours of the afternoon.
    paste_area(&b, &home_area()).await;
    let readout = b.text("#area-readout").await;
    assert!(readout.contains("about 0.0"), "{readout}");
    assert!(readout.contains("Allowed: 0.025 to 0.5"), "{readout}");
    b.set_value("#footage_end", &fmt(16)).await;
    b.click("#check-request").await;
    // The pre-screen's findings are shown before submitting (the street address).
    let findings = b.text("#findings").await;
    assert!(findings.contains("Victim privacy"), "{findings}");
    assert!(findings.contains("1423 Oak Street"), "{findings}");
    let area = b.text("#checked-area").await;
    assert!(area.starts_with("0.0"), "{area}");
    // The window reads in the agency's clock, with the UTC it becomes.
    let window = b.text("#checked-window").await;
    assert!(
        window.contains("14:00") && window.contains(zone_name),
        "{window}"
    );
    b.assert_clean("checked", &[]).await;
    b.screenshot("agency-new-request-checked").await;
    b.js(
        "document.querySelector('#area-map').scrollIntoView({block: 'center'});",
        vec![],
    )
    .await;
    b.screenshot("agency-new-request").await;
    // Nothing was stored by checking.
    let list = t.get("/api/v1/requests", Some(&s.investigator.token)).await;
    assert_eq!(list.body.as_array().unwrap().len(), 0);

    b.click("#submit-request").await;
    let id = wait_for_request_page(&b).await;
    assert_eq!(b.text("#request-status").await, "Pending review");
    assert!(
        b.text("#submitted-notice")
            .await
            .contains("Submitted for review")
    );
    let window = b.text("#footage-local").await;
    assert!(
        window.contains("14:00") && window.contains("16:00"),
        "{window}"
    );
    b.assert_clean("submitted request", &[]).await;

    // The pickers' local times became the UTC instants of that wall-clock time in Los Angeles.
    let r = t
        .get(
            &format!("/api/v1/requests/{id}"),
            Some(&s.investigator.token),
        )
        .await;
    r.expect(200, None);
    let utc = |h: u32| local_time::to_utc(local(h), zone).unwrap();
    let stored = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(r.body[k].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    assert_eq!(stored("footage_start"), utc(14));
    assert_eq!(stored("footage_end"), utc(16));
    assert_eq!(
        r.body["suspects"][0]["distinctive_features"][1],
        "black BMX bicycle"
    );
    assert_eq!(r.body["findings"][0]["guideline"], "victim_privacy");

    // The same code again is refused next to its field.
    b.open("/agency/requests/new").await;
    b.click("#incident_type option[value='burglary']").await;
    b.fill("#investigation_code", "2026-BR-77").await;
    b.fill("#details", "Another break-in nearby.").await;
    paste_area(&b, &home_area()).await;
    b.set_value("#footage_start", &fmt(13)).await;
    b.set_value("#footage_end", &fmt(15)).await;
    b.fill("#contact_phone", "+1-555-0100").await;
    b.click("#check-request").await;
    b.click("#submit-request").await;
    b.wait_for_path("/agency/requests").await;
    let code_error = b.text("#investigation_code-error").await;
    assert!(code_error.contains("already has a request"), "{code_error}");

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn a_rejection_shows_its_reasons_on_the_dashboard_and_the_request_page() {
    let t = server().await;
    let Some(b) = browser(
        "a_rejection_shows_its_reasons_on_the_dashboard_and_the_request_page",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let s = staff(&t).await;
    let end = Utc::now() - Duration::days(2);
    let rejected = create(&t, &s.investigator, request_at("REJ-1", home_area(), end)).await;
    decide(
        &t,
        &s.moderator,
        &rejected,
        json!({"decision": "reject", "reasons": ["victim_privacy", "suspect_description_too_general"], "note": "Take the street address out of the details."}),
    )
    .await
    .expect(200, None);
    let pending = create(&t, &s.investigator, request_at("PEN-1", home_area(), end)).await;
    let (published, _) = publish(&t, &s, request_at("PUB-1", home_area(), end)).await;
    // Another agency's request, in the same city.
    let other_agency = t.agency("Riverton Fire Department").await;
    let other = t.account(Role::Investigator, Some(&other_agency)).await;
    let foreign = create(&t, &other, request_at("FD-1", home_area(), end)).await;

    b.use_session(&s.investigator.token).await;
    b.open("/agency").await;
    let item = b.text(&format!("#request-{rejected}")).await;
    assert!(item.contains("Rejected"), "{item}");
    assert!(item.contains("Victim privacy"), "{item}");
    assert!(item.contains("Suspect description too general"), "{item}");
    assert!(
        item.contains("Take the street address out of the details."),
        "{item}"
    );
    assert!(
        b.text(&format!("#request-{pending}"))
            .await
            .contains("Pending review")
    );
    let open = b.text(&format!("#request-{published}")).await;
    assert!(open.contains("Published · open"), "{open}");
    assert!(open.contains("footage accepted until"), "{open}");
    assert!(!b.has(&format!("#request-{foreign}")).await);
    b.assert_clean("dashboard", &[]).await;
    b.screenshot("agency-dashboard").await;

    b.click(&format!("#request-{rejected} h2 a")).await;
    b.wait_for_path(&format!("/agency/requests/{rejected}"))
        .await;
    assert_eq!(b.text("#request-status").await, "Rejected");
    let rejection = b.text("#rejection").await;
    assert!(rejection.contains("Victim privacy"), "{rejection}");
    assert!(
        rejection.contains("Take the street address out of the details."),
        "{rejection}"
    );
    let history = b.text("#history").await;
    assert!(history.contains("Submitted"), "{history}");
    assert!(history.contains("Rejected"), "{history}");
    b.assert_clean("rejected request", &[]).await;

    // Withdrawing it keeps its history.
    b.click("#withdraw").await;
    b.wait_text("#request-status", "Withdrawn").await;
    assert!(b.text("#history").await.contains("Withdrawn"));

    // Another agency's request is not there at all.
    b.open(&format!("/agency/requests/{foreign}")).await;
    assert_eq!(b.text("h1").await, "Not found");
    b.assert_clean("another agency's request", &["404"]).await;
    // Residents are sent to their own home.
    let resident = t.resident_at(HOME.0, HOME.1).await;
    b.use_session(&resident.token).await;
    b.open("/agency").await;
    b.wait_for_path("/feed").await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn a_shared_clip_plays_on_the_request_page_with_its_custody_and_the_export_is_a_zip() {
    let t = server().await;
    let Some(b) = browser(
        "a_shared_clip_plays_on_the_request_page_with_its_custody_and_the_export_is_a_zip",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let s = staff(&t).await;
    let end = Utc::now() - Duration::days(2);
    let start = end - Duration::hours(2);
    let (id, _) = publish(&t, &s, request_at("EV-1", home_area(), end)).await;
    let resident = t
        .resident_named(
            HOME.0,
            HOME.1,
            "Jordan Park",
            "1200 Elm St, Riverton, OR 97214",
        )
        .await;
    let (cam, _) = camera(&t, &resident, "Porch", INSIDE).await;
    let during = (start + Duration::minutes(30), start + Duration::minutes(35));
    let rec = upload_fixture(&t, &resident, &cam, "porch-cam.mp4", during).await;
    t.post(
        &format!("/api/v1/requests/{id}/submissions"),
        Some(&resident.token),
        json!({"recording_ids": [rec], "consent": true}),
    )
    .await
    .expect(201, None);
    t.post(
        &format!("/api/v1/requests/{id}/comments"),
        Some(&resident.token),
        json!({"body": "I uploaded my porch camera."}),
    )
    .await
    .expect(201, None);
    let subs = t
        .get(
            &format!("/api/v1/requests/{id}/submissions"),
            Some(&s.investigator.token),
        )
        .await;
    subs.expect(200, None);
    let item = subs.body[0]["items"][0].clone();
    let evidence_id = item["evidence_id"].as_str().unwrap().to_owned();
    let sha = item["sha256"].as_str().unwrap().to_owned();

    b.use_session(&s.investigator.token).await;
    b.open(&format!("/agency/requests/{id}")).await;
    assert_eq!(b.text("#request-status").await, "Published · open");
    let submission = b.text("#submissions").await;
    assert!(submission.contains("Shared by Jordan Park"), "{submission}");
    assert_eq!(
        b.text(".submitter-address").await,
        "1200 Elm St, Riverton, OR 97214"
    );
    assert_eq!(b.text(".submitter-email").await, resident.email);
    assert_eq!(b.text(".clip-hash").await, sha);
    let custody = b.text(".custody-log").await;
    assert!(custody.contains("Received"), "{custody}");
    // The clip plays in the page: the browser read its metadata through the API.
    let video = b.find("video").await;
    assert_eq!(
        video.attr("src").await.unwrap().as_deref(),
        Some(format!("/api/v1/evidence/{evidence_id}/content").as_str())
    );
    b.wait_js("the clip's metadata",
        "const v = document.querySelector('video'); return !v.error && (v.readyState >= 1 || v.duration > 0);",
    )
    .await;
    let duration = b
        .js("return document.querySelector('video').duration;", vec![])
        .await;
    assert!(duration.as_f64().unwrap() > 0.0, "{duration}");
    b.assert_clean("request with a clip", &[]).await;
    b.screenshot("agency-request").await;
    b.js(
        "document.querySelector('#submissions').scrollIntoView();",
        vec![],
    )
    .await;
    b.screenshot("agency-request-evidence").await;
    // Playing it is in its custody log now.
    b.open(&format!("/agency/requests/{id}")).await;
    assert!(b.text(".custody-log").await.contains("Viewed"));

    // The export link answers a ZIP.
    let href = b.find("#export").await.attr("href").await.unwrap().unwrap();
    assert_eq!(href, format!("/api/v1/requests/{id}/export"));
    let zip = t
        .client
        .get(format!("{}{href}", t.base))
        .bearer_auth(&s.investigator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    let bytes = zip.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "not a ZIP");

    // A reply, labelled as the agency's, under the resident's comment.
    b.fill("#comment-body", "Thank you, we have it.").await;
    b.click("form[action$='/comments'] button").await;
    b.find(".comment-agency").await;
    let comments = b.text(".comments").await;
    assert!(
        comments.contains("I uploaded my porch camera."),
        "{comments}"
    );
    let reply = b.text(".comment-agency").await;
    assert!(
        reply.contains(AGENCY) && reply.contains("Thank you, we have it."),
        "{reply}"
    );

    // A phone's width.
    b.window(390, 844).await;
    b.assert_clean("request on a phone", &[]).await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn the_agency_admin_adds_and_removes_an_investigator_and_investigators_cannot() {
    let t = server().await;
    let Some(b) = browser(
        "the_agency_admin_adds_and_removes_an_investigator_and_investigators_cannot",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let agency = t.agency(AGENCY).await;
    let admin = t.account(Role::AgencyAdmin, Some(&agency)).await;
    let investigator = t.account(Role::Investigator, Some(&agency)).await;

    b.use_session(&admin.token).await;
    b.open("/agency/team").await;
    let members = b.text("#members").await;
    assert!(members.contains(&admin.email), "{members}");
    assert!(members.contains(&investigator.email), "{members}");
    b.assert_clean("team", &[]).await;

    // A password that breaks the policy is refused next to its field; the email is kept.
    let email = t.email("newdetective");
    b.fill("#member-email", &email).await;
    b.fill("#member-name", "Det. Sam Okafor").await;
    b.fill("#member-password", "short").await;
    b.click("#add-member").await;
    b.find("#member-password-error").await;
    assert_eq!(
        b.value("#member-email").await.as_deref(),
        Some(email.as_str())
    );
    b.assert_clean("team with a problem", &[]).await;

    b.fill("#member-password", PASSWORD).await;
    b.click("#member-role option[value='investigator']").await;
    b.click("#add-member").await;
    b.wait_text("#team-notice", "Member added").await;
    let row = format!("li.member[data-email='{email}']");
    let added = b.text(&row).await;
    assert!(
        added.contains("Det. Sam Okafor") && added.contains("Investigator"),
        "{added}"
    );
    // The new investigator signs in with the password and is asked to set up a second factor.
    let login = t.login(&email, PASSWORD, None).await;
    login.expect(200, None);
    assert_eq!(login.body["mfa_enrollment_required"], true);

    b.click(&format!("{row} button")).await;
    b.wait_text("#team-notice", "Member removed").await;
    assert!(!b.has(&row).await);
    t.login(&email, PASSWORD, None).await.expect(401, None);
    b.assert_clean("team after removal", &[]).await;

    // Investigators have no team page.
    b.use_session(&investigator.token).await;
    b.open("/agency/team").await;
    assert_eq!(b.text("h1").await, "Not allowed");
    b.assert_clean("team as an investigator", &["403"]).await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn a_rejected_request_is_revised_checked_and_resubmitted_and_a_published_one_cannot_be() {
    use chrono::DurationRound;
    let t = server().await;
    let Some(b) = browser(
        "a_rejected_request_is_revised_checked_and_resubmitted_and_a_published_one_cannot_be",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let s = staff(&t).await;
    let zone_name = PACIFIC;
    let zone = keep_time_in(&t, &s.agency, zone_name).await;
    // Whole minutes: the pickers show minutes, so the times round-trip unchanged.
    let end = (Utc::now() - Duration::days(2))
        .duration_trunc(Duration::minutes(1))
        .unwrap();
    let start = end - Duration::hours(2);
    let id = create(&t, &s.investigator, request_at("REV-1", home_area(), end)).await;
    let note = "Take the block number out of the details.";
    decide(
        &t,
        &s.moderator,
        &id,
        json!({"decision": "reject", "reasons": ["victim_privacy"], "note": note}),
    )
    .await
    .expect(200, None);
    let (published, _) = publish(&t, &s, request_at("REV-PUB", home_area(), end)).await;

    b.use_session(&s.investigator.token).await;
    b.open(&format!("/agency/requests/{id}")).await;
    b.click("#revise").await;
    b.wait_for_path(&format!("/agency/requests/{id}/revise"))
        .await;
    // The moderator's reasons and note are at the top.
    let decision = b.text("#revise-decision").await;
    assert!(decision.contains("Victim privacy"), "{decision}");
    assert!(decision.contains(note), "{decision}");
    // The form holds the request as stored, its times on the agency's clock.
    let local = |t| {
        local_time::to_local(t, zone)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    assert_eq!(b.value("#footage_start").await.unwrap(), local(start));
    assert_eq!(b.value("#footage_end").await.unwrap(), local(end));
    assert_eq!(
        b.value("#investigation_code").await.as_deref(),
        Some("REV-1")
    );
    assert_eq!(
        b.value("#contact_name").await.as_deref(),
        Some("Det. A. Rivera")
    );
    assert_eq!(b.value("#suspect-0-sex").await.as_deref(), Some("male"));
    assert_eq!(
        b.value("#suspect-0-features").await.as_deref(),
        Some("red hooded jacket\nblack BMX bicycle")
    );
    assert_eq!(
        b.find("#incident_type option[value='package_theft']")
            .await
            .prop("selected")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    let area: Value = serde_json::from_str(&b.value("#area").await.unwrap()).unwrap();
    assert_eq!(area, home_area());
    // The stored area is drawn on the map, over the jurisdiction's outline.
    b.wait_js(
        "the stored area drawn",
        "return document.querySelectorAll('#area-map .leaflet-overlay-pane path').length >= 2;",
    )
    .await;
    b.assert_clean("revise form", &[]).await;
    b.screenshot("agency-revise").await;

    // A problem is shown next to its field, and everything else is kept.
    b.fill("#details", "").await;
    b.click("#check-request").await;
    b.wait_for_path(&format!("/agency/requests/{id}/revise/check"))
        .await;
    let details_error = b.text("#details-error").await;
    assert!(details_error.contains("Details"), "{details_error}");
    assert_eq!(
        b.value("#investigation_code").await.as_deref(),
        Some("REV-1")
    );
    assert_eq!(b.value("#footage_start").await.unwrap(), local(start));
    assert!(b.text("#revise-decision").await.contains(note));
    assert!(!b.has("#submit-request").await);
    b.assert_clean("revise form with a problem", &[]).await;

    // Fixed and checked: the pre-screen's findings come before resubmitting.
    let details = "A package was taken from a porch near Elm St. Doorbell or driveway footage of the street between these times would help.";
    b.fill("#details", details).await;
    b.click("#check-request").await;
    b.find("#check-result").await;
    assert!(b.has("#findings").await || b.has("#findings-none").await);
    assert!(b.text("#check-heading").await.contains("resubmit"));
    b.assert_clean("revise checked", &[]).await;
    // Checking stored nothing.
    let r = t
        .get(
            &format!("/api/v1/requests/{id}"),
            Some(&s.investigator.token),
        )
        .await;
    assert_eq!(r.body["status"], "rejected");

    b.click("#submit-request").await;
    b.wait_text("#resubmitted-notice", "Resubmitted for review")
        .await;
    assert_eq!(
        b.path().await,
        format!("/agency/requests/{id}?resubmitted=1")
    );
    assert_eq!(b.text("#request-status").await, "Pending review");
    assert!(b.text("#history").await.contains("Revised"));
    b.assert_clean("resubmitted", &[]).await;

    let r = t
        .get(
            &format!("/api/v1/requests/{id}"),
            Some(&s.investigator.token),
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body["status"], "pending_review");
    assert_eq!(r.body["details"], details);
    assert_eq!(r.body["investigation_code"], "REV-1");
    assert_eq!(r.body["area"], home_area());
    let stored = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(r.body[k].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    assert_eq!(stored("footage_start"), start);
    assert_eq!(stored("footage_end"), end);
    assert_eq!(
        r.body["suspects"][0]["distinctive_features"][1],
        "black BMX bicycle"
    );

    // A pending request can be revised too; a published one offers nothing and says why.
    assert!(b.has("#revise").await);
    b.open(&format!("/agency/requests/{published}")).await;
    assert!(!b.has("#revise").await);
    b.open(&format!("/agency/requests/{published}/revise"))
        .await;
    assert_eq!(b.text("h1").await, "This request can no longer change");
    let closed = b.text("#revise-closed").await;
    assert!(closed.contains("neither edited nor deleted"), "{closed}");
    assert!(!b.has("form.request-form").await);
    b.window(390, 844).await;
    b.assert_clean("published request's revise page", &["409"])
        .await;

    b.finish().await;
    t.stop().await;
}
