#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The audit log: what it records, who may read it, and that nothing can change it.

mod common;

use canvass::domain::Role;
use canvass::store::NewUser;
use chrono::{DateTime, Utc};
use common::{PASSWORD, TestApp, riverton};
use serde_json::{Value, json};

/// The whole log, newest first, read over HTTP as `admin_token`.
async fn audit_log(t: &TestApp, admin_token: &str) -> Vec<Value> {
    let r = t.get("/api/v1/audit?limit=200", Some(admin_token)).await;
    r.expect(200, None);
    let entries = r.body.as_array().expect("a list").clone();
    assert!(entries.len() < 200, "the log fits one page in these tests");
    entries
}

/// Checks the fields every record carries: when, what, how it ended, from where, and who.
#[track_caller]
fn check_record(e: &Value) {
    let at = e["at"].as_str().unwrap_or_else(|| panic!("no `at`: {e}"));
    let at = DateTime::parse_from_rfc3339(at)
        .unwrap_or_else(|err| panic!("`at` is not RFC 3339 ({err}): {e}"))
        .with_timezone(&Utc);
    let age = Utc::now() - at;
    assert!(
        age >= chrono::Duration::zero() - chrono::Duration::seconds(5)
            && age < chrono::Duration::minutes(5),
        "`at` is the time of the event: {e}"
    );
    assert!(
        e["action"].as_str().is_some_and(|a| !a.is_empty()),
        "no action: {e}"
    );
    assert!(
        matches!(
            e["outcome"].as_str(),
            Some("success" | "failure" | "denied")
        ),
        "bad outcome: {e}"
    );
    assert_eq!(e["source_ip"], "127.0.0.1", "source_ip: {e}");
    assert!(
        e["actor_id"].as_str().is_some_and(|a| !a.is_empty())
            || e["actor_email"].as_str().is_some_and(|a| !a.is_empty()),
        "no actor: {e}"
    );
    assert!(e["id"].is_i64(), "no id: {e}");
}

/// The records with `action` and `outcome` that satisfy `pred`; each is checked.
#[track_caller]
fn records<'a>(
    log: &'a [Value],
    action: &str,
    outcome: &str,
    pred: impl Fn(&Value) -> bool,
) -> Vec<&'a Value> {
    let found: Vec<&Value> = log
        .iter()
        .filter(|e| e["action"] == action && e["outcome"] == outcome && pred(e))
        .collect();
    for e in &found {
        check_record(e);
    }
    found
}

/// Exactly one matching record.
#[track_caller]
fn one<'a>(
    log: &'a [Value],
    action: &str,
    outcome: &str,
    pred: impl Fn(&Value) -> bool,
) -> &'a Value {
    let found = records(log, action, outcome, pred);
    assert_eq!(
        found.len(),
        1,
        "one {action}/{outcome} record expected; log: {}",
        serde_json::to_string_pretty(log).unwrap()
    );
    found[0]
}

/// A staff account straight in the database, without a second factor. Answers its email.
async fn staff_without_mfa(t: &TestApp, role: Role) -> String {
    let email = t.email(role.as_str());
    let hash = canvass::domain::password::hash(PASSWORD).unwrap();
    t.app()
        .db
        .insert_user(
            &NewUser {
                email: &email,
                password_hash: &hash,
                role,
                agency_id: None,
                display_name: None,
                home_address: None,
                home: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    email
}

/// Every row of the table, as text, in id order (for before/after comparisons).
async fn raw_rows(t: &TestApp) -> Vec<String> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, at, actor_id, actor_email, action, target, source_ip, outcome, detail \
         FROM audit_log ORDER BY id",
    )
    .fetch_all(t.app().db.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            let id: i64 = r.get("id");
            let cols: Vec<Option<String>> = [
                "at",
                "actor_id",
                "actor_email",
                "action",
                "target",
                "source_ip",
                "outcome",
                "detail",
            ]
            .iter()
            .map(|c| r.get::<Option<String>, _>(*c))
            .collect();
            format!("{id} {cols:?}")
        })
        .collect()
}

