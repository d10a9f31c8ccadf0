#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Agencies and their members: created by platform admins, managed by agency admins, and
//! invisible (404) across tenants.

mod common;

use canvass::domain::Role;
use common::{PASSWORD, Reply, TestApp};
use serde_json::{Value, json};

#[track_caller]
fn assert_invalid(r: &Reply, field: &str) {
    r.expect(422, Some("invalid_input"));
    let problems = &r.body["error"]["details"][field];
    assert!(
        problems
            .as_array()
            .is_some_and(|p| !p.is_empty() && p.iter().all(Value::is_string)),
        "details.{field} should list the problems: {}",
        r.text
    );
}

fn agency_body(name: &str, jurisdiction: Value) -> Value {
    json!({
        "name": name,
        "kind": "law_enforcement",
        "jurisdiction": jurisdiction,
        "verified": false,
        "evidence_enabled": false
    })
}

fn polygon(ring: Value) -> Value {
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// A second jurisdiction, east of Riverton.
fn eastside() -> Value {
    polygon(json!([
        [-122.60, 45.50],
        [-122.55, 45.50],
        [-122.55, 45.53],
        [-122.60, 45.53],
        [-122.60, 45.50]
    ]))
}

/// Signs in a staff account created over the API, the way a new staff member does: a first
/// login that may only enroll, enrollment and confirmation with a code, then a login with the
/// next code. Answers the bearer token.
async fn first_sign_in(t: &TestApp, email: &str) -> String {
    let r = t.login(email, PASSWORD, None).await;
    r.expect(200, None);
    assert_eq!(r.body["mfa_enrollment_required"], true, "{}", r.text);
    let limited = r.body["token"].as_str().unwrap().to_owned();
    let enroll = t
        .post("/api/v1/me/mfa/enroll", Some(&limited), json!({}))
        .await;
    enroll.expect(200, None);
    let secret = enroll.body["secret"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().timestamp() as u64;
    let code = canvass::domain::mfa::code_at(&secret, now).unwrap();
    t.post(
        "/api/v1/me/mfa/confirm",
        Some(&limited),
        json!({"totp": code}),
    )
    .await
    .expect(200, None);
    // The next step's code (accepted with one step of skew): each code is accepted once.
    let next = canvass::domain::mfa::code_at(&secret, now + 30).unwrap();
    let r = t.login(email, PASSWORD, Some(&next)).await;
    r.expect(200, None);
    r.body["token"].as_str().unwrap().to_owned()
}

async fn create_agency(t: &TestApp, admin: &str, name: &str, jurisdiction: Value) -> String {
    let r = t
        .post(
            "/api/v1/agencies",
            Some(admin),
            agency_body(name, jurisdiction),
        )
        .await;
    r.expect(201, None);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn add_member(t: &TestApp, token: &str, agency: &str, role: &str) -> Reply {
    t.post(
        &format!("/api/v1/agencies/{agency}/members"),
        Some(token),
        json!({"email": t.email(role), "password": PASSWORD, "role": role, "display_name": "Det. Test"}),
    )
    .await
}

#[tokio::test]
async fn admin_creates_an_agency_and_gets_201_with_its_fields() {
    common::announce("admin_creates_an_agency_and_gets_201_with_its_fields");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let r = t
        .post(
            "/api/v1/agencies",
            Some(&admin.token),
            agency_body("  Riverton Police Department ", common::riverton()),
        )
        .await;
    r.expect(201, None);
    let id = r.body["id"].as_str().expect("id is a string");
    assert!(!id.is_empty());
    assert_eq!(
        r.body["name"], "Riverton Police Department",
        "name is trimmed"
    );
    assert_eq!(r.body["kind"], "law_enforcement");
    assert_eq!(r.body["jurisdiction"], common::riverton());
    assert_eq!(r.body["verified"], false);
    assert_eq!(r.body["evidence_enabled"], false);
    assert!(r.body["created_at"].is_string());

    // The same agency reads back, and is listed.
    let got = t
        .get(&format!("/api/v1/agencies/{id}"), Some(&admin.token))
        .await;
    got.expect(200, None);
    assert_eq!(got.body, r.body);
    let list = t.get("/api/v1/agencies", Some(&admin.token)).await;
    list.expect(200, None);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["id"], id);

    // A fire department, verified and with evidence at once; the flags default to false.
    let mut fire = agency_body("Riverton Fire", eastside());
    fire["kind"] = json!("fire");
    fire["verified"] = json!(true);
    fire["evidence_enabled"] = json!(true);
    let r = t.post("/api/v1/agencies", Some(&admin.token), fire).await;
    r.expect(201, None);
    assert_eq!(r.body["kind"], "fire");
    assert_eq!(r.body["verified"], true);
    assert_eq!(r.body["evidence_enabled"], true);
    let r = t
        .post(
            "/api/v1/agencies",
            Some(&admin.token),
            json!({"name": "Defaults", "kind": "fire", "jurisdiction": eastside()}),
        )
        .await;
    r.expect(201, None);
    assert_eq!(r.body["verified"], false);
    assert_eq!(r.body["evidence_enabled"], false);
    t.stop().await;
}

#[tokio::test]
async fn invalid_jurisdictions_answer_422_naming_jurisdiction_and_multipolygon_is_accepted() {
    common::announce(
        "invalid_jurisdictions_answer_422_naming_jurisdiction_and_multipolygon_is_accepted",
    );
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let cases = [
        ("a string, not GeoJSON", json!("Riverton city limits")),
        ("an object that is not GeoJSON", json!({"city": "Riverton"})),
        ("a Polygon without coordinates", json!({"type": "Polygon"})),
        ("null", Value::Null),
        (
            "a Point",
            json!({"type": "Point", "coordinates": [-122.66, 45.515]}),
        ),
        (
            "a LineString",
            json!({"type": "LineString", "coordinates": [[-122.69, 45.50], [-122.63, 45.53]]}),
        ),
        (
            "an open ring",
            polygon(json!([
                [-122.69, 45.50],
                [-122.63, 45.50],
                [-122.63, 45.53],
                [-122.69, 45.53]
            ])),
        ),
        (
            "fewer than 4 positions",
            polygon(json!([
                [-122.69, 45.50],
                [-122.63, 45.50],
                [-122.69, 45.50]
            ])),
        ),
        (
            "longitude 200",
            polygon(json!([
                [-122.69, 45.50],
                [200.0, 45.50],
                [-122.63, 45.53],
                [-122.69, 45.50]
            ])),
        ),
        (
            "latitude 100",
            polygon(json!([
                [-122.69, 45.50],
                [-122.63, 100.0],
                [-122.63, 45.53],
                [-122.69, 45.50]
            ])),
        ),
        (
            "latitude and longitude swapped",
            polygon(json!([
                [45.50, -122.69],
                [45.50, -122.63],
                [45.53, -122.63],
                [45.50, -122.69]
            ])),
        ),
        (
            "a self-intersecting bowtie",
            polygon(json!([
                [-122.69, 45.50],
                [-122.63, 45.53],
                [-122.63, 45.50],
                [-122.69, 45.53],
                [-122.69, 45.50]
            ])),
        ),
        (
            "an empty MultiPolygon",
            json!({"type": "MultiPolygon", "coordinates": []}),
        ),
    ];
    for (what, jurisdiction) in cases {
        let r = t
            .post(
                "/api/v1/agencies",
                Some(&admin.token),
                agency_body("Riverton Police Department", jurisdiction),
            )
            .await;
        assert_eq!(r.status.as_u16(), 422, "{what}: {}", r.text);
        assert_invalid(&r, "jurisdiction");
    }
    // Nothing was created by the refused attempts.
    let list = t.get("/api/v1/agencies", Some(&admin.token)).await;
    assert_eq!(list.body, json!([]));

    let multi = json!({"type": "MultiPolygon", "coordinates": [
        common::riverton()["coordinates"].clone(),
        eastside()["coordinates"].clone()
    ]});
    let r = t
        .post(
            "/api/v1/agencies",
            Some(&admin.token),
            agency_body("Riverton Metro Police", multi.clone()),
        )
        .await;
    r.expect(201, None);
    assert_eq!(r.body["jurisdiction"], multi);
    t.stop().await;
}

#[tokio::test]
async fn unknown_kind_and_empty_name_answer_422_naming_the_field() {
    common::announce("unknown_kind_and_empty_name_answer_422_naming_the_field");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let create = |body: Value| t.post("/api/v1/agencies", Some(&admin.token), body);

    let mut body = agency_body("Riverton Police Department", common::riverton());
    body["kind"] = json!("militia");
    assert_invalid(&create(body).await, "kind");
    for name in ["", "   ", &"x".repeat(201)] {
        let body = agency_body(name, common::riverton());
        assert_invalid(&create(body).await, "name");
    }
    // Every field at fault is named in one answer.
    let r = create(json!({"name": "", "kind": "army", "jurisdiction": {"type": "Point", "coordinates": [0, 0]}})).await;
    for field in ["name", "kind", "jurisdiction"] {
        assert_invalid(&r, field);
    }
    // Missing fields are refused too.
    let r = create(json!({"name": "Riverton Police Department"})).await;
    r.expect(422, Some("invalid_input"));
    assert_eq!(
        t.get("/api/v1/agencies", Some(&admin.token)).await.body,
        json!([])
    );
    t.stop().await;
}

#[tokio::test]
async fn an_agency_keeps_its_time_zone_and_unknown_zones_answer_422() {
    common::announce("an_agency_keeps_its_time_zone_and_unknown_zones_answer_422");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;

    // Without one, the zone is UTC.
    let r = t
        .post(
            "/api/v1/agencies",
            Some(&admin.token),
            agency_body("Riverton Police Department", common::riverton()),
        )
        .await;
    r.expect(201, None);
    assert_eq!(r.body["time_zone"], "UTC");
    let path = format!("/api/v1/agencies/{}", r.body["id"].as_str().unwrap());

    let mut body = agency_body("Eastside Fire", eastside());
    body["time_zone"] = json!("Mars/Olympus_Mons");
    assert_invalid(
        &t.post("/api/v1/agencies", Some(&admin.token), body.clone())
            .await,
        "time_zone",
    );
    body["time_zone"] = json!("America/Los_Angeles");
    let r = t.post("/api/v1/agencies", Some(&admin.token), body).await;
    r.expect(201, None);
    assert_eq!(r.body["time_zone"], "America/Los_Angeles");

    // A change is checked the same way, and a bad one changes nothing.
    let bad = t
        .call(
            "PATCH",
            &path,
            Some(&admin.token),
            Some(json!({"time_zone": "Europe/Atlantis"})),
        )
        .await;
    assert_invalid(&bad, "time_zone");
    let r = t
        .call(
            "PATCH",
            &path,
            Some(&admin.token),
            Some(json!({"time_zone": "America/Chicago"})),
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body["time_zone"], "America/Chicago");
    assert_eq!(
        t.get(&path, Some(&admin.token)).await.body["time_zone"],
        "America/Chicago"
    );
    t.stop().await;
}

#[tokio::test]
async fn patch_verifies_and_enables_evidence_and_refuses_bad_changes() {
    common::announce("patch_verifies_and_enables_evidence_and_refuses_bad_changes");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let id = create_agency(&t, &admin.token, "Riverton PD", common::riverton()).await;
    let path = format!("/api/v1/agencies/{id}");

    let r = t
        .call(
            "PATCH",
            &path,
            Some(&admin.token),
            Some(json!({"verified": true, "evidence_enabled": true})),
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["verified"], true);
    assert_eq!(r.body["evidence_enabled"], true);
    assert_eq!(r.body["name"], "Riverton PD", "untouched fields stay");
    assert_eq!(r.body["jurisdiction"], common::riverton());
    let got = t.get(&path, Some(&admin.token)).await;
    assert_eq!(got.body["verified"], true);
    assert_eq!(got.body["evidence_enabled"], true);

    // Rename and redraw; the flags stay.
    let r = t
        .call(
            "PATCH",
            &path,
            Some(&admin.token),
            Some(json!({"name": "Riverton Police Department", "jurisdiction": eastside()})),
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body["name"], "Riverton Police Department");
    assert_eq!(r.body["jurisdiction"], eastside());
    assert_eq!(r.body["verified"], true);

    // An empty change changes nothing.
    let r = t
        .call("PATCH", &path, Some(&admin.token), Some(json!({})))
        .await;
    r.expect(200, None);
    assert_eq!(r.body["name"], "Riverton Police Department");

    // Bad changes are refused and leave the agency as it was.
    let bowtie = polygon(json!([
        [-122.69, 45.50],
        [-122.63, 45.53],
        [-122.63, 45.50],
        [-122.69, 45.53],
        [-122.69, 45.50]
    ]));
    for (body, field) in [
        (json!({"jurisdiction": bowtie}), "jurisdiction"),
        (
            json!({"jurisdiction": {"type": "Point", "coordinates": [0, 0]}}),
            "jurisdiction",
        ),
        (json!({"name": " ", "verified": false}), "name"),
    ] {
        let r = t.call("PATCH", &path, Some(&admin.token), Some(body)).await;
        assert_invalid(&r, field);
    }
    let r = t
        .call(
            "PATCH",
            &path,
            Some(&admin.token),
            Some(json!({"verified": "yes"})),
        )
        .await;
    r.expect(422, Some("invalid_input"));
    let got = t.get(&path, Some(&admin.token)).await;
    assert_eq!(got.body["jurisdiction"], eastside());
    assert_eq!(got.body["name"], "Riverton Police Department");
    assert_eq!(got.body["verified"], true);

    // Unknown ids answer 404, for reads and changes.
    let r = t
        .call(
            "PATCH",
            "/api/v1/agencies/no-such-agency",
            Some(&admin.token),
            Some(json!({"verified": true})),
        )
        .await;
    r.expect(404, Some("not_found"));
    let r = t
        .get("/api/v1/agencies/no-such-agency", Some(&admin.token))
        .await;
    r.expect(404, Some("not_found"));
    t.stop().await;
}

#[tokio::test]
async fn agency_admin_adds_lists_and_removes_members_and_removed_investigator_is_locked_out() {
    common::announce(
        "agency_admin_adds_lists_and_removes_members_and_removed_investigator_is_locked_out",
    );
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let agency = create_agency(&t, &admin.token, "Riverton PD", common::riverton()).await;
    let members = format!("/api/v1/agencies/{agency}/members");

    // The platform admin appoints the agency admin.
    let r = add_member(&t, &admin.token, &agency, "agency_admin").await;
    r.expect(201, None);
    assert_eq!(r.body["role"], "agency_admin");
    assert_eq!(r.body["agency_id"], agency.as_str());
    let chief_email = r.body["email"].as_str().unwrap().to_owned();
    let chief_id = r.body["id"].as_str().unwrap().to_owned();
    let chief = first_sign_in(&t, &chief_email).await;

    // The agency admin adds an investigator to their own agency.
    let email = t.email("Det.Rivera");
    let r = t
        .post(
            &members,
            Some(&chief),
            json!({"email": format!("  {}  ", email.to_uppercase()), "password": PASSWORD, "role": "investigator"}),
        )
        .await;
    r.expect(201, None);
    assert_eq!(r.body["role"], "investigator");
    assert_eq!(r.body["agency_id"], agency.as_str());
    assert_eq!(
        r.body["email"],
        email.to_lowercase(),
        "emails are normalised"
    );
    let investigator_id = r.body["id"].as_str().unwrap().to_owned();
    let investigator = first_sign_in(&t, &email.to_lowercase()).await;
    let me = t.get("/api/v1/me", Some(&investigator)).await;
    me.expect(200, None);
    assert_eq!(me.body["agency_id"], agency.as_str());

    // The list shows both, without secrets.
    let r = t.get(&members, Some(&chief)).await;
    r.expect(200, None);
    let listed: Vec<(&str, &str)> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            (chief_id.as_str(), "agency_admin"),
            (investigator_id.as_str(), "investigator")
        ]
    );
    for forbidden in ["password", "password_hash", "totp_secret", "home_address"] {
        assert!(!r.text.contains(forbidden), "member list shows {forbidden}");
    }
    // The platform admin sees the same list.
    let r = t.get(&members, Some(&admin.token)).await;
    r.expect(200, None);
    assert_eq!(r.body.as_array().unwrap().len(), 2);

    // An agency admin cannot remove themselves.
    let r = t
        .call(
            "DELETE",
            &format!("{members}/{chief_id}"),
            Some(&chief),
            None,
        )
        .await;
    r.expect(409, Some("cannot_remove_self"));

    // Removal: 204, the investigator's token stops working and login is refused.
    let r = t
        .call(
            "DELETE",
            &format!("{members}/{investigator_id}"),
            Some(&chief),
            None,
        )
        .await;
    r.expect(204, None);
    assert!(r.text.is_empty());
    t.get("/api/v1/me", Some(&investigator))
        .await
        .expect(401, Some("unauthenticated"));
    t.get("/api/v1/agencies", Some(&investigator))
        .await
        .expect(401, Some("unauthenticated"));
    t.login(&email.to_lowercase(), PASSWORD, None)
        .await
        .expect(401, Some("invalid_credentials"));
    // The removed member no longer shows in the list.
    let r = t.get(&members, Some(&chief)).await;
    r.expect(200, None);
    let ids: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [chief_id.as_str()], "removed members are not listed");
    // Unknown member ids answer 404.
    let r = t
        .call(
            "DELETE",
            &format!("{members}/no-such-user"),
            Some(&chief),
            None,
        )
        .await;
    r.expect(404, Some("not_found"));
    t.stop().await;
}

