#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Signing in and out, cookies, lockout, session lifetimes, the staff second factor,
//! resident sign-up and the per-address rate limits.

mod common;

use canvass::domain::{Role, mfa};
use canvass::store::{NewUser, ts};
use chrono::{DateTime, Duration, Utc};
use common::{PASSWORD, TestApp};
use reqwest::header;
use serde_json::{Value, json};
use sqlx::Row;

/// Runs one statement on the server's database, binding `binds` as text in order.
async fn exec(t: &TestApp, sql: &'static str, binds: &[String]) -> u64 {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.clone());
    }
    q.execute(t.app().db.pool())
        .await
        .expect("raw SQL runs")
        .rows_affected()
}

/// The session row behind a token: (last_seen_at, expires_at, created_at).
async fn session_times(t: &TestApp, token: &str) -> (String, String, String) {
    let row = sqlx::query(
        "SELECT last_seen_at, expires_at, created_at FROM sessions WHERE token_hash = $1",
    )
    .bind(canvass::app::auth::token_hash(token))
    .fetch_one(t.app().db.pool())
    .await
    .expect("the session row exists");
    (
        row.get("last_seen_at"),
        row.get("expires_at"),
        row.get("created_at"),
    )
}

fn parse(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A staff account straight in the database, without a second factor. Answers its email.
async fn staff_without_mfa(t: &TestApp, role: Role, agency_id: Option<&str>) -> String {
    let email = t.email(role.as_str());
    let hash = canvass::domain::password::hash(PASSWORD).unwrap();
    t.app()
        .db
        .insert_user(
            &NewUser {
                email: &email,
                password_hash: &hash,
                role,
                agency_id,
                display_name: Some("Staff Without MFA"),
                home_address: None,
                home: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    email
}

/// A code for `secret` that is wrong at every step the server could accept now.
fn wrong_code(secret: &str) -> String {
    let now = Utc::now().timestamp() as u64;
    let valid: Vec<String> = [now - 60, now - 30, now, now + 30, now + 60]
        .iter()
        .map(|&t| mfa::code_at(secret, t).unwrap())
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (123_456 + n * 7919) % 1_000_000))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// The code for the next 30-second step: accepted now (one step of skew) and later than any
/// step accepted so far, so it serves as a second fresh code right away.
fn next_code(secret: &str) -> String {
    mfa::code_at(secret, Utc::now().timestamp() as u64 + 30).unwrap()
}

fn set_cookies(r: &common::Reply) -> Vec<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn session_cookie(r: &common::Reply) -> String {
    let cookies = set_cookies(r);
    let found: Vec<&String> = cookies
        .iter()
        .filter(|c| c.starts_with("canvass_session="))
        .collect();
    assert_eq!(found.len(), 1, "one session cookie: {cookies:?}");
    found[0].clone()
}

fn cookie_attributes(cookie: &str) -> Vec<String> {
    cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

fn sign_up_body(email: &str) -> Value {
    json!({
        "email": email,
        "password": PASSWORD,
        "display_name": "Rosa Park",
        "home_address": "1200 Elm St, Riverton, OR 97214",
        "home_location": {"lat": 45.515, "lon": -122.66}
    })
}

// ---------------------------------------------------------------- login, cookie, logout

#[tokio::test]
async fn login_answers_token_and_user_and_sets_an_http_only_lax_cookie() {
    common::announce("login_answers_token_and_user_and_sets_an_http_only_lax_cookie");
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;

    let r = t.login(&resident.email, PASSWORD, None).await;
    r.expect(200, None);
    let token = r.body["token"].as_str().expect("token").to_owned();
    assert!(token.len() >= 32, "token is long enough: {token}");
    assert_ne!(token, resident.token, "every login gets its own token");
    assert_eq!(r.body["user"]["id"], resident.id.as_str());
    assert_eq!(r.body["user"]["email"], resident.email.as_str());
    assert_eq!(r.body["user"]["role"], "resident");
    assert!(
        r.body["user"].get("agency_id").is_none(),
        "a resident has no agency_id: {}",
        r.text
    );
    assert!(
        r.body.get("mfa_enrollment_required").is_none(),
        "{}",
        r.text
    );

    let cookie = session_cookie(&r);
    assert!(
        cookie.starts_with(&format!("canvass_session={token};")),
        "the cookie carries the token: {cookie}"
    );
    let attrs = cookie_attributes(&cookie);
    assert!(attrs.contains(&"httponly".to_owned()), "{cookie}");
    assert!(attrs.contains(&"samesite=lax".to_owned()), "{cookie}");
    assert!(attrs.contains(&"path=/".to_owned()), "{cookie}");
    assert!(
        !attrs.contains(&"secure".to_owned()),
        "no Secure on plain http: {cookie}"
    );

    // An agency member's user carries its agency.
    let agency = t.agency("Riverton Police Department").await;
    let inv = t.account(Role::Investigator, Some(&agency)).await;
    let secret = inv.totp_secret.as_deref().unwrap();
    let r = t
        .login(&inv.email, PASSWORD, Some(&next_code(secret)))
        .await;
    r.expect(200, None);
    assert_eq!(r.body["user"]["id"], inv.id.as_str());
    assert_eq!(r.body["user"]["role"], "investigator");
    assert_eq!(r.body["user"]["agency_id"], agency.as_str());
    t.stop().await;
}

#[tokio::test]
async fn session_cookie_is_secure_when_public_url_is_https() {
    common::announce("session_cookie_is_secure_when_public_url_is_https");
    let t = TestApp::start_with(|a| a.public_url = Some("https://canvass.example".into())).await;
    let resident = t.account(Role::Resident, None).await;
    let r = t.login(&resident.email, PASSWORD, None).await;
    r.expect(200, None);
    let cookie = session_cookie(&r);
    let attrs = cookie_attributes(&cookie);
    assert!(attrs.contains(&"secure".to_owned()), "{cookie}");
    assert!(attrs.contains(&"httponly".to_owned()), "{cookie}");
    assert!(attrs.contains(&"samesite=lax".to_owned()), "{cookie}");
    t.stop().await;
}

#[tokio::test]
async fn session_cookie_alone_authenticates_get_me() {
    common::announce("session_cookie_alone_authenticates_get_me");
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;
    let r = t.login(&resident.email, PASSWORD, None).await;
    r.expect(200, None);
    let cookie = session_cookie(&r);
    let pair = cookie.split(';').next().unwrap().to_owned();

    // A plain header, no bearer token.
    let me = TestApp::reply(
        t.client
            .get(format!("{}/api/v1/me", t.base))
            .header(header::COOKIE, &pair)
            .send()
            .await
            .unwrap(),
    )
    .await;
    me.expect(200, None);
    assert_eq!(me.body["id"], resident.id.as_str());
    assert_eq!(me.body["email"], resident.email.as_str());
    assert_eq!(me.body["role"], "resident");

    // A browser-like client that keeps the cookie it was given.
    canvass::install_tls_provider();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = browser
        .post(format!("{}/api/v1/auth/login", t.base))
        .json(&json!({"email": resident.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let me = TestApp::reply(
        browser
            .get(format!("{}/api/v1/me", t.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    me.expect(200, None);
    assert_eq!(me.body["id"], resident.id.as_str());

    // Without the cookie there is no session.
    t.get("/api/v1/me", None)
        .await
        .expect(401, Some("unauthenticated"));
    t.stop().await;
}

#[tokio::test]
async fn a_logout_through_another_server_on_the_same_database_ends_the_session_within_a_second() {
    common::announce(
        "a_logout_through_another_server_on_the_same_database_ends_the_session_within_a_second",
    );
    let a = TestApp::start().await;
    let b = a.second_server().await;
    let resident = a.account(Role::Resident, None).await;
    // Server A has just read the session (and keeps it for up to a second).
    a.get("/api/v1/me", Some(&resident.token))
        .await
        .expect(200, None);
    b.call("POST", "/api/v1/auth/logout", Some(&resident.token), None)
        .await
        .expect(204, None);
    // At once on the server that ended it; within the cache's second on the other.
    b.get("/api/v1/me", Some(&resident.token))
        .await
        .expect(401, Some("unauthenticated"));
    tokio::time::sleep(canvass::store::SESSION_CACHE_TTL).await;
    a.get("/api/v1/me", Some(&resident.token))
        .await
        .expect(401, Some("unauthenticated"));
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn logout_revokes_the_token() {
    common::announce("logout_revokes_the_token");
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;
    t.get("/api/v1/me", Some(&resident.token))
        .await
        .expect(200, None);

    let out = t
        .call("POST", "/api/v1/auth/logout", Some(&resident.token), None)
        .await;
    out.expect(204, None);
    assert!(out.text.is_empty(), "204 has no body: {}", out.text);

    t.get("/api/v1/me", Some(&resident.token))
        .await
        .expect(401, Some("unauthenticated"));
    t.call("POST", "/api/v1/auth/logout", Some(&resident.token), None)
        .await
        .expect(401, Some("unauthenticated"));

    // Other sessions of the same account are untouched.
    let again = t.login(&resident.email, PASSWORD, None).await;
    again.expect(200, None);
    t.get("/api/v1/me", again.body["token"].as_str())
        .await
        .expect(200, None);
    t.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_the_same_invalid_credentials() {
    common::announce("wrong_password_and_unknown_email_answer_the_same_invalid_credentials");
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;

    let wrong = t.login(&resident.email, "not-the-password-99", None).await;
    wrong.expect(401, Some("invalid_credentials"));
    let unknown = t
        .login("nobody-here@test.example", "not-the-password-99", None)
        .await;
    unknown.expect(401, Some("invalid_credentials"));
    assert_eq!(
        wrong.body["error"]["message"], unknown.body["error"]["message"],
        "the answers do not reveal which emails have accounts"
    );
    assert!(set_cookies(&wrong).is_empty(), "no cookie on failure");
    t.stop().await;
}

// ---------------------------------------------------------------- lockout

#[tokio::test]
async fn fifth_failed_login_locks_the_account() {
    common::announce("fifth_failed_login_locks_the_account");
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;

    for _ in 0..4 {
        t.login(&resident.email, "wrong-password-123", None)
            .await
            .expect(401, Some("invalid_credentials"));
    }
    let fifth = t.login(&resident.email, "wrong-password-123", None).await;
    fifth.expect(423, Some("account_locked"));
    let retry: u64 = fifth
        .headers
        .get(header::RETRY_AFTER)
        .expect("Retry-After on 423")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        (29 * 60..=30 * 60).contains(&retry),
        "locked for about 30 minutes, got {retry} s"
    );

    // Even the right password is refused while the lock holds.
    let right = t.login(&resident.email, PASSWORD, None).await;
    right.expect(423, Some("account_locked"));
    assert!(right.headers.contains_key(header::RETRY_AFTER));

    // Existing sessions keep working; the lock is about new logins.
    t.get("/api/v1/me", Some(&resident.token))
        .await
        .expect(200, None);
    t.stop().await;
}

#[tokio::test]
async fn login_works_again_after_the_lock_expires() {
    common::announce("login_works_again_after_the_lock_expires");
    let t = TestApp::start().await;
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

    // Thirty minutes pass.
    let past = ts(Utc::now() - Duration::minutes(1));
    let n = exec(
        &t,
        "UPDATE users SET locked_until = $1 WHERE id = $2",
        &[past, resident.id.clone()],
    )
    .await;
    assert_eq!(n, 1);

    let r = t.login(&resident.email, PASSWORD, None).await;
    r.expect(200, None);
    t.get("/api/v1/me", r.body["token"].as_str())
        .await
        .expect(200, None);

    // The count started again: one more failure does not lock.
    t.login(&resident.email, "wrong-password-123", None)
        .await
        .expect(401, Some("invalid_credentials"));
    t.login(&resident.email, PASSWORD, None)
        .await
        .expect(200, None);
    t.stop().await;
}

// ---------------------------------------------------------------- session lifetimes

#[tokio::test]
async fn staff_session_ends_after_thirty_idle_minutes() {
    common::announce("staff_session_ends_after_thirty_idle_minutes");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    t.get("/api/v1/me", Some(&admin.token))
        .await
        .expect(200, None);

    // Thirty-one minutes without a request (the service's clock moves; the session, just
    // read, is even in the server's one-second session cache).
    t.app().advance_clock(Duration::minutes(31));
    t.get("/api/v1/me", Some(&admin.token))
        .await
        .expect(401, Some("unauthenticated"));
    t.stop().await;
}

#[tokio::test]
async fn staff_session_ends_at_its_absolute_expiry() {
    common::announce("staff_session_ends_at_its_absolute_expiry");
    let t = TestApp::start().await;
    let agency = t.agency("Riverton Police Department").await;
    let inv = t.account(Role::Investigator, Some(&agency)).await;

    // Fresh staff sessions last 12 hours at most.
    let (_, expires, created) = session_times(&t, &inv.token).await;
    let lifetime = parse(&expires) - parse(&created);
    assert_eq!(lifetime, Duration::hours(12), "{created} .. {expires}");

    // Busy (seen just now) but past its absolute end.
    let now = ts(Utc::now());
    let ended = ts(Utc::now() - Duration::seconds(1));
    let n = exec(
        &t,
        "UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3",
        &[now, ended, canvass::app::auth::token_hash(&inv.token)],
    )
    .await;
    assert_eq!(n, 1);
    t.get("/api/v1/me", Some(&inv.token))
        .await
        .expect(401, Some("unauthenticated"));
    t.stop().await;
}

#[tokio::test]
async fn resident_session_survives_idle_time_and_lasts_thirty_days() {
    common::announce("resident_session_survives_idle_time_and_lasts_thirty_days");
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;
    let before = Utc::now();
    let r = t.login(&resident.email, PASSWORD, None).await;
    let after = Utc::now();
    r.expect(200, None);
    let token = r.body["token"].as_str().unwrap().to_owned();

    let (_, expires, _) = session_times(&t, &token).await;
    let expires = parse(&expires);
    assert!(
        expires >= before + Duration::days(30) - Duration::seconds(1)
            && expires <= after + Duration::days(30) + Duration::seconds(1),
        "a resident session ends 30 days after login, got {expires}"
    );
    // The cookie lasts as long as the session.
    let cookie = session_cookie(&r);
    let max_age: i64 = cookie_attributes(&cookie)
        .iter()
        .find_map(|a| a.strip_prefix("max-age=").map(|v| v.parse().unwrap()))
        .expect("Max-Age");
    assert!(
        (30 * 86_400 - 5..=30 * 86_400).contains(&max_age),
        "{cookie}"
    );

    let idle = ts(Utc::now() - Duration::minutes(31));
    exec(
        &t,
        "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
        &[idle, canvass::app::auth::token_hash(&token)],
    )
    .await;
    t.get("/api/v1/me", Some(&token)).await.expect(200, None);
    // Using it moved last_seen_at forward again.
    let (seen, _, _) = session_times(&t, &token).await;
    assert!(Utc::now() - parse(&seen) < Duration::minutes(1), "{seen}");
    t.stop().await;
}

// ---------------------------------------------------------------- the second factor

#[tokio::test]
async fn staff_without_mfa_must_enroll_before_using_the_api() {
    common::announce("staff_without_mfa_must_enroll_before_using_the_api");
    let t = TestApp::start().await;
    let email = staff_without_mfa(&t, Role::Moderator, None).await;

    let r = t.login(&email, PASSWORD, None).await;
    r.expect(200, None);
    assert_eq!(r.body["mfa_enrollment_required"], true, "{}", r.text);
    assert_eq!(r.body["user"]["role"], "moderator");
    let token = r.body["token"].as_str().unwrap().to_owned();

    // That token serves only enrollment.
    t.get("/api/v1/me", Some(&token))
        .await
        .expect(403, Some("mfa_enrollment_required"));
    t.get("/api/v1/agencies", Some(&token))
        .await
        .expect(403, Some("mfa_enrollment_required"));

    let e = t
        .call("POST", "/api/v1/me/mfa/enroll", Some(&token), None)
        .await;
    e.expect(200, None);
    let secret = e.body["secret"].as_str().expect("secret").to_owned();
    let uri = e.body["otpauth_uri"].as_str().expect("otpauth_uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&secret), "{uri}");

    // A wrong code does not confirm.
    t.post(
        "/api/v1/me/mfa/confirm",
        Some(&token),
        json!({"totp": wrong_code(&secret)}),
    )
    .await
    .expect(401, Some("invalid_totp"));
    t.get("/api/v1/me", Some(&token))
        .await
        .expect(403, Some("mfa_enrollment_required"));

    let c = t
        .post(
            "/api/v1/me/mfa/confirm",
            Some(&token),
            json!({"totp": TestApp::totp_now(&secret)}),
        )
        .await;
    c.expect(200, None);
    assert_eq!(c.body["mfa_enabled"], true);

    // From now on login needs a code.
    t.login(&email, PASSWORD, None)
        .await
        .expect(401, Some("mfa_required"));
    t.login(&email, PASSWORD, Some(&wrong_code(&secret)))
        .await
        .expect(401, Some("invalid_totp"));
    let full = t.login(&email, PASSWORD, Some(&next_code(&secret))).await;
    full.expect(200, None);
    assert!(
        full.body.get("mfa_enrollment_required").is_none(),
        "{}",
        full.text
    );
    let me = t.get("/api/v1/me", full.body["token"].as_str()).await;
    me.expect(200, None);
    assert_eq!(me.body["role"], "moderator");
    t.stop().await;
}

#[tokio::test]
async fn a_totp_code_is_accepted_only_once() {
    common::announce("a_totp_code_is_accepted_only_once");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let secret = admin.totp_secret.clone().unwrap();

    let code = next_code(&secret);
    t.login(&admin.email, PASSWORD, Some(&code))
        .await
        .expect(200, None);
    t.login(&admin.email, PASSWORD, Some(&code))
        .await
        .expect(401, Some("invalid_totp"));
    t.stop().await;
}

#[tokio::test]
async fn residents_cannot_enroll_mfa() {
    common::announce("residents_cannot_enroll_mfa");
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;
    t.call("POST", "/api/v1/me/mfa/enroll", Some(&resident.token), None)
        .await
        .expect(403, Some("forbidden"));
    t.post(
        "/api/v1/me/mfa/confirm",
        Some(&resident.token),
        json!({"totp": "123456"}),
    )
    .await
    .expect(403, Some("forbidden"));
    t.stop().await;
}

#[tokio::test]
async fn staff_sign_in_with_password_alone_when_staff_mfa_is_off() {
    common::announce("staff_sign_in_with_password_alone_when_staff_mfa_is_off");
    let t = TestApp::start_with(|a| a.require_staff_mfa = Some("false".into())).await;
    let email = staff_without_mfa(&t, Role::Admin, None).await;
    let r = t.login(&email, PASSWORD, None).await;
    r.expect(200, None);
    assert!(
        r.body.get("mfa_enrollment_required").is_none(),
        "{}",
        r.text
    );
    let me = t.get("/api/v1/me", r.body["token"].as_str()).await;
    me.expect(200, None);
    assert_eq!(me.body["role"], "admin");

    // An account that has a confirmed second factor needs no code either.
    let moderator = t.account(Role::Moderator, None).await;
    t.login(&moderator.email, PASSWORD, None)
        .await
        .expect(200, None);
    t.stop().await;
}

// ---------------------------------------------------------------- resident sign-up

#[tokio::test]
async fn resident_sign_up_answers_201_and_the_resident_can_log_in() {
    common::announce("resident_sign_up_answers_201_and_the_resident_can_log_in");
    let t = TestApp::start().await;
    let email = t.email("newcomer");
    let r = t
        .post("/api/v1/residents", None, sign_up_body(&email))
        .await;
    r.expect(201, None);
    assert!(r.body["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(r.body["email"], email.as_str());
    assert_eq!(r.body["role"], "resident");
    assert_eq!(r.body["display_name"], "Rosa Park");
    assert!(r.body.get("password_hash").is_none() && !r.text.contains("argon2"));

    let login = t.login(&email, PASSWORD, None).await;
    login.expect(200, None);
    assert_eq!(login.body["user"]["id"], r.body["id"]);
    assert_eq!(login.body["user"]["role"], "resident");
    t.stop().await;
}

#[tokio::test]
async fn sign_up_with_a_taken_email_answers_409_in_any_case() {
    common::announce("sign_up_with_a_taken_email_answers_409_in_any_case");
    let t = TestApp::start().await;
    let email = t.email("twice");
    t.post("/api/v1/residents", None, sign_up_body(&email))
        .await
        .expect(201, None);
    t.post("/api/v1/residents", None, sign_up_body(&email))
        .await
        .expect(409, Some("email_taken"));
    t.post(
        "/api/v1/residents",
        None,
        sign_up_body(&email.to_uppercase()),
    )
    .await
    .expect(409, Some("email_taken"));
    t.post(
        "/api/v1/residents",
        None,
        sign_up_body(&format!("  {}  ", email.replace("twice", "TWICE"))),
    )
    .await
    .expect(409, Some("email_taken"));
    // Staff emails are taken too.
    let staff = t.account(Role::Moderator, None).await;
    t.post("/api/v1/residents", None, sign_up_body(&staff.email))
        .await
        .expect(409, Some("email_taken"));
    t.stop().await;
}

#[tokio::test]
async fn invalid_sign_up_names_every_bad_field_in_one_answer() {
    common::announce("invalid_sign_up_names_every_bad_field_in_one_answer");
    let t = TestApp::start().await;

    // Several bad fields at once: each is named in the one answer.
    let r = t
        .post(
            "/api/v1/residents",
            None,
            json!({
                "email": "not-an-email",
                "password": "short1",
                "display_name": "Rosa Park",
                "home_address": "1200 Elm St, Riverton, OR 97214",
                "home_location": {"lat": 200.0, "lon": -122.66}
            }),
        )
        .await;
    r.expect(422, Some("invalid_input"));
    let details = r.body["error"]["details"].as_object().unwrap();
    for field in ["email", "password", "home_location"] {
        assert!(
            details.get(field).is_some(),
            "details name {field}: {}",
            r.text
        );
    }
    assert!(
        details.get("display_name").is_none() && details.get("home_address").is_none(),
        "only the bad fields are named: {}",
        r.text
    );
    assert!(
        r.text.contains("200"),
        "the value given is named: {}",
        r.text
    );

    // A common password.
    let mut body = sign_up_body(&t.email("common"));
    body["password"] = json!("password1");
    let r = t.post("/api/v1/residents", None, body).await;
    r.expect(422, Some("invalid_input"));
    assert!(
        r.body["error"]["details"].get("password").is_some(),
        "{}",
        r.text
    );

    // No home location, with a bad email in the same answer.
    let mut body = sign_up_body("also not an email");
    body.as_object_mut().unwrap().remove("home_location");
    let r = t.post("/api/v1/residents", None, body).await;
    r.expect(422, Some("invalid_input"));
    let details = r.body["error"]["details"].as_object().unwrap();
    assert!(details.get("home_location").is_some(), "{}", r.text);
    assert!(details.get("email").is_some(), "{}", r.text);

    // Nothing was created.
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(t.app().db.pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
    t.stop().await;
}

#[tokio::test]
async fn resident_sign_up_works_after_staff_accounts_were_created() {
    // Regression: on PostgreSQL a cached INSERT first prepared for staff (no home, NULL
    // floats) was reused for a resident's home and failed with 500.
    common::announce("resident_sign_up_works_after_staff_accounts_were_created");
    let t = TestApp::start().await;
    let hash = canvass::domain::password::hash(PASSWORD).unwrap();
    for _ in 0..8 {
        let email = t.email("moderator");
        t.app()
            .db
            .insert_user(
                &NewUser {
                    email: &email,
                    password_hash: &hash,
                    role: Role::Moderator,
                    agency_id: None,
                    display_name: None,
                    home_address: None,
                    home: None,
                },
                Utc::now(),
            )
            .await
            .unwrap();
    }
    for _ in 0..4 {
        t.post("/api/v1/residents", None, sign_up_body(&t.email("r")))
            .await
            .expect(201, None);
        t.account(Role::Admin, None).await;
    }
    t.stop().await;
}

// ---------------------------------------------------------------- rate limits

#[tokio::test]
async fn fourth_login_in_a_minute_is_rate_limited() {
    common::announce("fourth_login_in_a_minute_is_rate_limited");
    let t = TestApp::start_with(|a| a.login_rate_per_minute = Some("3".into())).await;
    let email = t.email("resident");
    t.post("/api/v1/residents", None, sign_up_body(&email))
        .await
        .expect(201, None);

    t.login(&email, PASSWORD, None).await.expect(200, None);
    t.login(&email, "wrong-password-123", None)
        .await
        .expect(401, Some("invalid_credentials"));
    t.login("nobody@test.example", PASSWORD, None)
        .await
        .expect(401, Some("invalid_credentials"));
    let fourth = t.login(&email, PASSWORD, None).await;
    fourth.expect(429, Some("rate_limited"));
    let retry: u64 = fourth
        .headers
        .get(header::RETRY_AFTER)
        .expect("Retry-After on 429")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    t.stop().await;
}

/// Logs in as `email` through a proxy that says the client is `forwarded_for`; the status.
async fn login_forwarded(t: &TestApp, email: &str, forwarded_for: &str) -> u16 {
    t.client
        .post(format!("{}/api/v1/auth/login", t.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_limited_and_logged_as_itself() {
    common::announce(
        "behind_a_trusted_proxy_each_forwarded_client_is_limited_and_logged_as_itself",
    );
    // The tests' client is the proxy, at 127.0.0.1.
    let t = TestApp::start_with(|a| {
        a.login_rate_per_minute = Some("2".into());
        a.trusted_proxies = Some("127.0.0.1, 10.0.0.0/8".into());
    })
    .await;
    let email = t.email("resident");
    t.post("/api/v1/residents", None, sign_up_body(&email))
        .await
        .expect(201, None);
    // Client A, through a second proxy (10.1.2.3), with a made-up address on the left.
    let a = "6.6.6.6, 198.51.100.1, 10.1.2.3";
    assert_eq!(login_forwarded(&t, &email, a).await, 200);
    assert_eq!(login_forwarded(&t, &email, a).await, 200);
    assert_eq!(login_forwarded(&t, &email, a).await, 429, "A's third login");
    // Client B has a limit of its own.
    assert_eq!(login_forwarded(&t, &email, "203.0.113.50").await, 200);

    // The audit log says where each login came from.
    let admin = t.account(Role::Admin, None).await;
    let log = t.get("/api/v1/audit?limit=200", Some(&admin.token)).await;
    log.expect(200, None);
    let from: Vec<&str> = log
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_email"] == email.as_str())
        .filter(|e| e["action"].as_str().is_some_and(|a| a.contains("login")))
        .filter_map(|e| e["source_ip"].as_str())
        .collect();
    assert!(from.contains(&"198.51.100.1"), "{from:?}");
    assert!(from.contains(&"203.0.113.50"), "{from:?}");
    assert!(
        !from.iter().any(|ip| *ip == "6.6.6.6" || *ip == "127.0.0.1"),
        "{from:?}"
    );
    t.stop().await;
}

#[tokio::test]
async fn without_trusted_proxies_x_forwarded_for_changes_nothing() {
    common::announce("without_trusted_proxies_x_forwarded_for_changes_nothing");
    let t = TestApp::start_with(|a| a.login_rate_per_minute = Some("2".into())).await;
    let email = t.email("resident");
    t.post("/api/v1/residents", None, sign_up_body(&email))
        .await
        .expect(201, None);
    // A client cannot escape its limit by naming another address.
    assert_eq!(login_forwarded(&t, &email, "198.51.100.1").await, 200);
    assert_eq!(login_forwarded(&t, &email, "198.51.100.2").await, 200);
    assert_eq!(login_forwarded(&t, &email, "198.51.100.3").await, 429);
    t.stop().await;
}

#[tokio::test]
async fn third_sign_up_in_an_hour_is_rate_limited() {
    common::announce("third_sign_up_in_an_hour_is_rate_limited");
    let t = TestApp::start_with(|a| a.signup_rate_per_hour = Some("2".into())).await;
    for _ in 0..2 {
        t.post("/api/v1/residents", None, sign_up_body(&t.email("r")))
            .await
            .expect(201, None);
    }
    let third = t
        .post("/api/v1/residents", None, sign_up_body(&t.email("r")))
        .await;
    third.expect(429, Some("rate_limited"));
    let retry: u64 = third
        .headers
        .get(header::RETRY_AFTER)
        .expect("Retry-After on 429")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=3600).contains(&retry), "{retry}");
    // Logins are limited separately.
    let resident = t.account(Role::Resident, None).await;
    t.get("/api/v1/me", Some(&resident.token))
        .await
        .expect(200, None);
    t.stop().await;
}
