//! The resident's pages in a real browser (headless Chromium through chromedriver) against the
//! real server, on SQLite or PostgreSQL: the feed, a request with its comments and share link,
//! "Choose videos to share" through to the receipt, and "My shares". Every page visited is
//! checked with `Browser::assert_clean` (console errors, CSP, labels, contrast, overflow).
//!
//! Reported SKIPPED without chromium and chromedriver, unless `CANVASS_REQUIRE_BROWSER=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/browser.rs"]
mod browser;
mod common;

use std::time::{Duration as StdDuration, Instant};

use browser::{Browser, browser, raw_client, server};
use canvass::domain::Role;
use chrono::{DateTime, Duration, Utc};
use common::requests::{Staff, home_area, publish, request_at, staff};
use common::tus::{camera, upload_fixture};
use common::{HOME, PASSWORD, Session, TestApp, fixture, sha256_hex};
use serde_json::json;

/// A camera inside [`home_area`].
const INSIDE: (f64, f64) = (45.5155, -122.6595);
/// A home in Riverton well outside [`home_area`].
const OUTSIDE: (f64, f64) = (45.505, -122.68);

/// An agency's staff and one published request over [`home_area`] wanting the two hours of
/// footage that ended two days ago.
struct World {
    s: Staff,
    id: String,
    public_id: String,
    start: DateTime<Utc>,
}

impl World {
    async fn new(t: &TestApp) -> World {
        let s = staff(t).await;
        let end = Utc::now() - Duration::days(2);
        let (id, public_id) = publish(t, &s, request_at("RES-1", home_area(), end)).await;
        World {
            s,
            id,
            public_id,
            start: end - Duration::hours(2),
        }
    }

    /// Five minutes inside the footage wanted.
    fn during(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.start + Duration::minutes(30),
            self.start + Duration::minutes(35),
        )
    }

    /// A camera of `who` inside the area and one clip of `file` from it, made during the
    /// footage wanted; answers the recording's id.
    async fn clip(&self, t: &TestApp, who: &Session, camera_name: &str, file: &str) -> String {
        let (cam, _) = camera(t, who, camera_name, INSIDE).await;
        upload_fixture(t, who, &cam, file, self.during()).await
    }
}

