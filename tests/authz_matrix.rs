#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The authorization matrix: every route in `web::routes()` × every kind of caller × (for
//! agency-scoped routes) the caller's own agency versus another agency. One test walks the
//! whole table against one server, prints it, and fails on every cell that differs.
//!
//! The rules the table encodes:
//! - open routes answer the same to everyone, signed in or not;
//! - anonymous callers get 401 `unauthenticated` everywhere else;
//! - a role the route does not serve gets 403 `forbidden` (role checks come first, so the
//!   answer does not depend on whose object is named);
//! - an agency member naming another agency's object gets 404 `not_found`, as if it did not
//!   exist; platform admins (and moderators, where they may read) see every agency;
//! - a community request (pending review, in each cell a fresh one) is seen by its agency's
//!   members, moderators and admins; everyone else gets 404 `not_found`, as if it did not exist,
//!   and on the routes that change it that comes before the role check (only then may an
//!   agency admin, moderator or admin who sees it get 403 `forbidden`); an unknown id is 404
//!   for whoever passes the role check;
//! - a published community request (one per agency, its area holding the resident's home) is
//!   seen by the residents whose home lies in its area, its agency's members, moderators and
//!   admins; everyone else gets 404 `not_found`; of those who see it, only residents and the
//!   agency's members may comment (moderators and admins get 403 `forbidden` on the POST);
//! - the resident's own routes (feed, settings, push subscriptions) serve residents only;
//! - share links (`/r/{public_id}`, `/api/v1/public/requests/{public_id}`) and unsubscribe links
//!   are open to everyone, signed in or not; an unknown share id or a token the server did not
//!   issue is 404 `not_found`;
//! - the transparency log and report are open to everyone;
//! - a staff session still waiting for second-factor enrollment serves only enrollment,
//!   confirmation and logout: 403 `mfa_enrollment_required` elsewhere.

mod common;

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use canvass::domain::Role;
use canvass::store::NewUser;
use common::{PASSWORD, TestApp};
use serde_json::{Value, json};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Caller {
    Anonymous,
    Resident,
    Investigator,
    AgencyAdmin,
    Moderator,
    Admin,
    /// An investigator of the own agency whose session may only enroll a second factor.
    MfaPending,
}

const CALLERS: [Caller; 7] = [
    Caller::Anonymous,
    Caller::Resident,
    Caller::Investigator,
    Caller::AgencyAdmin,
    Caller::Moderator,
    Caller::Admin,
    Caller::MfaPending,
];

