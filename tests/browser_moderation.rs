//! The moderator's queue in a real browser: the pending requests oldest first, the pre-screen's
//! findings marked in the text, the areas on maps, and the approve and reject decisions (checked
//! through the API as the agency sees them). See `tests/browser.rs` for how the browser runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/browser.rs"]
mod browser;
mod common;

use browser::{Browser, browser, server};
use canvass::domain::Role;
use common::HOME;
use common::requests::{create, staff, valid_request};

/// A valid request whose details name a house-number address: the pre-screen flags it for
/// victim privacy.
fn request_with_an_address(code: &str) -> serde_json::Value {
    let mut body = valid_request(code);
    body["details"] = serde_json::json!(
        "A package was taken from the porch at 1423 Oak Street on Tuesday evening. Doorbell or driveway footage of the street would help."
    );
    body
}

/// Waits until `css` matches `n` elements.
async fn wait_count(b: &Browser, css: &str, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let count = b
            .js(
                "return document.querySelectorAll(arguments[0]).length;",
                vec![serde_json::json!(css)],
            )
            .await;
        if count == n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css}: {count} elements, expected {n}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_moderator_rejects_one_request_with_reasons_and_publishes_the_other() {
    let t = server().await;
    let Some(b) = browser(
        "a_moderator_rejects_one_request_with_reasons_and_publishes_the_other",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let s = staff(&t).await;
    let flagged = create(&t, &s.investigator, request_with_an_address("MOD-1")).await;
    let clean = create(&t, &s.investigator, valid_request("MOD-2")).await;

    b.use_session(&s.moderator.token).await;
    b.open("/moderation").await;
    assert_eq!(b.text("h1").await, "Moderation queue");
    // Both pending requests, oldest first, each with its agency and timeframe.
    wait_count(&b, "article.mod-item", 2).await;
    let order = b
        .js(
            "return [...document.querySelectorAll('article.mod-item')].map(a => a.id);",
            vec![],
        )
        .await;
    assert_eq!(
        order,
        serde_json::json!([format!("request-{flagged}"), format!("request-{clean}")])
    );
    let first = b.text(&format!("#request-{flagged}")).await;
    assert!(first.contains(common::AGENCY), "{first}");
    assert!(first.contains("Package theft"), "{first}");
    assert!(first.contains("Footage wanted from"), "{first}");
    // The finding is marked in the text, and listed with its guideline.
    let marked = b
        .text(&format!("#request-{flagged} .mod-details mark"))
        .await;
    assert_eq!(marked, "1423 Oak Street");
    let guideline = b
        .find(&format!("#request-{flagged} .mod-details mark"))
        .await
        .attr("data-guideline")
        .await
        .unwrap();
    assert_eq!(guideline.as_deref(), Some("victim_privacy"));
    assert!(
        b.text(&format!("#request-{flagged} .mod-findings"))
            .await
            .contains("Victim privacy")
    );
    assert!(
        !b.has(&format!("#request-{clean} .mod-details mark")).await,
        "nothing to mark in the clean request"
    );
    // Each area is drawn on its map, without tiles.
    b.find(&format!("#area-map-{flagged} path.leaflet-interactive"))
        .await;
    b.find(&format!("#area-map-{clean} path.leaflet-interactive"))
        .await;
    b.assert_clean("moderation queue", &[]).await;
    b.screenshot("moderation-queue").await;
    b.window(390, 844).await;
    b.assert_clean("moderation queue, phone", &[]).await;
    b.window(1200, 900).await;

    // A rejection without a reason is refused beside the reasons, with the note kept.
    b.fill(
        &format!("#note-{flagged}"),
        "Please remove the house number.",
    )
    .await;
    b.click(&format!("#request-{flagged} button[value=reject]"))
        .await;
    b.wait_for_path(&format!("/moderation/requests/{flagged}/decision"))
        .await;
    assert!(
        b.text("#reasons-error")
            .await
            .contains("needs at least one guideline reason")
    );
    assert_eq!(
        b.value(&format!("#note-{flagged}")).await.as_deref(),
        Some("Please remove the house number.")
    );
    b.assert_clean("rejection without a reason", &[]).await;
    t.get(
        &format!("/api/v1/requests/{flagged}"),
        Some(&s.investigator.token),
    )
    .await
    .expect(200, None);

    // With a reason: rejected, and back to the queue with a confirmation.
    b.click(&format!("#reason-{flagged}-victim_privacy")).await;
    b.click(&format!("#request-{flagged} button[value=reject]"))
        .await;
    b.wait_for_path("/moderation").await;
    let message = b.text("#decision-message").await;
    assert!(message.contains("Rejected"), "{message}");
    assert!(message.contains("victim privacy"), "{message}");
    wait_count(&b, "article.mod-item", 1).await;
    b.assert_clean("after a rejection", &[]).await;
    // The agency sees the rejection, its reason and the note.
    let r = t
        .get(
            &format!("/api/v1/requests/{flagged}"),
            Some(&s.investigator.token),
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body["status"], "rejected", "{}", r.text);
    assert_eq!(
        r.body["moderation"]["reasons"],
        serde_json::json!(["victim_privacy"])
    );
    assert_eq!(
        r.body["moderation"]["note"],
        "Please remove the house number."
    );

    // The other is approved: published, with a share link.
    b.click(&format!("#request-{clean} button[value=approve]"))
        .await;
    // (The address stays /moderation: wait for the new confirmation.)
    b.wait_text("#decision-message", "Approved and published")
        .await;
    let r = t
        .get(
            &format!("/api/v1/requests/{clean}"),
            Some(&s.investigator.token),
        )
        .await;
    assert_eq!(r.body["status"], "published", "{}", r.text);
    let public_id = r.body["public_id"].as_str().unwrap().to_owned();
    assert!(!public_id.is_empty());
    assert!(b.has(&format!("a[href='/r/{public_id}']")).await);
    // Nothing is left to review.
    assert!(
        b.text("#queue-empty")
            .await
            .contains("No requests are waiting")
    );
    b.assert_clean("empty queue", &[]).await;

    // A decided request's page says so and offers no form.
    b.open(&format!("/moderation/requests/{flagged}")).await;
    assert!(b.text("#decided-message").await.contains("rejected"));
    assert!(!b.has("form.mod-decision").await);
    let history = b.text(".mod-history").await;
    assert!(history.contains("Rejected"), "{history}");
    assert!(
        history.contains("Please remove the house number."),
        "{history}"
    );
    b.assert_clean("a decided request", &[]).await;

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn only_moderators_see_the_queue() {
    let t = server().await;
    let Some(b) = browser("only_moderators_see_the_queue", &t).await else {
        return t.stop().await;
    };
    let s = staff(&t).await;
    let id = create(&t, &s.investigator, valid_request("MOD-3")).await;
    let resident = t.resident_at(HOME.0, HOME.1).await;
    let admin = t.account(Role::Admin, None).await;

    // Each other role is sent to its own home, from the queue and from a request's page.
    for (token, home) in [
        (&s.investigator.token, "/agency"),
        (&resident.token, "/feed"),
        (&admin.token, "/admin"),
    ] {
        b.use_session(token).await;
        b.open("/moderation").await;
        b.wait_for_path(home).await;
        b.open(&format!("/moderation/requests/{id}")).await;
        b.wait_for_path(home).await;
    }
    // Signed out: the sign-in page.
    let _ = b.driver.delete_cookie("canvass_session").await;
    b.open("/moderation").await;
    b.wait_for_path("/login").await;

    // A decision posted by someone else, with their own session's form token, is refused by
    // `app`, and nothing changes.
    b.use_session(&s.investigator.token).await;
    b.open("/agency").await;
    let csrf = b
        .value("form[action='/logout'] input[name=csrf]")
        .await
        .unwrap();
    b.js(
        "const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0]; \
         for (const [k, v] of [['csrf', arguments[1]], ['decision', 'approve']]) { \
           const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.append(i); } \
         document.body.append(f); f.submit(); return true;",
        vec![
            serde_json::json!(format!("/moderation/requests/{id}/decision")),
            serde_json::json!(csrf),
        ],
    )
    .await;
    b.wait_for_path(&format!("/moderation/requests/{id}/decision"))
        .await;
    assert_eq!(b.text("h1").await, "Not allowed");
    let r = t
        .get(
            &format!("/api/v1/requests/{id}"),
            Some(&s.investigator.token),
        )
        .await;
    assert_eq!(r.body["status"], "pending_review");

    b.finish().await;
    t.stop().await;
}
