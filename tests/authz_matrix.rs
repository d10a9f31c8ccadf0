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
//! - a published community request (one per agency with its area holding the residents' homes,
//!   and one of the own agency away from them) is seen by the residents whose home lies in its
//!   area, its agency's members, moderators and admins; everyone else gets 404 `not_found`; of
//!   those who see it, only residents and the agency's members may comment (moderators and
//!   admins get 403 `forbidden` on the POST);
//! - the resident's own routes (feed, settings, push subscriptions, cameras, uploads,
//!   recordings, what they shared) serve residents only (403 `forbidden` for other roles);
//! - a resident's camera, recording or unfinished upload (in each cell a fresh one) is its
//!   owner's alone: another resident's answers 404 `not_found`, as if it did not exist, like an
//!   unknown id;
//! - tus calls carry `Tus-Resumable: 1.0.0` (and a PATCH its bytes as
//!   `application/offset+octet-stream` at `Upload-Offset`); tus discovery (`OPTIONS
//!   /api/v1/uploads`) is open; a HEAD answer has no body, so only its status is compared;
//! - "choose videos to share" and sharing serve residents only (403 `forbidden` for other roles,
//!   whatever the id); a resident who cannot see the published request (home outside its area,
//!   or no such id) gets 404 `not_found`; each share that must succeed sends a fresh recording
//!   of the resident's, from a camera inside the area during the footage wanted (a recording is
//!   shared once);
//! - a request's submissions and export, and its evidence (details, bytes, chain of custody),
//!   are its agency's alone: its investigators and agency admin; to everyone else (another
//!   agency's members, residents, moderators, admins) it does not exist: 404 `not_found`, with
//!   no role check first (nothing tells a role it is not served);
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
    /// Residents only (403 for other roles, before the request is looked up); of them, those who
    /// can see the published request named (404 for the others).
    SharingResidents,
    /// The agency of the request or evidence named, its investigators and agency admins alone;
    /// to everyone else (another agency's members, residents, moderators, admins) it does not
    /// exist (404).
    RequestAgency,
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
    /// A published community request: the own agency's or another agency's whose area holds
    /// the residents' homes, the own agency's away from them, or no such id.
    Published,
    /// A resident's camera (in each cell a fresh one): the resident's own, another resident's,
    /// or no such id.
    Camera,
    /// A resident's recording (in each cell a fresh one): the resident's own, another
    /// resident's, or no such id.
    Recording,
    /// A resident's unfinished tus upload (in each cell a fresh one): the resident's own,
    /// another resident's, or no such id.
    Upload,
    /// A clip a resident shared with a published request: the own agency's, another agency's,
    /// or no such id.
    Evidence,
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

/// Which agency (or, for a resident's own objects, which resident) a scoped route names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tenant {
    Unscoped,
    /// The own agency's object, or the resident's own.
    Own,
    /// Another agency's object, or another resident's.
    Other,
    /// A published request of the own agency whose area does not hold the residents' homes.
    Away,
    /// An id that names nothing.
    Missing,
}

impl Scope {
    /// The tenants a scoped route is called with.
    fn tenants(self) -> &'static [Tenant] {
        match self {
            Scope::None => &[Tenant::Unscoped],
            Scope::Agency => &[Tenant::Own, Tenant::Other],
            Scope::Published => &[Tenant::Own, Tenant::Other, Tenant::Away, Tenant::Missing],
            Scope::Request | Scope::Camera | Scope::Recording | Scope::Upload | Scope::Evidence => {
                &[Tenant::Own, Tenant::Other, Tenant::Missing]
            }
            Scope::Link | Scope::Token => &[Tenant::Own, Tenant::Missing],
        }
    }

    /// A resident's own object, which no one else may reach.
    fn is_residents(self) -> bool {
        matches!(self, Scope::Camera | Scope::Recording | Scope::Upload)
    }
}

/// What a cell needs to build its request.
struct Ctx<'a> {
    t: &'a TestApp,
    agency: String,
    member: String,
    login_email: String,
    totp: String,
    /// The resident's camera, inside the published requests' areas.
    camera: String,
    /// A recording of the resident, from that camera, during the footage wanted: for the
    /// resident's share a fresh one per cell (a recording is shared once), else a spare one.
    recording: String,
    /// A real video (tests/fixtures/porch-cam.mp4).
    video: &'a [u8],
}