#[tokio::test]
async fn audit_log_records_login_success_and_both_kinds_of_failure() {
    common::announce("audit_log_records_login_success_and_both_kinds_of_failure");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let resident = t.account(Role::Resident, None).await;

    t.login("nobody-here@test.example", PASSWORD, None)
        .await
        .expect(401, Some("invalid_credentials"));
    t.login(&resident.email, "wrong-password-123", None)
        .await
        .expect(401, Some("invalid_credentials"));

    let log = audit_log(&t, &admin.token).await;
    let unknown = one(&log, "login", "failure", |e| {
        e["actor_email"] == "nobody-here@test.example"
    });
    assert!(unknown["actor_id"].is_null(), "{unknown}");
    assert_eq!(unknown["detail"], "unknown_email");

    let wrong = one(&log, "login", "failure", |e| {
        e["actor_id"] == resident.id.as_str()
    });
    assert_eq!(wrong["actor_email"], resident.email.as_str());
    assert_eq!(wrong["detail"], "wrong_password");

    let ok = one(&log, "login", "success", |e| {
        e["actor_id"] == resident.id.as_str()
    });
    assert_eq!(ok["actor_email"], resident.email.as_str());
    one(&log, "login", "success", |e| {
        e["actor_id"] == admin.id.as_str()
    });

    // Newest first, and no secret is written down.
    let ids: Vec<i64> = log.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(PASSWORD) && !text.contains("wrong-password-123"));
    assert!(!text.contains(&resident.token) && !text.contains(&admin.token));
    t.stop().await;
}

#[tokio::test]
async fn audit_log_records_an_account_lock() {
    common::announce("audit_log_records_an_account_lock");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let resident = t.account(Role::Resident, None).await;
    for _ in 0..4 {
        t.login(&resident.email, "wrong-password-123", None)
            .await
            .expect(401, Some("invalid_credentials"));
    }
    t.login(&resident.email, "wrong-password-123", None)
        .await
        .expect(423, Some("account_locked"));
    t.login(&resident.email, PASSWORD, None)
        .await
        .expect(423, Some("account_locked"));

    let log = audit_log(&t, &admin.token).await;
    let lock = one(&log, "account_locked", "failure", |e| {
        e["actor_id"] == resident.id.as_str()
    });
    assert_eq!(lock["target"], resident.id.as_str());
    let failures = records(&log, "login", "failure", |e| {
        e["actor_id"] == resident.id.as_str()
    });
    assert_eq!(failures.len(), 6, "five wrong passwords and one refusal");
    assert_eq!(
        failures
            .iter()
            .filter(|e| e["detail"] == "account_locked")
            .count(),
        1,
        "the login refused by the lock"
    );
    t.stop().await;
}

#[tokio::test]
async fn audit_log_records_mfa_enrollment_and_confirmation() {
    common::announce("audit_log_records_mfa_enrollment_and_confirmation");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let email = staff_without_mfa(&t, Role::Moderator).await;
    let r = t.login(&email, PASSWORD, None).await;
    r.expect(200, None);
    assert_eq!(r.body["mfa_enrollment_required"], true);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let id = r.body["user"]["id"].as_str().unwrap().to_owned();

    let e = t
        .call("POST", "/api/v1/me/mfa/enroll", Some(&token), None)
        .await;
    e.expect(200, None);
    let secret = e.body["secret"].as_str().unwrap().to_owned();
    t.post(
        "/api/v1/me/mfa/confirm",
        Some(&token),
        json!({"totp": TestApp::totp_now(&secret)}),
    )
    .await
    .expect(200, None);

    let log = audit_log(&t, &admin.token).await;
    let pending = one(&log, "login", "success", |e| e["actor_id"] == id.as_str());
    assert_eq!(pending["detail"], "mfa_enrollment_required");
    let enroll = one(&log, "mfa_enroll", "success", |e| {
        e["actor_id"] == id.as_str()
    });
    assert_eq!(enroll["actor_email"], email.as_str());
    assert!(
        !serde_json::to_string(&log).unwrap().contains(&secret),
        "the secret is not logged"
    );
    let confirm = one(&log, "mfa_confirm", "success", |e| {
        e["actor_id"] == id.as_str()
    });
    assert_eq!(confirm["target"], id.as_str());
    t.stop().await;
}