impl Caller {
    fn role(self) -> Option<Role> {
        match self {
            Caller::Anonymous => None,
            Caller::Resident => Some(Role::Resident),
            Caller::Investigator | Caller::MfaPending => Some(Role::Investigator),
            Caller::AgencyAdmin => Some(Role::AgencyAdmin),
            Caller::Moderator => Some(Role::Moderator),
            Caller::Admin => Some(Role::Admin),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::MfaPending => "mfa_pending",
            other => other.role().unwrap().as_str(),
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone, signed in or not.
    Open,
    /// Any signed-in account.
    SignedIn,
    /// These roles only.
    Roles(&'static [Role]),
    /// Whoever can see the (pending) request named; to anyone else it does not exist (404).
    Viewers,
    /// Of those who can see the request (404 for the others), these roles only (403).
    ViewersWithRoles(&'static [Role]),
    /// Of those who can see the published request named (404 for the others), these roles
    /// only (403).
    PublishedViewers(&'static [Role]),
}

/// What the route's `{id}` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Nothing.
    None,
    /// An agency: the own one, or another.
    Agency,
    /// A community request pending review: the own agency's, another agency's, or no such id.
    Request,
    /// A published community request whose area holds the resident's home: the own agency's,
    /// another agency's, or no such id.
    Published,
    /// A published request's share id (`{public_id}`), or one that names nothing.
    Link,
    /// A resident's unsubscribe token (`{token}`), or one the server did not issue.
    Token,
}

/// Which session a cell uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Session {
    /// The caller's one session for the whole table.
    Main,
    /// A new session of the same kind, because the call ends it (logout).
    Fresh,
    /// For staff, a new session waiting for enrollment (the state these routes serve), the
    /// same one for enroll and then confirm; for others, the main session.
    Enrollment,
}

/// Which agency a scoped route names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tenant {
    Unscoped,
    Own,
    Other,
    /// An id that names nothing (request, share-link and token routes).
    Missing,
}

/// What a cell needs to build its request.
struct Ctx<'a> {
    t: &'a TestApp,
    agency: String,
    member: String,
    login_email: String,
    totp: String,
}

/// A valid community request body, with a unique investigation code.
fn request_body(c: &Ctx) -> Option<Value> {
    Some(request_json(c.t))
}

fn request_json(t: &TestApp) -> Value {
    let end = (chrono::Utc::now() - chrono::Duration::hours(3)).format("%Y-%m-%dT%H:%M:%SZ");
    let start = (chrono::Utc::now() - chrono::Duration::hours(5)).format("%Y-%m-%dT%H:%M:%SZ");
    json!({
        "incident_type": "vehicle_break_in",
        "details": "A car window was smashed overnight. Footage of the street would help.",
        "footage_start": start.to_string(),
        "footage_end": end.to_string(),
        "investigator": {"name": "Det. A. Rivera", "phone": "+1-555-0100", "email": "arivera@pd.example"},
        "area": {"type": "Polygon", "coordinates": [[[-122.665, 45.512], [-122.659, 45.512], [-122.659, 45.516], [-122.665, 45.516], [-122.665, 45.512]]]},
        "investigation_code": format!("AZ-{}", t.email("code").split('@').next().unwrap()),
        "ongoing_threat": false,
        "suspects": []
    })
}

struct Route {
    method: &'static str,
    path: &'static str,
    access: Access,
    scope: Scope,
    session: Session,
    ok: u16,
    body: fn(&Ctx) -> Option<Value>,
}

const STAFF: &[Role] = &[
    Role::Admin,
    Role::Moderator,
    Role::AgencyAdmin,
    Role::Investigator,
];
const AGENCY_READERS: &[Role] = STAFF;
const AGENCY_MANAGERS: &[Role] = &[Role::Admin, Role::AgencyAdmin];
const ADMIN: &[Role] = &[Role::Admin];
const INVESTIGATOR: &[Role] = &[Role::Investigator];
const MODERATOR: &[Role] = &[Role::Moderator];
const RESIDENT: &[Role] = &[Role::Resident];
const ALL_ROLES: &[Role] = &[
    Role::Resident,
    Role::Investigator,
    Role::AgencyAdmin,
    Role::Moderator,
    Role::Admin,
];
const COMMENTERS: &[Role] = &[Role::Resident, Role::Investigator, Role::AgencyAdmin];

/// A browser's PushSubscription JSON with a real P-256 key. The endpoint's host never
/// resolves, so nothing is ever delivered to it.
fn push_subscription(_: &Ctx) -> Option<Value> {
    use base64::Engine;
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let secret = loop {
        let mut bytes = [0_u8; 32];
        rand::fill(&mut bytes);
        if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
            break key;
        }
    };
    let mut auth = [0_u8; 16];
    rand::fill(&mut auth);
    Some(json!({
        "endpoint": "https://push.invalid/matrix/1",
        "expirationTime": null,
        "keys": {
            "p256dh": b64.encode(secret.public_key().to_encoded_point(false).as_bytes()),
            "auth": b64.encode(auth),
        },
    }))
}

fn no_body(_: &Ctx) -> Option<Value> {
    None
}