/// A valid community request body, with a unique investigation code.
fn request_body(c: &Ctx) -> Option<Value> {
    Some(request_json(c.t))
}

/// A valid community request body over the residents' homes.
fn request_json(t: &TestApp) -> Value {
    request_json_in(t, OVER_HOMES)
}

/// A valid community request body over `ring`, with a unique investigation code.
fn request_json_in(t: &TestApp, ring: [[f64; 2]; 5]) -> Value {
    let end = (chrono::Utc::now() - chrono::Duration::hours(3)).format("%Y-%m-%dT%H:%M:%SZ");
    let start = (chrono::Utc::now() - chrono::Duration::hours(5)).format("%Y-%m-%dT%H:%M:%SZ");
    json!({
        "incident_type": "vehicle_break_in",
        "details": "A car window was smashed overnight. Footage of the street would help.",
        "footage_start": start.to_string(),
        "footage_end": end.to_string(),
        "investigator": {"name": "Det. A. Rivera", "phone": "+1-555-0100", "email": "arivera@pd.example"},
        "area": {"type": "Polygon", "coordinates": [ring]},
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
    /// A JSON body.
    body: fn(&Ctx) -> Option<Value>,
    /// Instead of JSON: extra headers and raw bytes (tus).
    raw: fn(&Ctx) -> Option<Raw>,
}

/// A request that is not JSON: its headers (besides authorization) and its bytes.
struct Raw {
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

fn no_raw(_: &Ctx) -> Option<Raw> {
    None
}

/// A tus call without bytes (HEAD, DELETE, discovery).
fn tus(_: &Ctx) -> Option<Raw> {
    Some(Raw {
        headers: vec![("Tus-Resumable", "1.0.0".to_owned())],
        body: None,
    })
}

/// A tus creation of an upload of the video from the resident's camera, without its bytes.
fn tus_create(c: &Ctx) -> Option<Raw> {
    Some(Raw {
        headers: vec![
            ("Tus-Resumable", "1.0.0".to_owned()),
            ("Upload-Length", c.video.len().to_string()),
            ("Upload-Metadata", clip_metadata(&c.camera)),
        ],
        body: None,
    })
}

/// A tus append of the video's first bytes to a fresh upload (it stays unfinished).
fn tus_patch(c: &Ctx) -> Option<Raw> {
    Some(Raw {
        headers: vec![
            ("Tus-Resumable", "1.0.0".to_owned()),
            ("Content-Type", "application/offset+octet-stream".to_owned()),
            ("Upload-Offset", "0".to_owned()),
        ],
        body: Some(c.video[..4096].to_vec()),
    })
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

/// Where the residents' cameras are: inside the published requests' areas.
const CAMERA_AT: (f64, f64) = (45.5155, -122.6595);
/// The area of the community requests, holding the residents' homes (at 45.515, -122.66).
const OVER_HOMES: [[f64; 2]; 5] = [
    [-122.665, 45.512],
    [-122.659, 45.512],
    [-122.659, 45.516],
    [-122.665, 45.516],
    [-122.665, 45.512],
];
/// The area of the published request away from the residents' homes.
const AWAY: [[f64; 2]; 5] = [
    [-122.685, 45.502],
    [-122.679, 45.502],
    [-122.679, 45.506],
    [-122.685, 45.506],
    [-122.685, 45.502],
];

fn camera_body(_: &Ctx) -> Option<Value> {
    Some(json!({"name": "Porch", "location": {"lat": CAMERA_AT.0, "lon": CAMERA_AT.1}}))
}

/// `Upload-Metadata` of a five-minute clip from `device` inside every published request's
/// footage timeframe (from five to three hours ago).
fn clip_metadata(device: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let ended = chrono::Utc::now() - chrono::Duration::minutes(265);
    let started = ended - chrono::Duration::minutes(5);
    let ts = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    format!(
        "device_id {},started_at {},ended_at {},filename {}",
        b64.encode(device),
        b64.encode(ts(started)),
        b64.encode(ts(ended)),
        b64.encode("porch-cam.mp4")
    )
}

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
            raw: no_raw,
            body: |c| Some(json!({"email": c.login_email, "password": PASSWORD})),
        },
        Route {
            method: "POST",
            path: "/api/v1/auth/logout",
            access: Access::SignedIn,
            scope: Scope::None,
            session: Session::Fresh,
            ok: 204,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/me/mfa/enroll",
            access: Access::Roles(STAFF),
            scope: Scope::None,
            session: Session::Enrollment,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/me/mfa/confirm",
            access: Access::Roles(STAFF),
            scope: Scope::None,
            session: Session::Enrollment,
            ok: 200,
            raw: no_raw,
            body: |c| Some(json!({"totp": c.totp})),
        },
        Route {
            method: "GET",
            path: "/api/v1/me",
            access: Access::SignedIn,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/residents",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            raw: no_raw,
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
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/agencies",
            access: Access::Roles(ADMIN),
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            raw: no_raw,
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
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "PATCH",
            path: "/api/v1/agencies/{id}",
            access: Access::Roles(ADMIN),
            scope: Scope::Agency,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: |_| Some(json!({"verified": true})),
        },
        Route {
            method: "GET",
            path: "/api/v1/agencies/{id}/members",
            access: Access::Roles(AGENCY_MANAGERS),
            scope: Scope::Agency,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/agencies/{id}/members",
            access: Access::Roles(AGENCY_MANAGERS),
            scope: Scope::Agency,
            session: Session::Main,
            ok: 201,
            raw: no_raw,
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
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/moderators",
            access: Access::Roles(ADMIN),
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            raw: no_raw,
            body: |c| Some(json!({"email": c.t.email("moderator"), "password": PASSWORD})),
        },
        Route {
            method: "GET",
            path: "/api/v1/audit",
            access: Access::Roles(ADMIN),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/requests",
            access: Access::Roles(INVESTIGATOR),
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            raw: no_raw,
            body: request_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/requests",
            access: Access::Roles(STAFF),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/requests/{id}",
            access: Access::Viewers,
            scope: Scope::Request,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "PUT",
            path: "/api/v1/requests/{id}",
            access: Access::ViewersWithRoles(INVESTIGATOR),
            scope: Scope::Request,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: request_body,
        },
        Route {
            method: "DELETE",
            path: "/api/v1/requests/{id}",
            access: Access::ViewersWithRoles(INVESTIGATOR),
            scope: Scope::Request,
            session: Session::Main,
            ok: 204,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/requests/{id}/history",
            access: Access::Viewers,
            scope: Scope::Request,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/moderation/queue",
            access: Access::Roles(MODERATOR),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/moderation/requests/{id}/decision",
            access: Access::Roles(MODERATOR),
            scope: Scope::Request,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: |_| Some(json!({"decision": "approve"})),
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/checkpoint",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/key",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/entries/0",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/proof/inclusion/0?size=1",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/proof/consistency?from=1&to=1",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/transparency/report",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/feed",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/me/settings",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "PUT",
            path: "/api/v1/me/settings",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: |_| Some(json!({"community_requests": true, "push": true, "email": true})),
        },
        Route {
            method: "POST",
            path: "/api/v1/me/push-subscriptions",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            raw: no_raw,
            body: push_subscription,
        },
        Route {
            method: "GET",
            path: "/api/v1/push/key",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/requests/{id}/comments",
            access: Access::PublishedViewers(ALL_ROLES),
            scope: Scope::Published,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/requests/{id}/comments",
            access: Access::PublishedViewers(COMMENTERS),
            scope: Scope::Published,
            session: Session::Main,
            ok: 201,
            raw: no_raw,
            body: |_| Some(json!({"body": "A grey van was parked on the block that evening."})),
        },
        Route {
            method: "GET",
            path: "/api/v1/requests/{id}/shareable-recordings",
            access: Access::SharingResidents,
            scope: Scope::Published,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/requests/{id}/submissions",
            access: Access::RequestAgency,
            scope: Scope::Published,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/requests/{id}/submissions",
            access: Access::SharingResidents,
            scope: Scope::Published,
            session: Session::Main,
            ok: 201,
            raw: no_raw,
            body: |c| Some(json!({"recording_ids": [c.recording], "consent": true})),
        },
        Route {
            method: "GET",
            path: "/api/v1/me/submissions",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/evidence/{id}",
            access: Access::RequestAgency,
            scope: Scope::Evidence,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/evidence/{id}/content",
            access: Access::RequestAgency,
            scope: Scope::Evidence,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/evidence/{id}/custody",
            access: Access::RequestAgency,
            scope: Scope::Evidence,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/requests/{id}/export",
            access: Access::RequestAgency,
            scope: Scope::Published,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/public/requests/{public_id}",
            access: Access::Open,
            scope: Scope::Link,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/r/{public_id}",
            access: Access::Open,
            scope: Scope::Link,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/unsubscribe/{token}",
            access: Access::Open,
            scope: Scope::Token,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/unsubscribe/{token}",
            access: Access::Open,
            scope: Scope::Token,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/devices",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            raw: no_raw,
            body: camera_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/devices",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/devices/{id}",
            access: Access::Roles(RESIDENT),
            scope: Scope::Camera,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "PATCH",
            path: "/api/v1/devices/{id}",
            access: Access::Roles(RESIDENT),
            scope: Scope::Camera,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: |_| Some(json!({"name": "Driveway"})),
        },
        Route {
            method: "DELETE",
            path: "/api/v1/devices/{id}",
            access: Access::Roles(RESIDENT),
            scope: Scope::Camera,
            session: Session::Main,
            ok: 204,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/devices/{id}/token",
            access: Access::Roles(RESIDENT),
            scope: Scope::Camera,
            session: Session::Main,
            ok: 201,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "DELETE",
            path: "/api/v1/devices/{id}/token",
            access: Access::Roles(RESIDENT),
            scope: Scope::Camera,
            session: Session::Main,
            ok: 204,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "OPTIONS",
            path: "/api/v1/uploads",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 204,
            raw: tus,
            body: no_body,
        },
        Route {
            method: "POST",
            path: "/api/v1/uploads",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 201,
            raw: tus_create,
            body: no_body,
        },
        Route {
            method: "HEAD",
            path: "/api/v1/uploads/{id}",
            access: Access::Roles(RESIDENT),
            scope: Scope::Upload,
            session: Session::Main,
            ok: 200,
            raw: tus,
            body: no_body,
        },
        Route {
            method: "PATCH",
            path: "/api/v1/uploads/{id}",
            access: Access::Roles(RESIDENT),
            scope: Scope::Upload,
            session: Session::Main,
            ok: 204,
            raw: tus_patch,
            body: no_body,
        },
        Route {
            method: "DELETE",
            path: "/api/v1/uploads/{id}",
            access: Access::Roles(RESIDENT),
            scope: Scope::Upload,
            session: Session::Main,
            ok: 204,
            raw: tus,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/recordings",
            access: Access::Roles(RESIDENT),
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/recordings/{id}",
            access: Access::Roles(RESIDENT),
            scope: Scope::Recording,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "DELETE",
            path: "/api/v1/recordings/{id}",
            access: Access::Roles(RESIDENT),
            scope: Scope::Recording,
            session: Session::Main,
            ok: 204,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/v1/recordings/{id}/content",
            access: Access::Roles(RESIDENT),
            scope: Scope::Recording,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/healthz",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/metrics",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
            body: no_body,
        },
        Route {
            method: "GET",
            path: "/api/openapi.json",
            access: Access::Open,
            scope: Scope::None,
            session: Session::Main,
            ok: 200,
            raw: no_raw,
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
    if let Access::SharingResidents = route.access {
        if role != Role::Resident {
            return (403, Some("forbidden"));
        }
        if !sees_published_request(role, tenant) {
            return (404, Some("not_found"));
        }
    }
    if let Access::RequestAgency = route.access
        && !(role.is_agency_member() && matches!(tenant, Tenant::Own | Tenant::Away))
    {
        return (404, Some("not_found"));
    }
    if tenant == Tenant::Other && (role.is_agency_member() || route.scope.is_residents()) {
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
        Tenant::Missing | Tenant::Unscoped | Tenant::Away => false,
        Tenant::Own | Tenant::Other => match role {
            Role::Admin | Role::Moderator => true,
            Role::AgencyAdmin | Role::Investigator => tenant == Tenant::Own,
            Role::Resident => false,
        },
    }
}

/// Who sees a published request: the residents whose home its area holds (all but `Away`),
/// its agency's members, moderators and admins.
fn sees_published_request(role: Role, tenant: Tenant) -> bool {
    match tenant {
        Tenant::Missing | Tenant::Unscoped => false,
        Tenant::Own | Tenant::Other | Tenant::Away => match role {
            Role::Admin | Role::Moderator => true,
            Role::Resident => tenant != Tenant::Away,
            Role::AgencyAdmin | Role::Investigator => tenant != Tenant::Other,
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

/// A camera of `resident`, inside the published requests' areas, registered over HTTP.
async fn camera(t: &TestApp, resident: &str) -> String {
    let r = t
        .post(
            "/api/v1/devices",
            Some(resident),
            json!({"name": "Porch", "location": {"lat": CAMERA_AT.0, "lon": CAMERA_AT.1}}),
        )
        .await;
    r.expect(201, None);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Creates a tus upload of `video` from `device` as `resident`, with all its bytes
/// (creation-with-upload: it becomes a recording) or none (it stays unfinished).
async fn create_upload(
    t: &TestApp,
    resident: &str,
    device: &str,
    video: &[u8],
    with_bytes: bool,
) -> common::Reply {
    let mut req = t
        .client
        .post(format!("{}/api/v1/uploads", t.base))
        .bearer_auth(resident)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", video.len().to_string())
        .header("Upload-Metadata", clip_metadata(device));
    if with_bytes {
        req = req
            .header("Content-Type", "application/offset+octet-stream")
            .body(video.to_vec());
    }
    let r = TestApp::reply(req.send().await.unwrap()).await;
    r.expect(201, None);
    r
}

/// An unfinished upload of `resident`'s from `device`; answers its id.
async fn upload(t: &TestApp, resident: &str, device: &str, video: &[u8]) -> String {
    let r = create_upload(t, resident, device, video, false).await;
    let location = r.headers["location"].to_str().unwrap();
    location.rsplit('/').next().unwrap().to_owned()
}

/// A recording of `resident`'s from `device`, uploaded whole over tus; answers its id.
async fn recording(t: &TestApp, resident: &str, device: &str, video: &[u8]) -> String {
    let r = create_upload(t, resident, device, video, true).await;
    r.headers["canvass-recording-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Shares `recording` with `request` as `resident`; answers the clip's evidence id.
async fn share(t: &TestApp, resident: &str, request: &str, recording: &str) -> String {
    let r = t
        .post(
            &format!("/api/v1/requests/{request}/submissions"),
            Some(resident),
            json!({"recording_ids": [recording], "consent": true}),
        )
        .await;
    r.expect(201, None);
    r.body["items"][0]["evidence_id"]
        .as_str()
        .unwrap()
        .to_owned()
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
    // And one of the own agency away from the residents' homes.
    let away = {
        let r = t
            .post(
                "/api/v1/requests",
                Some(&own_author),
                request_json_in(&t, AWAY),
            )
            .await;
        r.expect(201, None);
        let id = r.body["id"].as_str().unwrap().to_owned();
        t.post(
            &format!("/api/v1/moderation/requests/{id}/decision"),
            main[&Caller::Moderator].as_deref(),
            json!({"decision": "approve"}),
        )
        .await
        .expect(200, None);
        id
    };
    // The resident's camera and a spare recording (never shared); a neighbour with a camera,
    // who shares a clip with each agency's published request (the evidence routes).
    let video = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/porch-cam.mp4"
    ))
    .unwrap();
    let resident = main[&Caller::Resident].clone().unwrap();
    let resident_camera = camera(&t, &resident).await;
    let spare_recording = recording(&t, &resident, &resident_camera, &video).await;
    let neighbour = t.account(Role::Resident, None).await.token;
    let neighbour_camera = camera(&t, &neighbour).await;
    let mut evidence = Vec::new();
    for (request, _) in &published {
        let rec = recording(&t, &neighbour, &neighbour_camera, &video).await;
        evidence.push(share(&t, &neighbour, request, &rec).await);
    }
    let unsubscribe_url = canvass::jobs::delivery::unsubscribe_url(t.app(), &login_id);
    let unsubscribe_token = unsubscribe_url.rsplit('/').next().unwrap().to_owned();
    // The enrollment sessions, and the secret each one's enroll cell answered.
    let mut enrollment: HashMap<Caller, (Option<String>, String)> = HashMap::new();

    let routes = routes();
    let mut rows: Vec<(String, Vec<Cell>)> = Vec::new();
    for route in &routes {
        for &tenant in route.scope.tenants() {
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
                // The resident's share needs a recording never shared before.
                let recording_to_share = if route.method == "POST"
                    && route.path.ends_with("/submissions")
                    && caller == Caller::Resident
                {
                    recording(&t, &resident, &resident_camera, &video).await
                } else {
                    spare_recording.clone()
                };
                let ctx = Ctx {
                    t: &t,
                    agency: agency.clone(),
                    member,
                    login_email: login_email.clone(),
                    totp,
                    camera: resident_camera.clone(),
                    recording: recording_to_share,
                    video: &video,
                };
                // A fresh request pending review (camera, recording, upload) per cell, as the
                // cell may change it.
                let object = match (route.scope, tenant) {
                    (Scope::Request, Tenant::Own) => pending_request(&t, &own_author).await,
                    (Scope::Request, Tenant::Other) => pending_request(&t, &other_author).await,
                    (Scope::Published, Tenant::Own) => published[0].0.clone(),
                    (Scope::Published, Tenant::Other) => published[1].0.clone(),
                    (Scope::Published, Tenant::Away) => away.clone(),
                    (Scope::Camera, Tenant::Own) => camera(&t, &resident).await,
                    (Scope::Camera, Tenant::Other) => camera(&t, &neighbour).await,
                    (Scope::Recording, Tenant::Own) => {
                        recording(&t, &resident, &resident_camera, &video).await
                    }
                    (Scope::Recording, Tenant::Other) => {
                        recording(&t, &neighbour, &neighbour_camera, &video).await
                    }
                    (Scope::Upload, Tenant::Own) => {
                        upload(&t, &resident, &resident_camera, &video).await
                    }
                    (Scope::Upload, Tenant::Other) => {
                        upload(&t, &neighbour, &neighbour_camera, &video).await
                    }
                    (Scope::Evidence, Tenant::Own) => evidence[0].clone(),
                    (Scope::Evidence, Tenant::Other) => evidence[1].clone(),
                    (Scope::Camera | Scope::Recording | Scope::Upload | Scope::Evidence, _) => {
                        format!("no-such-object-{}", uuid::Uuid::new_v4())
                    }
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
                let r = match (route.raw)(&ctx) {
                    Some(raw) => {
                        let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
                        let mut req = t.client.request(method, format!("{}{path}", t.base));
                        if let Some(token) = &token {
                            req = req.bearer_auth(token);
                        }
                        for (name, value) in raw.headers {
                            req = req.header(name, value);
                        }
                        if let Some(bytes) = raw.body {
                            req = req.body(bytes);
                        }
                        TestApp::reply(req.send().await.unwrap()).await
                    }
                    None => {
                        t.call(route.method, &path, token.as_deref(), (route.body)(&ctx))
                            .await
                    }
                };
                // A HEAD answer has no body: only its status can be compared.
                let head = route.method == "HEAD";
                let mut expected = expected(route, caller, tenant);
                if head {
                    assert!(r.text.is_empty(), "HEAD {path} answered a body: {}", r.text);
                    expected.1 = None;
                }
                if route.path.ends_with("/enroll")
                    && let Some(secret) = r.body["secret"].as_str()
                {
                    enrollment.get_mut(&caller).unwrap().1 = secret.to_owned();
                }
                let cell = Cell {
                    status: r.status.as_u16(),
                    code: r.code().to_owned(),
                    expected,
                };
                if r.status.as_u16() >= 400 && !head {
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
                Tenant::Own if route.scope.is_residents() => {
                    format!("{} {} (own)", route.method, route.path)
                }
                Tenant::Other if route.scope.is_residents() => {
                    format!("{} {} (another resident's)", route.method, route.path)
                }
                Tenant::Away => format!("{} {} (own agency, away)", route.method, route.path),
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
        "\n401 unauthenticated, 403 forbidden, 404 not_found (another agency's or resident's \
         object), 403 mfa = mfa_enrollment_required (HEAD answers have no body: status only).\n\
         Request routes name a fresh request pending review per cell (own agency's, another \
         agency's), or an unknown id; comment, sharing, submission and export routes name a \
         published request (own agency's or another agency's over the resident's home, the own \
         agency's away from it), or an unknown id; evidence routes a clip shared with the own \
         or another agency; camera, recording and upload routes a fresh one of the resident's \
         own or another resident's, or an unknown id; share and unsubscribe routes an issued id \
         or token, or one never issued.\nmfa_pending: an investigator whose session may only \
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
                .filter(|m| {
                    ["get", "post", "put", "patch", "delete", "head", "options"]
                        .contains(&m.as_str())
                })
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
    assert_eq!(
        rows.len(),
        routes
            .iter()
            .map(|r| r.scope.tenants().len())
            .sum::<usize>()
    );
    t.stop().await;
}