#[tokio::test]
async fn agency_admin_sees_another_agency_as_not_found() {
    common::announce("agency_admin_sees_another_agency_as_not_found");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let own = create_agency(&t, &admin.token, "Riverton PD", common::riverton()).await;
    let other = create_agency(&t, &admin.token, "Eastside PD", eastside()).await;
    let chief = t.account(Role::AgencyAdmin, Some(&own)).await;
    let other_investigator = add_member(&t, &admin.token, &other, "investigator").await;
    other_investigator.expect(201, None);
    let other_investigator_id = other_investigator.body["id"].as_str().unwrap().to_owned();

    let not_found = |r: Reply, what: &str| {
        assert_eq!(r.status.as_u16(), 404, "{what}: {}", r.text);
        r.expect(404, Some("not_found"));
    };
    not_found(
        add_member(&t, &chief.token, &other, "investigator").await,
        "add a member to another agency",
    );
    not_found(
        add_member(&t, &chief.token, &other, "admin").await,
        "add an admin to another agency",
    );
    not_found(
        t.get(
            &format!("/api/v1/agencies/{other}/members"),
            Some(&chief.token),
        )
        .await,
        "list another agency's members",
    );
    not_found(
        t.get(&format!("/api/v1/agencies/{other}"), Some(&chief.token))
            .await,
        "read another agency",
    );
    not_found(
        t.call(
            "DELETE",
            &format!("/api/v1/agencies/{other}/members/{other_investigator_id}"),
            Some(&chief.token),
            None,
        )
        .await,
        "remove another agency's member",
    );
    not_found(
        t.call(
            "DELETE",
            &format!("/api/v1/agencies/{own}/members/{other_investigator_id}"),
            Some(&chief.token),
            None,
        )
        .await,
        "remove another agency's member through one's own agency",
    );
    // The same answers for an agency that does not exist at all: nothing tells them apart.
    let missing = add_member(&t, &chief.token, "no-such-agency", "investigator").await;
    missing.expect(404, Some("not_found"));
    let hidden = add_member(&t, &chief.token, &other, "investigator").await;
    assert_eq!(missing.body, hidden.body);

    // Nothing changed in the other agency.
    let r = t
        .get(
            &format!("/api/v1/agencies/{other}/members"),
            Some(&admin.token),
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    t.get("/api/v1/agencies", Some(&admin.token))
        .await
        .expect(200, None);
    // Their own agency answers normally.
    t.get(&format!("/api/v1/agencies/{own}"), Some(&chief.token))
        .await
        .expect(200, None);
    t.stop().await;
}

#[tokio::test]
async fn member_roles_other_than_agency_roles_answer_422_and_duplicate_email_409() {
    common::announce("member_roles_other_than_agency_roles_answer_422_and_duplicate_email_409");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let agency = create_agency(&t, &admin.token, "Riverton PD", common::riverton()).await;
    let chief = t.account(Role::AgencyAdmin, Some(&agency)).await;
    for token in [&admin.token, &chief.token] {
        for role in ["admin", "resident", "moderator"] {
            assert_invalid(&add_member(&t, token, &agency, role).await, "role");
        }
        add_member(&t, token, &agency, "superuser")
            .await
            .expect(422, Some("invalid_input"));
    }
    let bad = t
        .post(
            &format!("/api/v1/agencies/{agency}/members"),
            Some(&admin.token),
            json!({"email": "not-an-email", "password": "short", "role": "investigator"}),
        )
        .await;
    assert_invalid(&bad, "email");
    assert_invalid(&bad, "password");

    // A taken email, whoever holds it and however it is written: 409 email_taken.
    let resident = t.account(Role::Resident, None).await;
    for email in [
        chief.email.clone(),
        chief.email.to_uppercase(),
        resident.email.clone(),
    ] {
        let r = t
            .post(
                &format!("/api/v1/agencies/{agency}/members"),
                Some(&chief.token),
                json!({"email": email, "password": PASSWORD, "role": "investigator"}),
            )
            .await;
        r.expect(409, Some("email_taken"));
    }
    let r = t
        .post(
            "/api/v1/moderators",
            Some(&admin.token),
            json!({"email": chief.email, "password": PASSWORD}),
        )
        .await;
    r.expect(409, Some("email_taken"));
    // Only the agency admin is a member still.
    let r = t
        .get(
            &format!("/api/v1/agencies/{agency}/members"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1, "{}", r.text);
    t.stop().await;
}

#[tokio::test]
async fn admin_creates_moderators_and_other_roles_get_403() {
    common::announce("admin_creates_moderators_and_other_roles_get_403");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let agency = t.agency("Riverton PD").await;
    let email = t.email("moderator");
    let r = t
        .post(
            "/api/v1/moderators",
            Some(&admin.token),
            json!({"email": email, "password": PASSWORD, "display_name": "Morgan Reyes"}),
        )
        .await;
    r.expect(201, None);
    assert_eq!(r.body["role"], "moderator");
    assert_eq!(r.body["email"], email.as_str());
    assert!(r.body.get("agency_id").is_none(), "{}", r.text);
    // The new moderator signs in and sees every agency.
    let moderator = first_sign_in(&t, &email).await;
    let me = t.get("/api/v1/me", Some(&moderator)).await;
    assert_eq!(me.body["role"], "moderator");
    let list = t.get("/api/v1/agencies", Some(&moderator)).await;
    list.expect(200, None);
    assert_eq!(list.body.as_array().unwrap().len(), 1);

    for role in [
        Role::AgencyAdmin,
        Role::Investigator,
        Role::Moderator,
        Role::Resident,
    ] {
        let agency_id = role.is_agency_member().then_some(agency.as_str());
        let who = t.account(role, agency_id).await;
        let r = t
            .post(
                "/api/v1/moderators",
                Some(&who.token),
                json!({"email": t.email("moderator"), "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 403, "{}: {}", role.as_str(), r.text);
        r.expect(403, Some("forbidden"));
    }
    let r = t
        .post(
            "/api/v1/moderators",
            Some(&admin.token),
            json!({"email": "nope", "password": PASSWORD}),
        )
        .await;
    assert_invalid(&r, "email");
    t.stop().await;
}

#[tokio::test]
async fn agency_members_list_only_their_own_agency() {
    common::announce("agency_members_list_only_their_own_agency");
    let t = TestApp::start().await;
    let admin = t.account(Role::Admin, None).await;
    let own = create_agency(&t, &admin.token, "Riverton PD", common::riverton()).await;
    let other = create_agency(&t, &admin.token, "Eastside PD", eastside()).await;
    let third = create_agency(&t, &admin.token, "Northside Fire", eastside()).await;
    let ids = |r: &Reply| -> Vec<String> {
        let mut ids: Vec<String> = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    for role in [Role::Investigator, Role::AgencyAdmin] {
        let who = t.account(role, Some(&own)).await;
        let r = t.get("/api/v1/agencies", Some(&who.token)).await;
        r.expect(200, None);
        assert_eq!(ids(&r), std::slice::from_ref(&own), "{}", role.as_str());
        assert_eq!(r.body[0]["name"], "Riverton PD");
        let r = t
            .get(&format!("/api/v1/agencies/{own}"), Some(&who.token))
            .await;
        r.expect(200, None);
        for hidden in [&other, &third] {
            t.get(&format!("/api/v1/agencies/{hidden}"), Some(&who.token))
                .await
                .expect(404, Some("not_found"));
        }
    }
    let mut all = vec![own.clone(), other.clone(), third.clone()];
    all.sort();
    for role in [Role::Admin, Role::Moderator] {
        let who = t.account(role, None).await;
        let r = t.get("/api/v1/agencies", Some(&who.token)).await;
        r.expect(200, None);
        assert_eq!(ids(&r), all, "{}", role.as_str());
    }
    let resident = t.account(Role::Resident, None).await;
    t.get("/api/v1/agencies", Some(&resident.token))
        .await
        .expect(403, Some("forbidden"));
    t.get(&format!("/api/v1/agencies/{own}"), Some(&resident.token))
        .await
        .expect(403, Some("forbidden"));
    // Only platform admins change agencies, even their own members' agency admin.
    let chief = t.account(Role::AgencyAdmin, Some(&own)).await;
    t.call(
        "PATCH",
        &format!("/api/v1/agencies/{own}"),
        Some(&chief.token),
        Some(json!({"verified": true})),
    )
    .await
    .expect(403, Some("forbidden"));
    t.stop().await;
}