#[tokio::test]
async fn audit_log_records_sign_up_and_moderator_creation_with_role_grants() {
    common::announce("audit_log_records_sign_up_and_moderator_creation_with_role_grants");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;

    let resident_email = t.email("newcomer");
    let r = t
        .post(
            "/api/v1/residents",
            None,
            json!({
                "email": resident_email,
                "password": PASSWORD,
                "display_name": "Rosa Park",
                "home_address": "1200 Elm St, Riverton, OR 97214",
                "home_location": {"lat": 45.515, "lon": -122.66}
            }),
        )
        .await;
    r.expect(201, None);
    let resident_id = r.body["id"].as_str().unwrap().to_owned();

    let moderator_email = t.email("moderator");
    let m = t
        .post(
            "/api/v1/moderators",
            Some(&admin.token),
            json!({"email": moderator_email, "password": PASSWORD}),
        )
        .await;
    m.expect(201, None);
    assert_eq!(m.body["role"], "moderator");
    let moderator_id = m.body["id"].as_str().unwrap().to_owned();

    let log = audit_log(&t, &admin.token).await;
    let resident_target = format!("user:{resident_id}");
    // A sign-up is its own actor.
    let created = one(&log, "account_create", "success", |e| {
        e["target"] == resident_target.as_str()
    });
    assert_eq!(created["actor_id"], resident_id.as_str());
    assert_eq!(created["actor_email"], resident_email.as_str());
    let granted = one(&log, "role_grant", "success", |e| {
        e["target"] == resident_target.as_str()
    });
    assert_eq!(granted["detail"], "resident");
    assert_eq!(granted["actor_id"], resident_id.as_str());

    // A moderator is created by the admin.
    let moderator_target = format!("user:{moderator_id}");
    let created = one(&log, "account_create", "success", |e| {
        e["target"] == moderator_target.as_str()
    });
    assert_eq!(created["actor_id"], admin.id.as_str());
    assert_eq!(created["actor_email"], admin.email.as_str());
    let granted = one(&log, "role_grant", "success", |e| {
        e["target"] == moderator_target.as_str()
    });
    assert_eq!(granted["detail"], "moderator");
    assert_eq!(granted["actor_id"], admin.id.as_str());
    t.stop().await;
}

#[tokio::test]
async fn audit_log_records_agency_creation_verification_and_member_removal() {
    common::announce("audit_log_records_agency_creation_verification_and_member_removal");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;

    let a = t
        .post(
            "/api/v1/agencies",
            Some(&admin.token),
            json!({"name": "Riverton Fire Department", "kind": "fire",
                   "jurisdiction": riverton(), "verified": false, "evidence_enabled": false}),
        )
        .await;
    a.expect(201, None);
    assert_eq!(a.body["verified"], false);
    let agency = a.body["id"].as_str().unwrap().to_owned();

    let u = t
        .call(
            "PATCH",
            &format!("/api/v1/agencies/{agency}"),
            Some(&admin.token),
            Some(json!({"verified": true})),
        )
        .await;
    u.expect(200, None);
    assert_eq!(u.body["verified"], true);

    let member_email = t.email("investigator");
    let m = t
        .post(
            &format!("/api/v1/agencies/{agency}/members"),
            Some(&admin.token),
            json!({"email": member_email, "password": PASSWORD, "role": "investigator"}),
        )
        .await;
    m.expect(201, None);
    let member = m.body["id"].as_str().unwrap().to_owned();
    t.call(
        "DELETE",
        &format!("/api/v1/agencies/{agency}/members/{member}"),
        Some(&admin.token),
        None,
    )
    .await
    .expect(204, None);

    let log = audit_log(&t, &admin.token).await;
    let agency_target = format!("agency:{agency}");
    let by_admin = |e: &Value| e["actor_id"] == admin.id.as_str();
    let created = one(&log, "agency_create", "success", |e| {
        e["target"] == agency_target.as_str() && by_admin(e)
    });
    assert!(
        created["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Riverton Fire Department") && d.contains("verified=false")),
        "{created}"
    );
    let updated = one(&log, "agency_update", "success", |e| {
        e["target"] == agency_target.as_str() && by_admin(e)
    });
    assert_eq!(updated["detail"], "verified=true");

    let member_target = format!("user:{member}");
    one(&log, "account_create", "success", |e| {
        e["target"] == member_target.as_str() && by_admin(e)
    });
    let granted = one(&log, "role_grant", "success", |e| {
        e["target"] == member_target.as_str() && by_admin(e)
    });
    assert_eq!(
        granted["detail"],
        format!("investigator of agency:{agency}").as_str()
    );
    let removed = one(&log, "member_remove", "success", |e| {
        e["target"] == member_target.as_str() && by_admin(e)
    });
    assert_eq!(removed["detail"], "investigator");

    // The removed member can no longer sign in.
    t.login(&member_email, PASSWORD, None)
        .await
        .expect(401, Some("invalid_credentials"));
    t.stop().await;
}

#[tokio::test]
async fn audit_log_records_access_denied() {
    common::announce("audit_log_records_access_denied");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let resident = t.account(Role::Resident, None).await;

    t.post(
        "/api/v1/agencies",
        Some(&resident.token),
        json!({"name": "Fake PD", "kind": "law_enforcement", "jurisdiction": riverton(),
               "verified": true, "evidence_enabled": true}),
    )
    .await
    .expect(403, Some("forbidden"));

    let log = audit_log(&t, &admin.token).await;
    let denied = one(&log, "access_denied", "denied", |e| {
        e["actor_id"] == resident.id.as_str()
    });
    assert_eq!(denied["actor_email"], resident.email.as_str());
    assert_eq!(denied["target"], "agencies");
    assert_eq!(denied["detail"], "forbidden");
    assert!(
        records(&log, "agency_create", "success", |_| true).is_empty(),
        "nothing was created"
    );
    t.stop().await;
}

