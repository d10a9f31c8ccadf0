//! Community requests: valid bodies and their areas, the staff who file and moderate them, and
//! the calls that create, decide and publish them.

use canvass::domain::Role;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{AGENCY, Reply, Session, TestApp, ts};

/// A GeoJSON rectangle from its west, south, east and north edges.
pub fn rect(w: f64, s: f64, e: f64, n: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
}

/// About 470 m by 440 m (0.08 square miles) holding [`HOME`](super::HOME) well inside.
pub fn home_area() -> Value {
    rect(-122.663, 45.513, -122.657, 45.517)
}

/// A request that meets every rule (and in which the pre-screen finds nothing) over `area`,
/// wanting the two hours of footage up to `end`.
pub fn request_at(code: &str, area: Value, end: DateTime<Utc>) -> Value {
    json!({
        "incident_type": "package_theft",
        "details": "A package was taken from a porch on the 400 block of Elm St. Doorbell or driveway footage of the street between these times would help.",
        "footage_start": ts(end - Duration::hours(2)),
        "footage_end": ts(end),
        "investigator": {"name": "Det. A. Rivera", "phone": "+1-555-0100", "email": "arivera@pd.example"},
        "area": area,
        "investigation_code": code,
        "ongoing_threat": false,
        "suspects": [{"descriptors": {"sex": "male", "age": "20s"}, "distinctive_features": ["red hooded jacket", "black BMX bicycle"]}]
    })
}

/// A request that meets every rule, whose area ([`home_area`]) holds the test residents' home
/// and whose footage ended two days ago.
pub fn valid_request(code: &str) -> Value {
    let end = Utc::now() - Duration::days(2);
    request_at(code, home_area(), end)
}

/// A verified agency with an investigator, and a moderator.
pub struct Staff {
    /// The agency's id.
    pub agency: String,
    pub investigator: Session,
    pub moderator: Session,
}

/// Creates [`AGENCY`] (verified, evidence enabled), one of its investigators, and a moderator,
/// in that order.
pub async fn staff(t: &TestApp) -> Staff {
    let agency = t.agency(AGENCY).await;
    let investigator = t.account(Role::Investigator, Some(&agency)).await;
    let moderator = t.account(Role::Moderator, None).await;
    Staff {
        agency,
        investigator,
        moderator,
    }
}

/// Creates a request as `investigator` (201 expected) and answers its id.
pub async fn create(t: &TestApp, investigator: &Session, body: Value) -> String {
    let r = t
        .post("/api/v1/requests", Some(&investigator.token), body)
        .await;
    r.expect(201, None);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Sends a moderation `decision` on request `id` as `moderator`; answers the reply as is.
pub async fn decide(t: &TestApp, moderator: &Session, id: &str, decision: Value) -> Reply {
    t.post(
        &format!("/api/v1/moderation/requests/{id}/decision"),
        Some(&moderator.token),
        decision,
    )
    .await
}

/// A decision that approves a request.
pub fn approval() -> Value {
    json!({"decision": "approve", "reasons": [], "note": "Meets the guidelines."})
}

/// Approves (publishes) pending request `id` (200 and `published` expected); answers the
/// published request.
pub async fn approve(t: &TestApp, moderator: &Session, id: &str) -> Value {
    let r = decide(t, moderator, id, approval()).await;
    r.expect(200, None);
    assert_eq!(r.body["status"], "published", "{}", r.text);
    r.body
}

/// Creates a request as `s.investigator` and has `s.moderator` publish it; answers
/// (id, public_id).
pub async fn publish(t: &TestApp, s: &Staff, body: Value) -> (String, String) {
    let id = create(t, &s.investigator, body).await;
    let published = approve(t, &s.moderator, &id).await;
    (id, published["public_id"].as_str().unwrap().to_owned())
}