/// Waits until the page's path starts with `prefix`; answers the path.
async fn wait_for_path_prefix(b: &Browser, prefix: &str) -> String {
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        let path = b.path().await;
        if path.starts_with(prefix) {
            return path;
        }
        assert!(
            Instant::now() < deadline,
            "still on {path}, expected {prefix}…; the page says: {}",
            b.text("main").await
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

/// The value of attribute `name` of the element matching `css`.
async fn attr(b: &Browser, css: &str, name: &str) -> String {
    b.find(css)
        .await
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The ids of the feed's cards, in order.
async fn card_ids(b: &Browser) -> Vec<String> {
    let v = b
        .js(
            "return [...document.querySelectorAll('.feed-card')].map(c => c.id.replace('request-', ''))",
            vec![],
        )
        .await;
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn a_resident_in_the_area_reads_comments_and_shares_a_clip_with_a_receipt() {
    let t = server().await;
    let Some(b) = browser(
        "a_resident_in_the_area_reads_comments_and_shares_a_clip_with_a_receipt",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let w = World::new(&t).await;
    let resident = t.resident_at(HOME.0, HOME.1).await;
    let porch = w.clip(&t, &resident, "Porch", "porch-cam.mp4").await;
    let garage = w.clip(&t, &resident, "Garage", "garage-cam.webm").await;
    // The agency answers in the comments, as the agency.
    t.post(
        &format!("/api/v1/requests/{}/comments", w.id),
        Some(&w.s.investigator.token),
        json!({"body": "Thank you all. Footage from Elm St is most useful."}),
    )
    .await
    .expect(201, None);

    // The feed: one card, labelled, with its map drawn without tiles.
    b.use_session(&resident.token).await;
    b.open("/feed").await;
    assert!(b.text("h1").await.contains("Your feed"));
    let card = format!("#request-{}", w.id);
    let text = b.text(&card).await;
    for expected in [
        "Community Request",
        "Riverton Police Department",
        "Package theft",
        "Open until",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    b.find(&format!("{card} .feed-map.no-tiles path")).await;
    assert_eq!(
        b.js(
            "return document.querySelectorAll('script[src*=\"leaflet.js\"]').length",
            vec![]
        )
        .await,
        json!(1),
        "Leaflet is loaded once"
    );
    b.assert_clean("feed", &[]).await;
    b.screenshot("feed").await;

    // The request: details, contact links, the map, the comments, the share link.
    b.click(&format!("{card} h2 a")).await;
    b.wait_for_path(&format!("/requests/{}", w.id)).await;
    assert_eq!(b.text("h1").await, "Package theft");
    assert_eq!(attr(&b, "#call-link", "href").await, "tel:+15550100");
    assert_eq!(
        attr(&b, "#email-link", "href").await,
        "mailto:arivera@pd.example"
    );
    b.find("#area-map path.leaflet-interactive").await;
    let comments = b.text("#comments").await;
    assert!(comments.contains("Footage from Elm St"), "{comments}");
    assert!(comments.contains("Agency"), "{comments}");
    let link = b.value("#share-url").await.unwrap();
    assert_eq!(link, format!("{}/r/{}", t.base, w.public_id));
    // "Copy link" copies, or selects the link and says how to copy it by hand.
    b.click("button[data-share-link]").await;
    b.wait_js(
        "the copy status",
        "return document.getElementById('copy-status').textContent.length > 0",
    )
    .await;
    b.assert_clean("request", &[]).await;

    // A comment: posted, shown with the resident's name; one over the limit is refused with
    // the text kept.
    b.fill(
        "#comment-body",
        "I have a camera on Elm St; checking it tonight.",
    )
    .await;
    b.click("#comment-form button[type=submit]").await;
    b.wait_for_path(&format!("/requests/{}", w.id)).await;
    b.wait_js(
        "the new comment",
        "return document.getElementById('comments').innerText.includes('checking it tonight')",
    )
    .await;
    assert!(b.text(".comment-list").await.contains("You"));
    b.js(
        "const f = document.getElementById('comment-body'); f.removeAttribute('maxlength'); f.value = 'x'.repeat(2001); document.getElementById('comment-form').submit();",
        vec![],
    )
    .await;
    let error = b.text("#comment-error").await;
    assert!(error.contains("the limit is 2000"), "{error}");
    assert_eq!(
        b.value("#comment-body").await.map(|v| v.len()),
        Some(2001),
        "the refused text is kept"
    );
    b.assert_clean("refused comment", &[]).await;
    b.open(&format!("/requests/{}", w.id)).await;
    b.screenshot("resident-request").await;

    // Choose videos to share: both clips, with players that load from the playback route.
    b.click("#choose-videos").await;
    b.wait_for_path(&format!("/requests/{}/share", w.id)).await;
    assert_eq!(
        b.js(
            "return document.querySelectorAll('.clip video[preload=metadata]').length",
            vec![]
        )
        .await,
        json!(2)
    );
    b.wait_js(
        "a player's metadata",
        "return [...document.querySelectorAll('.clip video')].some(v => v.readyState >= 1)",
    )
    .await;
    b.assert_clean("share: choose", &[]).await;
    b.screenshot("share-choose").await;
    // Nothing ticked: said so.
    b.click("#choose-form button[type=submit]").await;
    b.wait_for_path(&format!("/requests/{}/share/consent", w.id))
        .await;
    assert_eq!(
        attr(&b, "#share-error", "data-code").await,
        "no_recording_chosen"
    );
    b.assert_clean("share: nothing chosen", &[]).await;

    // The porch clip: the consent screen says what goes to whom.
    b.click(&format!("#clip-{porch}")).await;
    b.click("#choose-form button[type=submit]").await;
    b.wait_for_path(&format!("/requests/{}/share/consent", w.id))
        .await;
    let notice = b.text("#consent-notice").await;
    for expected in [
        "Riverton Police Department",
        "home address (1200 Elm St, Riverton, OR 97214)",
        &resident.email,
    ] {
        assert!(notice.contains(expected), "{expected} in {notice}");
    }
    assert!(b.text("main").await.contains("Porch"));
    b.assert_clean("share: consent", &[]).await;
    b.screenshot("share-consent").await;

    // "Share" without the consent box (the browser's own check removed): refused, nothing sent.
    b.js(
        "document.getElementById('consent').removeAttribute('required')",
        vec![],
    )
    .await;
    b.click("#share-button").await;
    b.wait_js("the consent error",
        "const e = document.getElementById('share-error'); return !!e && e.dataset.code === 'consent_required'",
    )
    .await;
    b.assert_clean("share: no consent", &[]).await;
    t.get("/api/v1/me/submissions", Some(&resident.token))
        .await
        .expect(200, None);
    assert_eq!(
        t.get("/api/v1/me/submissions", Some(&resident.token))
            .await
            .body,
        json!([])
    );

    // With consent: shared, and the receipt's hash is the clip's.
    b.click("#consent").await;
    b.click("#share-button").await;
    let receipt_path = wait_for_path_prefix(&b, "/shares/").await;
    assert!(receipt_path.ends_with("?shared=1"), "{receipt_path}");
    let sha = sha256_hex(&fixture("porch-cam.mp4"));
    assert_eq!(b.text(".receipt-item .sha256").await, sha);
    let receipt = b.text("main").await;
    assert!(receipt.contains("69 KB (71,136 bytes)"), "{receipt}");
    assert!(receipt.contains("Received"), "{receipt}");
    assert!(b.text("#share-done").await.contains("1 video received"));
    b.assert_clean("share: receipt", &[]).await;
    b.screenshot("share-receipt").await;
    let shared = t.get("/api/v1/me/submissions", Some(&resident.token)).await;
    assert_eq!(shared.body[0]["items"][0]["sha256"], sha.as_str());

    // My shares lists it, with the same hash and the `received` custody event.
    b.open("/shares").await;
    let shares = b.text("main").await;
    assert!(shares.contains(&sha), "{shares}");
    assert!(shares.contains("Package theft"), "{shares}");
    assert!(shares.contains("Received by"), "{shares}");
    b.assert_clean("my shares", &[]).await;
    b.screenshot("my-shares").await;

    // Back at step 1, the shared clip cannot be ticked again.
    b.open(&format!("/requests/{}/share", w.id)).await;
    assert!(
        b.find(&format!("#clip-{porch}"))
            .await
            .attr("disabled")
            .await
            .unwrap()
            .is_some()
    );

    // Shared meanwhile from elsewhere (another tab, the API): the second share is refused.
    b.open(&format!(
        "/requests/{}/share/consent?recording={garage}",
        w.id
    ))
    .await;
    b.click("#consent").await;
    t.post(
        &format!("/api/v1/requests/{}/submissions", w.id),
        Some(&resident.token),
        json!({"recording_ids": [garage], "consent": true}),
    )
    .await
    .expect(201, None);
    b.click("#share-button").await;
    b.wait_js("the already-shared error",
        "const e = document.getElementById('share-error'); return !!e && e.dataset.code === 'already_shared'",
    )
    .await;
    assert!(
        b.text("#share-error")
            .await
            .starts_with("Nothing was shared.")
    );
    assert!(b.has("#all-shared").await, "both clips are shared now");
    b.assert_clean("share: already shared", &[]).await;

    // Every page fits a phone.
    b.window(390, 844).await;
    for path in [
        "/feed".to_owned(),
        format!("/requests/{}", w.id),
        format!("/requests/{}/share", w.id),
        format!("/requests/{}/share/consent?recording={porch}", w.id),
        "/shares".to_owned(),
    ] {
        b.open(&path).await;
        b.assert_clean(&format!("{path} (phone)"), &[]).await;
    }

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn a_resident_outside_the_area_sees_neither_the_card_nor_the_request() {
    let t = server().await;
    let Some(b) = browser(
        "a_resident_outside_the_area_sees_neither_the_card_nor_the_request",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let w = World::new(&t).await;
    let outsider = t.resident_at(OUTSIDE.0, OUTSIDE.1).await;
    b.use_session(&outsider.token).await;
    b.open("/feed").await;
    b.find("#feed-empty").await;
    assert!(!b.has(".feed-card").await);
    b.assert_clean("empty feed", &[]).await;

    for path in [
        format!("/requests/{}", w.id),
        format!("/requests/{}/share", w.id),
        "/shares/no-such-share".to_owned(),
    ] {
        b.open(&path).await;
        assert_eq!(b.text("h1").await, "Not found", "{path}");
        assert!(b.text("main").await.contains("Error 404"), "{path}");
        b.assert_clean(&path, &["404"]).await;
    }
    b.open("/shares").await;
    b.find("#no-shares").await;
    b.assert_clean("no shares", &[]).await;

    // Staff have their own pages: a resident's page sends them home.
    b.use_session(&w.s.investigator.token).await;
    b.open("/feed").await;
    b.wait_for_path("/agency").await;
    b.open(&format!("/requests/{}", w.id)).await;
    b.wait_for_path("/agency").await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn an_opted_out_resident_sees_a_note_instead_of_requests() {
    let t = server().await;
    let Some(b) = browser("an_opted_out_resident_sees_a_note_instead_of_requests", &t).await else {
        return t.stop().await;
    };
    World::new(&t).await;
    let resident = t.account(Role::Resident, None).await;
    t.call(
        "PUT",
        "/api/v1/me/settings",
        Some(&resident.token),
        Some(json!({"community_requests": false, "push": false, "email": false})),
    )
    .await
    .expect(200, None);
    b.use_session(&resident.token).await;
    b.open("/feed").await;
    let note = b.text("#feed-opted-out").await;
    assert!(note.contains("turned off"), "{note}");
    assert_eq!(attr(&b, "#feed-opted-out a", "href").await, "/settings");
    assert!(!b.has(".feed-card").await);
    assert!(!b.has("#feed-empty").await);
    b.assert_clean("opted-out feed", &[]).await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn after_sixty_days_the_share_button_gives_way_to_a_closed_notice() {
    let t = server().await;
    let Some(b) = browser(
        "after_sixty_days_the_share_button_gives_way_to_a_closed_notice",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let w = World::new(&t).await;
    let resident = t.resident_at(HOME.0, HOME.1).await;
    let rec = w.clip(&t, &resident, "Porch", "porch-cam.mp4").await;

    // 59 days on, the request still takes videos. (A resident's session lasts 30 days: sign
    // in again.)
    t.app().advance_clock(Duration::days(59));
    let r = t.login(&resident.email, PASSWORD, None).await;
    r.expect(200, None);
    let token = r.body["token"].as_str().unwrap().to_owned();
    b.use_session(&token).await;
    b.open(&format!("/requests/{}", w.id)).await;
    b.find("#choose-videos").await;

    // A resident on the consent screen when the window closes.
    b.open(&format!("/requests/{}/share/consent?recording={rec}", w.id))
        .await;
    b.find("#consent-form").await;
    t.app().advance_clock(Duration::days(2));
    b.click("#consent").await;
    b.click("#share-button").await;
    b.wait_js("the closed error",
        "const e = document.getElementById('share-error'); return !!e && e.dataset.code === 'response_window_closed'",
    )
    .await;
    assert!(b.text("#share-error").await.contains("Nothing was shared"));
    b.find("#share-closed").await;
    assert!(!b.has("#choose-form").await);
    b.assert_clean("share after the window", &[]).await;

    // The request stays readable, with a closed notice where the button was.
    b.open(&format!("/requests/{}", w.id)).await;
    let closed = b.text("#share-closed").await;
    assert!(closed.contains("no new videos are accepted"), "{closed}");
    assert!(!b.has("#choose-videos").await);
    assert!(b.has("#comment-form").await, "comments stay open");
    b.assert_clean("closed request", &[]).await;
    b.screenshot("resident-request-closed").await;

    // The feed says so on the card; the consent step refuses too.
    b.open("/feed").await;
    assert!(
        b.text(&format!("#request-{}", w.id))
            .await
            .contains("Closed")
    );
    b.open(&format!("/requests/{}/share/consent?recording={rec}", w.id))
        .await;
    assert_eq!(
        attr(&b, "#share-error", "data-code").await,
        "response_window_closed"
    );
    assert_eq!(
        t.get("/api/v1/me/submissions", Some(&token)).await.body,
        json!([])
    );

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn a_refused_comment_says_why_and_keeps_the_text() {
    let t = TestApp::start_with(|a| {
        a.tile_url = Some(String::new());
        a.comment_rate_per_hour = Some("1".into());
    })
    .await;
    let Some(b) = browser("a_refused_comment_says_why_and_keeps_the_text", &t).await else {
        return t.stop().await;
    };
    let w = World::new(&t).await;
    let resident = t.resident_at(HOME.0, HOME.1).await;
    b.use_session(&resident.token).await;
    b.open(&format!("/requests/{}", w.id)).await;
    b.find("#no-comments").await;

    // Only spaces: empty, said so. (It still counts against the rate, as on the API.)
    b.fill("#comment-body", "   ").await;
    b.click("#comment-form button[type=submit]").await;
    let error = b.text("#comment-error").await;
    assert_eq!(error, "Your comment is empty.");
    assert_eq!(
        attr(&b, "#comment-body", "aria-invalid").await,
        "true",
        "the field is marked"
    );
    b.assert_clean("empty comment", &[]).await;

    // Over the rate: the wait is given and the text kept.
    b.fill("#comment-body", "Second thoughts on the timeframe.")
        .await;
    b.click("#comment-form button[type=submit]").await;
    b.wait_js("the rate-limit error",
        "const e = document.getElementById('comment-error'); return !!e && e.innerText.includes('too fast')",
    )
    .await;
    assert_eq!(
        b.value("#comment-body").await.as_deref(),
        Some("Second thoughts on the timeframe.")
    );
    assert!(b.has("#no-comments").await, "nothing was posted");
    b.assert_clean("comment over the rate", &[]).await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn a_long_feed_pages_back_and_draws_its_maps_as_they_come_into_view() {
    let t = server().await;
    let Some(b) = browser(
        "a_long_feed_pages_back_and_draws_its_maps_as_they_come_into_view",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let s = staff(&t).await;
    let end = Utc::now() - Duration::days(2);
    let mut ids = Vec::new();
    // One more than a page holds.
    for n in 0..21 {
        let (id, _) = publish(
            &t,
            &s,
            request_at(&format!("PAGE-{n}"), home_area(), end - Duration::hours(n)),
        )
        .await;
        ids.push(id);
    }
    let resident = t.resident_at(HOME.0, HOME.1).await;
    b.use_session(&resident.token).await;
    b.open("/feed").await;
    b.find(".feed-map[data-drawn]").await;
    assert_eq!(
        b.js(
            "return document.querySelectorAll('.feed-card').length",
            vec![]
        )
        .await,
        json!(20)
    );
    // Only the maps near the screen are drawn; the rest wait until scrolled to.
    b.assert_clean("full feed", &[]).await;
    let drawn = b
        .js(
            "return document.querySelectorAll('.feed-map[data-drawn]').length",
            vec![],
        )
        .await
        .as_u64()
        .unwrap();
    assert!((1..20).contains(&drawn), "{drawn} maps drawn on load");
    let weight = b.weight().await;
    assert!(
        weight.encoded < 300 * 1024,
        "the feed transfers {} bytes",
        weight.encoded
    );
    b.js("window.scrollTo(0, document.body.scrollHeight)", vec![])
        .await;
    b.wait_js("the last card's map",
        "const m = [...document.querySelectorAll('.feed-map')].pop(); return m.hasAttribute('data-drawn') && !!m.querySelector('path')",
    )
    .await;

    // "Older requests" holds the rest, and links back to the newest.
    let mut seen = card_ids(&b).await;
    b.click("a[rel=next]").await;
    b.wait_for_path("/feed").await;
    b.find(".feed-card").await;
    let older = card_ids(&b).await;
    assert_eq!(older.len(), 1);
    seen.extend(older);
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids, "every request once, over the two pages");
    assert!(!b.has("a[rel=next]").await);
    assert!(b.has(".feed-pages a[href='/feed']").await);
    b.assert_clean("older requests", &[]).await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn a_resident_outside_the_area_who_came_by_the_share_link_comments_and_shares() {
    let t = server().await;
    let Some(b) = browser(
        "a_resident_outside_the_area_who_came_by_the_share_link_comments_and_shares",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let w = World::new(&t).await;
    let outsider = t.resident_at(OUTSIDE.0, OUTSIDE.1).await;
    // Their home is elsewhere, but one of their cameras looks into the area.
    let porch = w.clip(&t, &outsider, "Porch", "porch-cam.mp4").await;
    let share_page = format!("/r/{}", w.public_id);
    let via = format!("via={}", w.public_id);

    // Signed out, the public page offers no way in (it cannot know who reads it).
    b.open(&share_page).await;
    assert_eq!(b.text("h1").await, "Package theft");
    assert!(!b.has("#open-in-app").await);

    // Signed in, it does; the button leads to the request in the app, with the link.
    b.use_session(&outsider.token).await;
    b.open(&share_page).await;
    assert_eq!(
        b.text("#open-in-app").await,
        "Open in Canvass to comment or share videos"
    );
    b.assert_clean("share page, signed in", &[]).await;
    b.screenshot("share-page-signed-in").await;
    b.click("#open-in-app").await;
    b.wait_for_path(&format!("/requests/{}", w.id)).await;
    assert_eq!(b.path().await, format!("/requests/{}?{via}", w.id));
    assert_eq!(b.text("h1").await, "Package theft");
    assert_eq!(
        attr(&b, "#choose-videos", "href").await,
        format!("/requests/{}/share?{via}", w.id)
    );
    b.assert_clean("request by the share link", &[]).await;

    // A comment: posted through the link, and shown.
    b.fill("#comment-body", "I drive down Elm St every morning.")
        .await;
    b.click("#comment-form button[type=submit]").await;
    b.wait_for_path(&format!("/requests/{}", w.id)).await;
    b.wait_js(
        "the new comment",
        "return (document.getElementById('comments')?.innerText || '').includes('every morning')",
    )
    .await;
    assert_eq!(b.path().await, format!("/requests/{}?{via}", w.id));
    assert!(b.text(".comment-list").await.contains("You"));
    let comments = t
        .get(
            &format!("/api/v1/requests/{}/comments", w.id),
            Some(&w.s.investigator.token),
        )
        .await;
    assert!(
        comments.text.contains("every morning"),
        "the agency sees it: {}",
        comments.text
    );

    // Choose videos to share, consent, share: the link goes along at every step.
    b.click("#choose-videos").await;
    b.wait_for_path(&format!("/requests/{}/share", w.id)).await;
    b.click(&format!("#clip-{porch}")).await;
    b.click("#choose-form button[type=submit]").await;
    b.wait_for_path(&format!("/requests/{}/share/consent", w.id))
        .await;
    assert!(b.text("main").await.contains("Porch"));
    assert!(
        attr(&b, ".back-link a", "href").await.ends_with(&via),
        "the way back keeps the link"
    );
    b.assert_clean("share by the link: consent", &[]).await;
    b.click("#consent").await;
    b.click("#share-button").await;
    wait_for_path_prefix(&b, "/shares/").await;
    assert_eq!(
        b.text(".receipt-item .sha256").await,
        sha256_hex(&fixture("porch-cam.mp4"))
    );
    b.click("main .actions a[href^='/requests/']").await;
    b.wait_for_path(&format!("/requests/{}", w.id)).await;
    assert_eq!(b.text("h1").await, "Package theft");

    // Without the link the request stays out of reach, as before.
    for path in [
        format!("/requests/{}", w.id),
        format!("/requests/{}/share", w.id),
        format!("/requests/{}?via=not-its-link", w.id),
    ] {
        b.open(&path).await;
        assert_eq!(b.text("h1").await, "Not found", "{path}");
        b.assert_clean(&path, &["404"]).await;
    }

    // Staff with a session who open the link's button go to their own home.
    b.use_session(&w.s.investigator.token).await;
    b.open(&format!("{share_page}/open")).await;
    b.wait_for_path("/agency").await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn opening_a_share_link_in_the_app_needs_a_session_and_a_real_link() {
    common::announce("opening_a_share_link_in_the_app_needs_a_session_and_a_real_link");
    let t = server().await;
    let c = raw_client();
    let w = World::new(&t).await;
    let outsider = t.resident_at(OUTSIDE.0, OUTSIDE.1).await;
    let cookie = format!("canvass_session={}", outsider.token);
    let open = |path: String, cookie: Option<&str>| {
        let mut r = c
            .get(format!("{}{path}", t.base))
            .header("accept", "text/html");
        if let Some(k) = cookie {
            r = r.header("cookie", k.to_owned());
        }
        r.send()
    };

    // Signed out: the sign-in page, which comes back here.
    let r = open(format!("/r/{}/open", w.public_id), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/login"), "{location}");
    assert!(location.contains("next=%2Fr%2F"), "{location}");

    // A link this server did not issue: the 404 page.
    for id in ["no-such-link", "not%20a%20token"] {
        let r = open(format!("/r/{id}/open"), Some(&cookie)).await.unwrap();
        assert_eq!(r.status(), 404, "{id}");
        let page = r.text().await.unwrap();
        assert!(page.contains("Not found"), "{id}: {page}");
    }

    // A real one: the request, with the link.
    let r = open(format!("/r/{}/open", w.public_id), Some(&cookie))
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/requests/{}?via={}", w.id, w.public_id).as_str()
    );

    // The share page shows the button from the cookie alone; without one, not.
    for (cookie, shown) in [(Some(cookie.as_str()), true), (None, false)] {
        let r = open(format!("/r/{}", w.public_id), cookie).await.unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert_eq!(html.contains("id=\"open-in-app\""), shown, "{html}");
    }

    // A via that is not a plain token is ignored: the request stays 404 for the outsider.
    let r = open(
        format!("/requests/{}?via={}%26x", w.id, w.public_id),
        Some(&cookie),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
    t.stop().await;
}