/// Every route in `web::routes()`, with a valid body.
fn routes() -> Vec<Route> {
    vec![
        Route {
            method: "POST",
            path: "/api/v1/auth/login",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: |c| Some(json!({"email": c.login_email, "password": PASSWORD})),
        },
        Route {
            method: "POST",
            path: "/api/v1/auth/logout",
            access: Access::SignedIn,
            scope: Scope::None,
            session: Session::Fresh,
            ok: 204,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/me/mfa/enroll",
            access: Access::Roles(STAFF),
            scope: Scope::None,
            session: Session::Enrollment,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/me/mfa/confirm",
            access: Access::Roles(STAFF),
            scope: Scope::None,
            session: Session::Enrollment,
            ok: 200,
            body: |c| Some(json!({"totp": c.totp})),
        },
        Route {
            method: "GET",
            path: "/api/v1/me",
            access: Access::SignedIn,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/residents",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            body: |c| {
                Some(json!({
                    "email": c.t.email("signup"),
                    "password": PASSWORD,
                    "display_name": "Sam Porter",
                    "home_address": "1200 Elm St, Riverton, OR 97214",
                    "home_location": {"lat": 45.515, "lon": -122.66}
                }))
            },
        },
        Route {
            method: "GET",
            path: "/api/v1/agencies",
            access: Access::Roles(AGENCY_READERS),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/agencies",
            access: Access::Roles(ADMIN),
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            body: |c| {
                Some(json!({
                    "name": format!("Agency {}", c.t.email("agency")),
                    "kind": "fire",
                    "jurisdiction": common::riverton(),
                    "verified": true,
                    "evidence_enabled": true
                }))
            },
        },
        Route {
            method: "GET",
            path: "/api/v1/agencies/{id}",
            access: Access::Roles(AGENCY_READERS),
            scope: Scope::Agency,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "PATCH",
            path: "/api/v1/agencies/{id}",
            access: Access::Roles(ADMIN),
            scope: Scope::Agency,
            session: Session::Main,
            ok: 200,
            body: |_| Some(json!({"verified": true})),
        },
        Route {
            method: "GET",
            path: "/api/v1/agencies/{id}/members",
            access: Access::Roles(AGENCY_MANAGERS),
            scope: Scope::Agency,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/agencies/{id}/members",
            access: Access::Roles(AGENCY_MANAGERS),
            scope: Scope::Agency,
            session: Session::Main,
            ok: 201,
            body: |c| {
                Some(
                    json!({"email": c.t.email("member"), "password": PASSWORD, "role": "investigator"}),
                )
            },
        },
        Route {
            method: "DELETE",
            path: "/api/v1/agencies/{id}/members/{user_id}",
            access: Access::Roles(AGENCY_MANAGERS),
            scope: Scope::Agency,
            session: Session::Main,
            ok: 204,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/moderators",
            access: Access::Roles(ADMIN),
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            body: |c| Some(json!({"email": c.t.email("moderator"), "password": PASSWORD})),
        },
        Route {
            method: "GET",
            path: "/api/v1/audit",
            access: Access::Roles(ADMIN),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/requests",
            access: Access::Roles(INVESTIGATOR),
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            body: request_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/requests",
            access: Access::Roles(STAFF),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/requests/{id}",
            access: Access::Viewers,
            scope: Scope::Request,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "PUT",
            path: "/api/v1/requests/{id}",
            access: Access::ViewersWithRoles(INVESTIGATOR),
            scope: Scope::Request,
            session: Session::Main,
            ok: 200,
            body: request_body,
        },
        Route {
            method: "DELETE",
            path: "/api/v1/requests/{id}",
            access: Access::ViewersWithRoles(INVESTIGATOR),
            scope: Scope::Request,
            session: Session::Main,
            ok: 204,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/requests/{id}/history",
            access: Access::Viewers,
            scope: Scope::Request,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/moderation/queue",
            access: Access::Roles(MODERATOR),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/moderation/requests/{id}/decision",
            access: Access::Roles(MODERATOR),
            scope: Scope::Request,
            session: Session::Main,
            ok: 200,
            body: |_| Some(json!({"decision": "approve"})),
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/checkpoint",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/key",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/entries/0",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/proof/inclusion/0?size=1",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/proof/consistency?from=1&to=1",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/report",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/feed",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/me/settings",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "PUT",
            path: "/api/v1/me/settings",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: |_| Some(json!({"community_requests": true, "push": true, "email": true})),
        },
        Route {
            method: "POST",
            path: "/api/v1/me/push-subscriptions",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            body: push_subscription,
        },
        Route {
            method: "GET",
            path: "/api/v1/push/key",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/requests/{id}/comments",
            access: Access::PublishedViewers(ALL_ROLES),
            scope: Scope::Published,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/requests/{id}/comments",
            access: Access::PublishedViewers(COMMENTERS),
            scope: Scope::Published,
            session: Session::Main,
            ok: 201,
            body: |_| Some(json!({"body": "A grey van was parked on the block that evening."})),
        },
        Route {
            method: "GET",
            path: "/api/v1/public/requests/{public_id}",
            access: Access::Open,
            scope: Scope::Link,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/r/{public_id}",
            access: Access::Open,
            scope: Scope::Link,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/unsubscribe/{token}",
            access: Access::Open,
            scope: Scope::Token,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/unsubscribe/{token}",
            access: Access::Open,
            scope: Scope::Token,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/healthz",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/metrics",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/openapi.json",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            body: no_body,
        },
    ]
}