#[tokio::test]
async fn only_admins_may_read_the_audit_log() {
    common::announce("only_admins_may_read_the_audit_log");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let agency = t.agency("Riverton Police Department").await;
    let others = [
        t.account(Role::Resident, None).await,
        t.account(Role::Moderator, None).await,
        t.account(Role::Investigator, Some(&agency)).await,
        t.account(Role::AgencyAdmin, Some(&agency)).await,
    ];
    for who in &others {
        let r = t.get("/api/v1/audit", Some(&who.token)).await;
        r.expect(403, Some("forbidden"));
        assert!(!r.text.contains("login"), "nothing of the log leaks");
    }
    t.get("/api/v1/audit", None)
        .await
        .expect(401, Some("unauthenticated"));

    let log = audit_log(&t, &admin.token).await;
    for who in &others {
        let denied = one(&log, "access_denied", "denied", |e| {
            e["actor_id"] == who.id.as_str()
        });
        assert_eq!(denied["target"], "audit_log");
    }
    // Paging: `before` and `limit`.
    let newest = log[0]["id"].as_i64().unwrap();
    let page = t
        .get(
            &format!("/api/v1/audit?before={newest}&limit=2"),
            Some(&admin.token),
        )
        .await;
    page.expect(200, None);
    let page = page.body.as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0], log[1]);
    assert_eq!(page[1], log[2]);
    t.stop().await;
}

#[tokio::test]
async fn no_route_changes_the_audit_log() {
    common::announce("no_route_changes_the_audit_log");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let before = audit_log(&t, &admin.token).await;
    assert!(!before.is_empty());
    let first = before.last().unwrap()["id"].as_i64().unwrap();

    for method in ["PUT", "PATCH", "DELETE", "POST"] {
        for path in [
            "/api/v1/audit".to_owned(),
            format!("/api/v1/audit?before={first}"),
        ] {
            t.call(
                method,
                &path,
                Some(&admin.token),
                Some(json!({"outcome": "success"})),
            )
            .await
            .expect(405, Some("method_not_allowed"));
        }
    }
    for method in ["PUT", "PATCH", "DELETE"] {
        let r = t
            .call(
                method,
                &format!("/api/v1/audit/{first}"),
                Some(&admin.token),
                None,
            )
            .await;
        assert!(
            matches!(r.status.as_u16(), 404 | 405),
            "{method} on one entry: {}",
            r.text
        );
    }
    assert_eq!(audit_log(&t, &admin.token).await, before);
    t.stop().await;
}

#[tokio::test]
async fn database_refuses_to_update_or_delete_audit_rows() {
    common::announce("database_refuses_to_update_or_delete_audit_rows");
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;
    t.login(&resident.email, "wrong-password-123", None)
        .await
        .expect(401, Some("invalid_credentials"));
    let before = raw_rows(&t).await;
    assert!(before.len() >= 2, "{before:?}");
    assert!(before.iter().any(|r| r.contains("\"failure\"")));

    let pool = t.app().db.pool();
    let update = sqlx::query("UPDATE audit_log SET outcome = 'success'")
        .execute(pool)
        .await;
    let err = update.expect_err("UPDATE audit_log is refused");
    assert!(err.to_string().contains("append-only"), "{err}");

    let update_one = sqlx::query("UPDATE audit_log SET detail = NULL WHERE outcome = 'failure'")
        .execute(pool)
        .await;
    assert!(update_one.is_err(), "UPDATE of one row is refused");

    let delete = sqlx::query("DELETE FROM audit_log").execute(pool).await;
    let err = delete.expect_err("DELETE FROM audit_log is refused");
    assert!(err.to_string().contains("append-only"), "{err}");

    let delete_one = sqlx::query("DELETE FROM audit_log WHERE outcome = 'failure'")
        .execute(pool)
        .await;
    assert!(delete_one.is_err(), "DELETE of one row is refused");

    if common::backend() == "postgres" {
        let truncate = sqlx::query("TRUNCATE audit_log").execute(pool).await;
        assert!(truncate.is_err(), "TRUNCATE is refused");
    }

    assert_eq!(raw_rows(&t).await, before, "the rows are unchanged");
    // Appending still works.
    t.login(&resident.email, PASSWORD, None)
        .await
        .expect(200, None);
    assert_eq!(raw_rows(&t).await.len(), before.len() + 1);
    t.stop().await;
}
