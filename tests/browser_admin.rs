//! The platform admin's pages in a real browser: an agency created with a pasted GeoJSON
//! jurisdiction, verified, given its evidence account and its first admin; a moderator
//! created; the audit log filtered. See `tests/browser.rs` for how the browser runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/browser.rs"]
mod browser;
mod common;

use browser::{Browser, browser, server};
use canvass::domain::Role;
use common::{PASSWORD, riverton};

/// Picks `value` in the `<select>` matching `css`.
async fn select(b: &Browser, css: &str, value: &str) {
    b.click(&format!("{css} option[value='{value}']")).await;
}

/// Waits until the address holds `part` (a GET form's query).
async fn wait_for_query(b: &Browser, part: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !b.path().await.contains(part) {
        assert!(
            std::time::Instant::now() < deadline,
            "the address never held {part}: {}",
            b.path().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_admin_creates_verifies_and_staffs_an_agency_and_finds_it_in_the_audit_log() {
    let t = server().await;
    let Some(b) = browser(
        "an_admin_creates_verifies_and_staffs_an_agency_and_finds_it_in_the_audit_log",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let admin = t.account(Role::Admin, None).await;
    b.use_session(&admin.token).await;

    b.open("/admin").await;
    assert_eq!(b.text("h1").await, "Agencies");
    b.assert_clean("agencies, none yet", &[]).await;
    b.click("a[href='/admin/agencies/new']").await;
    b.wait_for_path("/admin/agencies/new").await;
    assert_eq!(b.value("#time_zone").await.as_deref(), Some("UTC"));
    b.assert_clean("new agency", &[]).await;
    b.screenshot("admin-agency-new").await;

    // Sent empty: each problem beside its field, and what was typed is kept.
    b.fill("#time_zone", "Mars/Olympus_Mons").await;
    b.click("form[action='/admin/agencies/new'] button[type=submit]")
        .await;
    b.wait_for_path("/admin/agencies/new").await;
    assert!(b.text("#name-error").await.contains("Name is required"));
    assert!(
        b.text("#jurisdiction-error")
            .await
            .contains("paste it as GeoJSON")
    );
    assert!(
        b.text("#time_zone-error")
            .await
            .contains("Mars/Olympus_Mons")
    );
    assert_eq!(
        b.value("#time_zone").await.as_deref(),
        Some("Mars/Olympus_Mons")
    );
    b.assert_clean("new agency, refused", &[]).await;
    // Invalid GeoJSON says so.
    b.fill("#name", "Lakeside Fire District").await;
    b.fill("#jurisdiction_text", "{\"type\": \"Polygon\"").await;
    b.click("form[action='/admin/agencies/new'] button[type=submit]")
        .await;
    b.wait_for_path("/admin/agencies/new").await;
    assert!(
        b.text("#jurisdiction-error")
            .await
            .contains("not valid GeoJSON")
    );
    assert_eq!(
        b.value("#name").await.as_deref(),
        Some("Lakeside Fire District")
    );

    // A fire district over a pasted jurisdiction, not yet verified.
    select(&b, "#kind", "fire").await;
    b.fill("#time_zone", "America/Los_Angeles").await;
    b.fill("#jurisdiction_text", &riverton().to_string()).await;
    b.click("form[action='/admin/agencies/new'] button[type=submit]")
        .await;
    b.wait_for_path("/admin").await;
    assert!(
        b.text("#admin-message")
            .await
            .contains("Lakeside Fire District")
    );
    let row = b.find("tr[data-agency]").await;
    let id = row.attr("data-agency").await.unwrap().unwrap();
    let text = b.text(&format!("tr[data-agency='{id}']")).await;
    assert!(text.contains("Fire"), "{text}");
    assert!(text.contains("Not verified"), "{text}");
    assert!(text.contains("Not enabled"), "{text}");
    assert!(text.contains("America/Los_Angeles"), "{text}");
    b.assert_clean("agencies", &[]).await;
    b.screenshot("admin-agencies").await;
    let api = t
        .get(&format!("/api/v1/agencies/{id}"), Some(&admin.token))
        .await;
    api.expect(200, None);
    assert_eq!(api.body["jurisdiction"], riverton());
    assert_eq!(api.body["time_zone"], "America/Los_Angeles", "{}", api.text);
    assert_eq!(api.body["kind"], "fire");

    // Verified, and its evidence account enabled.
    b.click(&format!("a[href='/admin/agencies/{id}']")).await;
    b.wait_for_path(&format!("/admin/agencies/{id}")).await;
    // The jurisdiction is on the map (in the drawing tool, or drawn alone without it).
    b.find("#agency-form .draw-map path.leaflet-interactive, #current-jurisdiction path.leaflet-interactive")
        .await;
    assert!(b.text("#no-members").await.contains("No members yet"));
    b.assert_clean("an agency", &[]).await;
    b.click("#verified").await;
    b.click("#evidence_enabled").await;
    // A smaller jurisdiction, pasted over the current one.
    let redrawn = common::requests::rect(-122.69, 45.50, -122.64, 45.53);
    b.fill("#jurisdiction_text", &redrawn.to_string()).await;
    b.click("#agency-form button[type=submit]").await;
    b.wait_for_path(&format!("/admin/agencies/{id}")).await;
    // The form posts to its own page: wait for what only the answer says.
    b.wait_text("#admin-message", "saved").await;
    assert_eq!(b.text("#flag-verified").await, "Verified");
    assert_eq!(b.text("#flag-evidence").await, "Evidence account enabled");
    let api = t
        .get(&format!("/api/v1/agencies/{id}"), Some(&admin.token))
        .await;
    assert_eq!(api.body["verified"], true, "{}", api.text);
    assert_eq!(api.body["evidence_enabled"], true, "{}", api.text);
    assert_eq!(api.body["jurisdiction"], redrawn, "{}", api.text);
    // Saving again with nothing changed changes nothing.
    b.click("#agency-form button[type=submit]").await;
    b.wait_text("#admin-message", "Nothing changed").await;

    // Its first agency admin; a too-short password is refused beside the field first.
    let agency_admin = t.email("chief");
    b.fill("#member-email", &agency_admin).await;
    b.fill("#member-password", "short").await;
    b.click("#member-form button[type=submit]").await;
    assert!(
        b.text("#member-password-error")
            .await
            .contains("at least 8")
    );
    assert_eq!(
        b.value("#member-email").await.as_deref(),
        Some(agency_admin.as_str())
    );
    b.assert_clean("member refused", &[]).await;
    b.fill("#member-password", PASSWORD).await;
    b.click("#member-form button[type=submit]").await;
    b.wait_for_path(&format!("/admin/agencies/{id}")).await;
    let message = b.wait_text("#admin-message", &agency_admin).await;
    assert!(message.contains(&agency_admin), "{message}");
    assert!(message.contains("agency admin"), "{message}");
    assert!(b.text("table.members").await.contains(&agency_admin));
    b.assert_clean("member added", &[]).await;
    // The new admin signs in to set up a second factor, for this agency.
    let login = t.login(&agency_admin, PASSWORD, None).await;
    login.expect(200, None);
    assert_eq!(login.body["user"]["role"], "agency_admin");
    assert_eq!(login.body["user"]["agency_id"], id.as_str());
    assert_eq!(login.body["mfa_enrollment_required"], true);

    // A moderator; the same email twice is refused beside the field.
    b.open("/admin/moderators").await;
    assert!(b.has("#no-moderators").await);
    b.assert_clean("moderators, none yet", &[]).await;
    let moderator = t.email("mod");
    b.fill("#email", &moderator).await;
    b.fill("#display_name", "Sam Okafor").await;
    b.fill("#password", PASSWORD).await;
    b.click("form[action='/admin/moderators'] button[type=submit]")
        .await;
    b.wait_for_path("/admin/moderators").await;
    assert!(b.text("#admin-message").await.contains(&moderator));
    let list = b.text("table.moderators").await;
    assert!(
        list.contains(&moderator) && list.contains("Sam Okafor"),
        "{list}"
    );
    b.fill("#email", &moderator).await;
    b.fill("#password", PASSWORD).await;
    b.click("form[action='/admin/moderators'] button[type=submit]")
        .await;
    assert!(
        b.text("#email-error")
            .await
            .contains("already has an account")
    );
    assert_eq!(b.value("#email").await.as_deref(), Some(moderator.as_str()));
    b.assert_clean("moderators", &[]).await;
    let login = t.login(&moderator, PASSWORD, None).await;
    assert_eq!(login.body["user"]["role"], "moderator", "{}", login.text);

    // The audit log, filtered by action: the agency's creation.
    b.open("/admin/audit").await;
    b.assert_clean("audit log", &[]).await;
    select(&b, "#action", "agency_create").await;
    b.click(".audit-filter button[type=submit]").await;
    wait_for_query(&b, "action=agency_create").await;
    let actions = b
        .js(
            "return [...document.querySelectorAll('table.audit tbody tr')].map(r => r.dataset.action);",
            vec![],
        )
        .await;
    assert_eq!(actions, serde_json::json!(["agency_create"]));
    let entry = b.text("table.audit tbody tr").await;
    assert!(entry.contains(&format!("agency:{id}")), "{entry}");
    assert!(entry.contains(&admin.email), "{entry}");
    assert!(entry.contains("Lakeside Fire District"), "{entry}");
    assert_eq!(b.value("#action").await.as_deref(), Some("agency_create"));
    b.assert_clean("audit log, by action", &[]).await;
    b.screenshot("admin-audit").await;
    // By object: the creation and the update of that agency, newest first.
    select(&b, "#action", "").await;
    b.fill("#object", &format!("agency:{id}")).await;
    b.click(".audit-filter button[type=submit]").await;
    wait_for_query(&b, "object=agency").await;
    let actions = b
        .js(
            "return [...document.querySelectorAll('table.audit tbody tr')].map(r => r.dataset.action);",
            vec![],
        )
        .await;
    assert_eq!(
        actions,
        serde_json::json!(["agency_update", "agency_create"])
    );
    // A range that ends before it starts is refused beside the field.
    b.fill("#object", "").await;
    b.js(
        "document.getElementById('from').value = '2026-11-20'; document.getElementById('to').value = '2026-11-19'; return true;",
        vec![],
    )
    .await;
    b.click(".audit-filter button[type=submit]").await;
    wait_for_query(&b, "to=2026-11-19").await;
    assert!(b.text("#to-error").await.contains("before"));
    b.assert_clean("audit log, bad range", &[]).await;

    // Pages of 50: 55 sign-ins by one actor fill one page and five entries of the next.
    for i in 0..55 {
        t.app()
            .db
            .append_audit(
                &canvass::store::AuditEntry {
                    actor_id: None,
                    actor_email: Some("bulk.sign-in@example.org"),
                    action: canvass::domain::audit::AuditAction::Login,
                    target: None,
                    source_ip: Some("192.0.2.7"),
                    outcome: canvass::domain::audit::Outcome::Failure,
                    detail: Some(&format!("attempt {i}")),
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
    }
    b.open("/admin/audit?actor=BULK.sign-in").await;
    let rows = "table.audit tbody tr";
    let count = "return document.querySelectorAll(arguments[0]).length;";
    assert_eq!(b.js(count, vec![serde_json::json!(rows)]).await, 50);
    assert!(b.text(rows).await.contains("attempt 54"));
    b.click("a[rel=next]").await;
    b.wait_text("table.audit caption", "older page").await;
    assert_eq!(b.js(count, vec![serde_json::json!(rows)]).await, 5);
    assert!(b.text("table.audit").await.contains("attempt 0"));
    assert!(!b.has("a[rel=next]").await);
    assert_eq!(b.value("#actor").await.as_deref(), Some("BULK.sign-in"));
    b.assert_clean("audit log, second page", &[]).await;

    // Every admin page fits a phone.
    b.window(390, 844).await;
    for path in [
        "/admin".to_owned(),
        "/admin/agencies/new".to_owned(),
        format!("/admin/agencies/{id}"),
        "/admin/moderators".to_owned(),
        "/admin/audit".to_owned(),
    ] {
        b.open(&path).await;
        b.assert_clean(&format!("{path} on a phone"), &[]).await;
    }

    b.finish().await;
    t.stop().await;
}

#[tokio::test]
async fn admin_pages_send_other_roles_home_and_their_forms_are_refused() {
    let t = server().await;
    let Some(b) = browser(
        "admin_pages_send_other_roles_home_and_their_forms_are_refused",
        &t,
    )
    .await
    else {
        return t.stop().await;
    };
    let moderator = t.account(Role::Moderator, None).await;
    let agency = t.agency(common::AGENCY).await;
    b.use_session(&moderator.token).await;
    for path in [
        "/admin".to_owned(),
        "/admin/agencies/new".to_owned(),
        format!("/admin/agencies/{agency}"),
        "/admin/moderators".to_owned(),
        "/admin/audit".to_owned(),
    ] {
        b.open(&path).await;
        b.wait_for_path("/moderation").await;
    }
    // A form posted with the moderator's own session token is refused by `app`.
    let csrf = b
        .value("form[action='/logout'] input[name=csrf]")
        .await
        .unwrap();
    b.js(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/admin/moderators'; \
         for (const [k, v] of [['csrf', arguments[0]], ['email', 'sneaky@example.org'], ['password', arguments[1]]]) { \
           const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.append(i); } \
         document.body.append(f); f.submit(); return true;",
        vec![serde_json::json!(csrf), serde_json::json!(PASSWORD)],
    )
    .await;
    b.wait_for_path("/admin/moderators").await;
    assert_eq!(b.text("h1").await, "Not allowed");
    t.login("sneaky@example.org", PASSWORD, None)
        .await
        .expect(401, Some("invalid_credentials"));

    b.finish().await;
    t.stop().await;
}