/// The status and error code a cell must answer.
fn expected(route: &Route, caller: Caller, tenant: Tenant) -> (u16, Option<&'static str>) {
    if matches!(route.access, Access::Open) {
        if tenant == Tenant::Missing {
            return (404, Some("not_found"));
        }
        return (route.ok, None);
    }
    let Some(role) = caller.role() else {
        return (401, Some("unauthenticated"));
    };
    if caller == Caller::MfaPending && route.session == Session::Main {
        return (403, Some("mfa_enrollment_required"));
    }
    if let Access::Roles(roles) = route.access
        && !roles.contains(&role)
    {
        return (403, Some("forbidden"));
    }
    if matches!(route.access, Access::Viewers | Access::ViewersWithRoles(_))
        && !sees_pending_request(role, tenant)
    {
        return (404, Some("not_found"));
    }
    if let Access::ViewersWithRoles(roles) = route.access
        && !roles.contains(&role)
    {
        return (403, Some("forbidden"));
    }
    if let Access::PublishedViewers(roles) = route.access {
        if !sees_published_request(role, tenant) {
            return (404, Some("not_found"));
        }
        if !roles.contains(&role) {
            return (403, Some("forbidden"));
        }
    }
    if tenant == Tenant::Other && role.is_agency_member() {
        return (404, Some("not_found"));
    }
    if tenant == Tenant::Missing {
        return (404, Some("not_found"));
    }
    (route.ok, None)
}

/// A table path as the OpenAPI document writes it: no query, `{index}` for a number.
fn documented_path(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    path.split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                "{index}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Who sees a request pending review: its agency's members, moderators and admins.
fn sees_pending_request(role: Role, tenant: Tenant) -> bool {
    match tenant {
        Tenant::Missing | Tenant::Unscoped => false,
        Tenant::Own | Tenant::Other => match role {
            Role::Admin | Role::Moderator => true,
            Role::AgencyAdmin | Role::Investigator => tenant == Tenant::Own,
            Role::Resident => false,
        },
    }
}

/// Who sees a published request whose area holds the resident's home: that resident, its
/// agency's members, moderators and admins.
fn sees_published_request(role: Role, tenant: Tenant) -> bool {
    match tenant {
        Tenant::Missing | Tenant::Unscoped => false,
        Tenant::Own | Tenant::Other => match role {
            Role::Admin | Role::Moderator | Role::Resident => true,
            Role::AgencyAdmin | Role::Investigator => tenant == Tenant::Own,
        },
    }
}

/// A fresh request pending review, created by `investigator` over HTTP.
async fn pending_request(t: &TestApp, investigator: &str) -> String {
    let r = t
        .post("/api/v1/requests", Some(investigator), request_json(t))
        .await;
    r.expect(201, None);
    r.body["id"].as_str().unwrap().to_owned()
}

/// An account inserted straight in the database, not signed in.
async fn insert_account(
    t: &TestApp,
    hash: &str,
    role: Role,
    agency: Option<&str>,
) -> (String, String) {
    let email = t.email(&format!("{}-", role.as_str()));
    let home = (role == Role::Resident).then_some((45.515, -122.66));
    let user = t
        .app()
        .db
        .insert_user(
            &NewUser {
                email: &email,
                password_hash: hash,
                role,
                agency_id: agency,
                display_name: Some("Matrix Person"),
                home_address: home.map(|_| "1200 Elm St, Riverton, OR 97214"),
                home,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    (user.id, email)
}

/// A staff session waiting for second-factor enrollment (no second factor set up yet).
async fn pending_session(t: &TestApp, hash: &str, role: Role, agency: Option<&str>) -> String {
    let (_, email) = insert_account(t, hash, role, agency).await;
    let r = t.login(&email, PASSWORD, None).await;
    r.expect(200, None);
    assert_eq!(r.body["mfa_enrollment_required"], true, "{}", r.text);
    r.body["token"].as_str().unwrap().to_owned()
}

struct Cell {
    status: u16,
    code: String,
    expected: (u16, Option<&'static str>),
}

impl Cell {
    fn ok(&self) -> bool {
        self.status == self.expected.0 && self.expected.1.is_none_or(|c| c == self.code)
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_matrix_says() {
    common::announce("every_route_answers_every_caller_as_the_matrix_says");
    let t = TestApp::start().await;
    let own = t.agency("Riverton Police Department").await;
    let other = t.agency("Eastside Police Department").await;
    let hash = canvass::domain::password::hash(PASSWORD).unwrap();
    let agency_of = |role: Role| role.is_agency_member().then_some(own.as_str());

    // One main session per caller.
    let mut main: HashMap<Caller, Option<String>> = HashMap::new();
    for caller in CALLERS {
        let token = match (caller, caller.role()) {
            (Caller::MfaPending, Some(role)) => {
                Some(pending_session(&t, &hash, role, agency_of(role)).await)
            }
            (_, Some(role)) => Some(t.account(role, agency_of(role)).await.token),
            (_, None) => None,
        };
        main.insert(caller, token);
    }
    let (login_id, login_email) = insert_account(&t, &hash, Role::Resident, None).await;
    // Request authors in each agency, and one published request, so the log has an entry.
    let own_author = main[&Caller::Investigator].clone().unwrap();
    let other_author = t.account(Role::Investigator, Some(&other)).await.token;
    // One published request per agency, both over the residents' homes (comment routes).
    let mut published = Vec::new();
    for author in [&own_author, &other_author] {
        let id = pending_request(&t, author).await;
        let r = t
            .post(
                &format!("/api/v1/moderation/requests/{id}/decision"),
                main[&Caller::Moderator].as_deref(),
                json!({"decision": "approve"}),
            )
            .await;
        r.expect(200, None);
        published.push((id, r.body["public_id"].as_str().unwrap().to_owned()));
    }
    let unsubscribe_url = canvass::jobs::delivery::unsubscribe_url(t.app(), &login_id);
    let unsubscribe_token = unsubscribe_url.rsplit('/').next().unwrap().to_owned();
    // The enrollment sessions, and the secret each one's enroll cell answered.
    let mut enrollment: HashMap<Caller, (Option<String>, String)> = HashMap::new();

    let routes = routes();
    let mut rows: Vec<(String, Vec<Cell>)> = Vec::new();
    for route in &routes {
        let tenants: &[Tenant] = match route.scope {
            Scope::None => &[Tenant::Unscoped],
            Scope::Agency => &[Tenant::Own, Tenant::Other],
            Scope::Request | Scope::Published => &[Tenant::Own, Tenant::Other, Tenant::Missing],
            Scope::Link | Scope::Token => &[Tenant::Own, Tenant::Missing],
        };
        for &tenant in tenants {
            let agency = if tenant == Tenant::Other {
                &other
            } else {
                &own
            };
            let mut cells = Vec::new();
            for caller in CALLERS {
                let token = match (route.session, caller.role()) {
                    (_, None) => None,
                    (Session::Main, _) => main[&caller].clone(),
                    (Session::Fresh, Some(role)) => Some(if caller == Caller::MfaPending {
                        pending_session(&t, &hash, role, agency_of(role)).await
                    } else {
                        t.account(role, agency_of(role)).await.token
                    }),
                    (Session::Enrollment, Some(role)) => {
                        if let Entry::Vacant(slot) = enrollment.entry(caller) {
                            let token = if role.is_staff() {
                                pending_session(&t, &hash, role, agency_of(role)).await
                            } else {
                                main[&caller].clone().unwrap()
                            };
                            slot.insert((Some(token), String::new()));
                        }
                        enrollment[&caller].0.clone()
                    }
                };
                // A fresh member to remove, in the agency the cell names.
                let member = if route.path.contains("{user_id}") {
                    insert_account(&t, &hash, Role::Investigator, Some(agency))
                        .await
                        .0
                } else {
                    String::new()
                };
                let totp = enrollment
                    .get(&caller)
                    .map(|(_, secret)| secret.as_str())
                    .filter(|s| !s.is_empty())
                    .map_or_else(|| "000000".to_owned(), TestApp::totp_now);
                let ctx = Ctx {
                    t: &t,
                    agency: agency.clone(),
                    member,
                    login_email: login_email.clone(),
                    totp,
                };
                // A fresh request pending review per cell, as the cell may change it.
                let object = match (route.scope, tenant) {
                    (Scope::Request, Tenant::Own) => pending_request(&t, &own_author).await,
                    (Scope::Request, Tenant::Other) => pending_request(&t, &other_author).await,
                    (Scope::Published, Tenant::Own) => published[0].0.clone(),
                    (Scope::Published, Tenant::Other) => published[1].0.clone(),
                    (Scope::Link, Tenant::Own) => published[0].1.clone(),
                    (Scope::Token, Tenant::Own) => unsubscribe_token.clone(),
                    (Scope::Request | Scope::Published, _) => {
                        format!("no-such-request-{}", uuid::Uuid::new_v4())
                    }
                    (Scope::Link | Scope::Token, _) => {
                        format!("not-issued-{}", uuid::Uuid::new_v4().simple())
                    }
                    _ => ctx.agency.clone(),
                };
                let path = route
                    .path
                    .replace("{id}", &object)
                    .replace("{public_id}", &object)
                    .replace("{token}", &object)
                    .replace("{user_id}", &ctx.member);
                let r = t
                    .call(route.method, &path, token.as_deref(), (route.body)(&ctx))
                    .await;
                if route.path.ends_with("/enroll")
                    && let Some(secret) = r.body["secret"].as_str()
                {
                    enrollment.get_mut(&caller).unwrap().1 = secret.to_owned();
                }
                let cell = Cell {
                    status: r.status.as_u16(),
                    code: r.code().to_owned(),
                    expected: expected(route, caller, tenant),
                };
                if r.status.as_u16() >= 400 {
                    r.expect(r.status.as_u16(), Some(r.code()));
                }
                if !cell.ok() {
                    eprintln!(
                        "MISMATCH {} {path} as {}: {} (expected {:?})",
                        route.method,
                        caller.label(),
                        r.text,
                        cell.expected
                    );
                }
                cells.push(cell);
            }
            let label = match tenant {
                Tenant::Unscoped => format!("{} {}", route.method, route.path),
                Tenant::Missing if matches!(route.scope, Scope::Link | Scope::Token) => {
                    format!("{} {} (never issued)", route.method, route.path)
                }
                Tenant::Own if matches!(route.scope, Scope::Link | Scope::Token) => {
                    format!("{} {} (issued)", route.method, route.path)
                }
                Tenant::Own => format!("{} {} (own agency)", route.method, route.path),
                Tenant::Other => format!("{} {} (other agency)", route.method, route.path),
                Tenant::Missing => format!("{} {} (unknown id)", route.method, route.path),
            };
            rows.push((label, cells));
        }
    }

    // The table, as the server answered it; a mismatch shows as `got!=expected`.
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = format!("\n{:width$}", "route");
    for caller in CALLERS {
        out.push_str(&format!(" | {:>12}", caller.label()));
    }
    out.push('\n');
    out.push_str(&"-".repeat(width + CALLERS.len() * 15));
    out.push('\n');
    let mut mismatches = 0;
    for (label, cells) in &rows {
        out.push_str(&format!("{label:width$}"));
        for cell in cells {
            let text = if cell.ok() {
                match (cell.status, cell.code.as_str()) {
                    (s, "") => s.to_string(),
                    (s, "unauthenticated" | "forbidden" | "not_found") => s.to_string(),
                    (s, "mfa_enrollment_required") => format!("{s} mfa"),
                    (s, code) => format!("{s} {code}"),
                }
            } else {
                mismatches += 1;
                format!("{}!={}", cell.status, cell.expected.0)
            };
            out.push_str(&format!(" | {text:>12}"));
        }
        out.push('\n');
    }
    out.push_str(
        "\n401 unauthenticated, 403 forbidden, 404 not_found (another agency's object), \
         403 mfa = mfa_enrollment_required.\nRequest routes name a fresh request pending review \
         per cell (own agency's, another agency's), or an unknown id; comment routes name a \
         published request over the resident's home (own agency's, another agency's), or an \
         unknown id; share and unsubscribe routes an issued id or token, or one never issued.\nmfa_pending: an investigator whose session may only \
         enroll a second factor. Logout uses a fresh session per caller; enroll and confirm use, \
         for staff, a fresh session waiting for enrollment.\n",
    );
    eprintln!("{out}");
    assert_eq!(
        mismatches, 0,
        "cells differ from the matrix: see the table above"
    );
    // The table covers every route the server documents, and nothing else.
    let doc = t.get("/api/openapi.json", None).await;
    let documented: BTreeSet<String> = doc.body["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let tested: BTreeSet<String> = routes
        .iter()
        .map(|r| format!("{} {}", r.method, documented_path(r.path)))
        .collect();
    assert_eq!(
        tested, documented,
        "the matrix's routes differ from the OpenAPI document's"
    );
    let tenants = |r: &Route| match r.scope {
        Scope::None => 1,
        Scope::Agency | Scope::Link | Scope::Token => 2,
        Scope::Request | Scope::Published => 3,
    };
    assert_eq!(rows.len(), routes.iter().map(tenants).sum::<usize>());
    t.stop().await;
}
