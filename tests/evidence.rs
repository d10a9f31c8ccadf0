#![allow(clippy::unwrap_used, clippy::expect_used)]
//! "Choose videos to share", submissions, the agency's evidence and its chain of custody,
//! against the real server with real uploads (tus), on SQLite or PostgreSQL.

mod common;

use canvass::domain::Role;
use chrono::{DateTime, Duration, Utc};
use common::evidence::{chain_of_custody, kinds};
use common::requests::{approve, create, home_area, request_at};
use common::tus::{camera, upload_fixture};
use common::{
    AGENCY, HOME, PASSWORD, Reply, Session, TestApp, count, files_under, fixture, sha256_hex,
};
use serde_json::{Value, json};

/// A camera inside the request's area.
const INSIDE: (f64, f64) = (45.5155, -122.6595);
/// A camera on the area's western edge (the boundary counts as inside).
const ON_EDGE: (f64, f64) = (45.514, -122.663);
/// A camera in Riverton well outside the request's area.
const OUTSIDE: (f64, f64) = (45.505, -122.68);

/// An agency with an investigator and an agency admin, a moderator and a published request
/// whose area holds `HOME`, with footage wanted from `start` to `end`.
struct World {
    t: TestApp,
    agency: String,
    investigator: Session,
    agency_admin: Session,
    moderator: Session,
    request_id: String,
    public_id: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl World {
    async fn new() -> World {
        let t = TestApp::start().await;
        let agency = t.agency(AGENCY).await;
        let investigator = t.account(Role::Investigator, Some(&agency)).await;
        let agency_admin = t.account(Role::AgencyAdmin, Some(&agency)).await;
        let moderator = t.account(Role::Moderator, None).await;
        let end = Utc::now() - Duration::days(2);
        let start = end - Duration::hours(2);
        let request_id = create(&t, &investigator, request_at("EV-1", home_area(), end)).await;
        let published = approve(&t, &moderator, &request_id).await;
        let public_id = published["public_id"].as_str().unwrap().to_owned();
        World {
            t,
            agency,
            investigator,
            agency_admin,
            moderator,
            request_id,
            public_id,
            start,
            end,
        }
    }

    /// A clip time inside the footage wanted.
    fn during(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.start + Duration::minutes(30),
            self.start + Duration::minutes(35),
        )
    }

    /// A resident with a camera inside the area and one overlapping clip from it.
    async fn sharer(&self, name: &str, address: &str) -> (Session, String) {
        let resident = self.t.resident_named(HOME.0, HOME.1, name, address).await;
        let (cam, _) = camera(&self.t, &resident, "Porch", INSIDE).await;
        let rec = upload_fixture(&self.t, &resident, &cam, "porch-cam.mp4", self.during()).await;
        (resident, rec)
    }

    async fn shareable(&self, who: &Session) -> Reply {
        self.t
            .get(
                &format!("/api/v1/requests/{}/shareable-recordings", self.request_id),
                Some(&who.token),
            )
            .await
    }

    async fn share(&self, who: &Session, body: Value) -> Reply {
        self.t
            .post(
                &format!("/api/v1/requests/{}/submissions", self.request_id),
                Some(&who.token),
                body,
            )
            .await
    }

    /// Shares `recordings` (201 expected); answers the created submission.
    async fn share_ok(&self, who: &Session, recordings: &[&str]) -> Value {
        let r = self
            .share(who, json!({"recording_ids": recordings, "consent": true}))
            .await;
        r.expect(201, None);
        r.body
    }

    /// Fetches a clip's bytes with optional extra headers.
    async fn content(
        &self,
        who: &Session,
        evidence_id: &str,
        query: &str,
        range: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self
            .t
            .client
            .get(format!(
                "{}/api/v1/evidence/{evidence_id}/content{query}",
                self.t.base
            ))
            .bearer_auth(&who.token);
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap().to_vec();
        (status, headers, body)
    }
}

fn ids_of(list: &Value, key: &str) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|r| r[key].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

// ---------------------------------------------------------------------------------------------
// Choose videos to share
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn shareable_list_holds_only_own_overlapping_recordings_from_cameras_inside_the_area() {
    common::announce(
        "shareable_list_holds_only_own_overlapping_recordings_from_cameras_inside_the_area",
    );
    let w = World::new().await;
    let me =
        w.t.resident_named(
            HOME.0,
            HOME.1,
            "Sam Porter",
            "1200 Elm St, Riverton, OR 97214",
        )
        .await;
    let (porch, _) = camera(&w.t, &me, "Porch", INSIDE).await;
    let (edge, _) = camera(&w.t, &me, "Side gate", ON_EDGE).await;
    let (far, _) = camera(&w.t, &me, "Cabin", OUTSIDE).await;
    let during = w.during();
    let overlapping = upload_fixture(&w.t, &me, &porch, "porch-cam.mp4", during).await;
    // Starts before the footage wanted and runs into it.
    let straddling = upload_fixture(
        &w.t,
        &me,
        &edge,
        "driveway-cam.mp4",
        (
            w.start - Duration::minutes(10),
            w.start + Duration::minutes(1),
        ),
    )
    .await;
    let too_late = upload_fixture(
        &w.t,
        &me,
        &porch,
        "driveway-cam.mp4",
        (w.end + Duration::minutes(5), w.end + Duration::minutes(10)),
    )
    .await;
    let too_early = upload_fixture(
        &w.t,
        &me,
        &porch,
        "driveway-cam.mp4",
        (
            w.start - Duration::minutes(20),
            w.start - Duration::minutes(1),
        ),
    )
    .await;
    let outside_area = upload_fixture(&w.t, &me, &far, "driveway-cam.mp4", during).await;
    let (_, someone_elses) = w.sharer("Alex Other", "1210 Elm St").await;

    let r = w.shareable(&me).await;
    r.expect(200, None);
    let mut want = vec![overlapping.clone(), straddling.clone()];
    want.sort();
    assert_eq!(ids_of(&r.body["recordings"], "id"), want, "{}", r.text);
    for absent in [&too_late, &too_early, &outside_area, &someone_elses] {
        assert!(
            !r.text.contains(absent.as_str()),
            "{absent} listed: {}",
            r.text
        );
    }
    let first = r.body["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == overlapping.as_str())
        .unwrap();
    assert_eq!(first["device_name"], "Porch");
    assert_eq!(first["sha256"], sha256_hex(&fixture("porch-cam.mp4")));
    assert_eq!(first["size"], fixture("porch-cam.mp4").len());
    assert_eq!(first["filename"], "porch-cam.mp4");
    assert_eq!(first["already_shared"], false);
    for key in ["started_at", "ended_at", "content_type", "duration_ms"] {
        assert!(first.get(key).is_some(), "{key} missing: {first}");
    }
    let notice = r.body["consent_notice"].as_str().unwrap();
    for needle in [AGENCY, "1200 Elm St, Riverton, OR 97214", me.email.as_str()] {
        assert!(notice.contains(needle), "{needle:?} not in {notice}");
    }
    assert!(
        r.body["response_window_closes_at"].is_string(),
        "{}",
        r.text
    );
    assert_eq!(r.body["open_for_responses"], true);

    // Shared recordings stay listed, marked.
    w.share_ok(&me, &[&overlapping]).await;
    let r = w.shareable(&me).await;
    let flags: Vec<(String, bool)> = r.body["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id"].as_str().unwrap().to_owned(),
                x["already_shared"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(flags.contains(&(overlapping.clone(), true)), "{flags:?}");
    assert!(flags.contains(&(straddling.clone(), false)), "{flags:?}");
    w.t.stop().await;
}

#[tokio::test]
async fn residents_outside_the_area_and_staff_cannot_share() {
    common::announce("residents_outside_the_area_and_staff_cannot_share");
    let w = World::new().await;
    let (_, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    // A resident whose home is elsewhere cannot see the request: 404 as if it did not exist.
    let away = w.t.resident_at(OUTSIDE.0, OUTSIDE.1).await;
    w.shareable(&away).await.expect(404, Some("not_found"));
    w.share(&away, json!({"recording_ids": [rec], "consent": true}))
        .await
        .expect(404, Some("not_found"));
    // An unknown request.
    let r =
        w.t.get(
            "/api/v1/requests/no-such-request/shareable-recordings",
            Some(&away.token),
        )
        .await;
    r.expect(404, Some("not_found"));
    // Sharing is for residents.
    for staff in [&w.investigator, &w.moderator] {
        w.shareable(staff).await.expect(403, Some("forbidden"));
        w.share(staff, json!({"recording_ids": [rec], "consent": true}))
            .await
            .expect(403, Some("forbidden"));
    }
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM submissions").await, 0);
    w.t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Sharing: the checks, in order
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sharing_needs_consent() {
    common::announce("sharing_needs_consent");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    for body in [
        json!({"recording_ids": [rec]}),
        json!({"recording_ids": [rec], "consent": false}),
        json!({"recording_ids": [rec], "consent": "yes"}),
        json!({"recording_ids": [rec], "consent": null}),
        // Consent comes before the selection is checked.
        json!({"recording_ids": []}),
    ] {
        let r = w.share(&me, body.clone()).await;
        r.expect(422, Some("consent_required"));
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains("home address and email"), "{msg}");
        assert!(msg.contains(AGENCY), "{msg}");
    }
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM evidence_items").await, 0);
    w.t.stop().await;
}

#[tokio::test]
async fn a_selection_must_be_one_to_twenty_distinct_recordings() {
    common::announce("a_selection_must_be_one_to_twenty_distinct_recordings");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    let many: Vec<String> = (0..21).map(|i| format!("r{i}")).collect();
    for ids in [
        json!([]),
        json!([rec, rec]),
        json!(many),
        json!("x"),
        json!(null),
    ] {
        let r = w
            .share(&me, json!({"recording_ids": ids, "consent": true}))
            .await;
        r.expect(422, Some("invalid_input"));
    }
    w.t.stop().await;
}

#[tokio::test]
async fn after_the_response_window_sharing_is_gone_but_the_request_stays_readable() {
    common::announce("after_the_response_window_sharing_is_gone_but_the_request_stays_readable");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    w.t.app().advance_clock(Duration::days(61));
    // The session has lived past a resident's 30 days: sign in again.
    let r = w.t.login(&me.email, PASSWORD, None).await;
    r.expect(200, None);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let me = Session { token, ..me };
    let r = w
        .share(&me, json!({"recording_ids": [rec], "consent": true}))
        .await;
    r.expect(410, Some("response_window_closed"));
    // The window is checked before consent.
    w.share(&me, json!({"recording_ids": [rec]}))
        .await
        .expect(410, Some("response_window_closed"));
    let r =
        w.t.get(
            &format!("/api/v1/requests/{}", w.request_id),
            Some(&me.token),
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body["open_for_responses"], false);
    let r = w.shareable(&me).await;
    r.expect(200, None);
    assert_eq!(r.body["open_for_responses"], false);
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM submissions").await, 0);
    w.t.stop().await;
}

#[tokio::test]
async fn sharing_twice_is_refused() {
    common::announce("sharing_twice_is_refused");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    w.share_ok(&me, &[&rec]).await;
    let r = w
        .share(&me, json!({"recording_ids": [rec], "consent": true}))
        .await;
    r.expect(409, Some("already_shared"));
    assert!(r.text.contains(&rec), "{}", r.text);
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM evidence_items").await, 1);
    w.t.stop().await;
}

#[tokio::test]
async fn a_concurrent_double_share_stores_one_copy() {
    common::announce("a_concurrent_double_share_stores_one_copy");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    let body = json!({"recording_ids": [rec], "consent": true});
    let (a, b) = tokio::join!(w.share(&me, body.clone()), w.share(&me, body.clone()));
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} / {}", a.text, b.text);
    let loser = if a.status.as_u16() == 409 { &a } else { &b };
    loser.expect(409, Some("already_shared"));
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM evidence_items").await, 1);
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM submissions").await, 1);
    // Only the recorded copy is left in the evidence store.
    let dir = std::path::PathBuf::from(
        w.t.app()
            .settings
            .blob_url
            .strip_prefix("file://")
            .unwrap()
            .to_owned(),
    )
    .join("evidence");
    let copies = files_under(&dir).len();
    assert_eq!(copies, 1, "evidence objects under {}", dir.display());
    w.t.stop().await;
}

#[tokio::test]
async fn another_residents_recording_answers_404() {
    common::announce("another_residents_recording_answers_404");
    let w = World::new().await;
    let (me, mine) = w.sharer("Sam Porter", "1200 Elm St").await;
    let (_, theirs) = w.sharer("Alex Other", "1210 Elm St").await;
    for ids in [
        json!([theirs]),
        json!([mine, theirs]),
        json!(["no-such-recording"]),
    ] {
        let r = w
            .share(&me, json!({"recording_ids": ids, "consent": true}))
            .await;
        r.expect(404, Some("not_found"));
    }
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM evidence_items").await, 0);
    w.t.stop().await;
}

#[tokio::test]
async fn an_ineligible_recording_is_refused_by_name() {
    common::announce("an_ineligible_recording_is_refused_by_name");
    let w = World::new().await;
    let (me, ok) = w.sharer("Sam Porter", "1200 Elm St").await;
    let (porch, _) = camera(&w.t, &me, "Porch 2", INSIDE).await;
    let (far, _) = camera(&w.t, &me, "Cabin", OUTSIDE).await;
    let late = upload_fixture(
        &w.t,
        &me,
        &porch,
        "driveway-cam.mp4",
        (w.end + Duration::minutes(5), w.end + Duration::minutes(10)),
    )
    .await;
    let away = upload_fixture(&w.t, &me, &far, "driveway-cam.mp4", w.during()).await;
    for (bad, why) in [
        (&late, "after the footage"),
        (&away, "outside the request's area"),
    ] {
        let r = w
            .share(&me, json!({"recording_ids": [ok, bad], "consent": true}))
            .await;
        r.expect(422, Some("recording_not_eligible"));
        let problem = r.body["error"]["details"]["recording_ids.1"][0]
            .as_str()
            .unwrap_or_else(|| panic!("no detail for the ineligible one: {}", r.text));
        assert!(problem.contains(bad.as_str()), "{problem}");
        assert!(problem.contains(why), "{problem}");
        assert!(
            r.body["error"]["details"].get("recording_ids.0").is_none(),
            "{}",
            r.text
        );
    }
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM evidence_items").await, 0);
    w.t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// What the agency receives
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_evidence_copy_matches_and_outlives_the_recording() {
    common::announce("the_evidence_copy_matches_and_outlives_the_recording");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    let bytes = fixture("porch-cam.mp4");
    let sha = sha256_hex(&bytes);
    let created = w.share_ok(&me, &[&rec]).await;
    assert_eq!(created["request_id"], w.request_id.as_str());
    let item = &created["items"][0];
    assert_eq!(item["recording_id"], rec.as_str());
    assert_eq!(item["sha256"], sha.as_str());
    assert_eq!(item["size"], bytes.len());
    assert!(item["received_at"].is_string());
    let evidence_id = item["evidence_id"].as_str().unwrap().to_owned();
    let receipt = &created["receipt"];
    assert_eq!(receipt["submission_id"], created["id"]);
    assert_eq!(receipt["agency_name"], AGENCY);
    assert_eq!(receipt["request_public_id"], w.public_id.as_str());
    assert_eq!(receipt["items"][0]["sha256"], sha.as_str());

    // The agency's own copy, kept under its evidence prefix.
    let copy = std::path::PathBuf::from(
        w.t.app()
            .settings
            .blob_url
            .strip_prefix("file://")
            .unwrap()
            .to_owned(),
    )
    .join("evidence")
    .join(&w.agency)
    .join(&evidence_id);
    assert_eq!(sha256_hex(&std::fs::read(&copy).unwrap()), sha);

    let (status, headers, body) = w.content(&w.investigator, &evidence_id, "", None).await;
    assert_eq!(status, 200);
    assert_eq!(sha256_hex(&body), sha);
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(headers["content-type"], "video/mp4");
    assert_eq!(headers["content-length"], bytes.len().to_string().as_str());

    // The resident deletes the recording; the agency's copy stays whole.
    let r =
        w.t.call(
            "DELETE",
            &format!("/api/v1/recordings/{rec}"),
            Some(&me.token),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r =
        w.t.get(&format!("/api/v1/recordings/{rec}"), Some(&me.token))
            .await;
    r.expect(404, Some("not_found"));
    let (status, _, body) = w
        .content(
            &w.investigator,
            &evidence_id,
            "?disposition=attachment",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(sha256_hex(&body), sha);
    let custody = chain_of_custody(&w.t, &w.investigator, &evidence_id).await;
    assert_eq!(custody["chain_valid"], true, "{custody}");
    w.t.stop().await;
}

#[tokio::test]
async fn the_agency_reviews_submissions_with_the_submitter_as_they_were() {
    common::announce("the_agency_reviews_submissions_with_the_submitter_as_they_were");
    let w = World::new().await;
    let (me, rec) = w
        .sharer("Sam Porter", "1200 Elm St, Riverton, OR 97214")
        .await;
    let (cam, _) = camera(&w.t, &me, "Driveway", INSIDE).await;
    let rec2 = upload_fixture(&w.t, &me, &cam, "driveway-cam.mp4", w.during()).await;
    let created = w.share_ok(&me, &[&rec, &rec2]).await;
    // Later changes to the account do not change what was shared.
    sqlx::query(
        "UPDATE users SET display_name = 'Renamed', home_address = 'Moved away' WHERE id = $1",
    )
    .bind(&me.id)
    .execute(w.t.app().db.pool())
    .await
    .unwrap();

    for reviewer in [&w.investigator, &w.agency_admin] {
        let r =
            w.t.get(
                &format!("/api/v1/requests/{}/submissions", w.request_id),
                Some(&reviewer.token),
            )
            .await;
        r.expect(200, None);
        let list = r.body.as_array().unwrap();
        assert_eq!(list.len(), 1, "{}", r.text);
        let s = &list[0];
        assert_eq!(s["id"], created["id"]);
        assert!(s["created_at"].is_string());
        assert_eq!(
            s["submitter"],
            json!({"display_name": "Sam Porter", "home_address": "1200 Elm St, Riverton, OR 97214", "email": me.email})
        );
        let items = s["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let porch = items
            .iter()
            .find(|i| i["filename"] == "porch-cam.mp4")
            .unwrap();
        assert_eq!(porch["sha256"], sha256_hex(&fixture("porch-cam.mp4")));
        assert_eq!(porch["size"], fixture("porch-cam.mp4").len());
        assert_eq!(porch["content_type"], "video/mp4");
        assert_eq!(porch["device"]["name"], "Porch");
        assert_eq!(porch["device"]["lat"], INSIDE.0);
        assert_eq!(porch["device"]["lon"], INSIDE.1);
        for key in ["evidence_id", "started_at", "ended_at", "duration_ms"] {
            assert!(porch.get(key).is_some(), "{key} missing: {porch}");
        }
        // Nothing about who did not share, or how many could have.
        assert!(!r.text.contains("resident_id"), "{}", r.text);
    }

    let evidence_id = created["items"][0]["evidence_id"].as_str().unwrap();
    let r =
        w.t.get(
            &format!("/api/v1/evidence/{evidence_id}"),
            Some(&w.investigator.token),
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body["evidence_id"], evidence_id);
    assert_eq!(r.body["request_id"], w.request_id.as_str());
    assert_eq!(r.body["submission_id"], created["id"]);
    assert_eq!(r.body["submitter"]["display_name"], "Sam Porter");
    assert_eq!(r.body["submitter"]["email"], me.email.as_str());
    assert!(
        r.body["consent_text"]
            .as_str()
            .unwrap()
            .contains("1200 Elm St, Riverton, OR 97214")
    );
    w.t.stop().await;
}

#[tokio::test]
async fn content_serves_ranges_and_every_access_is_in_the_chain_of_custody() {
    common::announce("content_serves_ranges_and_every_access_is_in_the_chain_of_custody");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    let created = w.share_ok(&me, &[&rec]).await;
    let evidence_id = created["items"][0]["evidence_id"].as_str().unwrap();
    let bytes = fixture("porch-cam.mp4");
    let size = bytes.len();

    let custody = chain_of_custody(&w.t, &w.investigator, evidence_id).await;
    assert_eq!(kinds(&custody), ["received", "hash_verified"]);
    assert_eq!(custody["chain_valid"], true);
    let received = &custody["events"][0];
    assert_eq!(received["actor_id"], me.id.as_str());
    assert_eq!(received["source_ip"], "127.0.0.1");
    assert_eq!(
        received["reason"],
        format!(
            "shared by the resident in answer to community request {}",
            w.public_id
        )
    );
    assert_eq!(received["detail"]["sha256"], sha256_hex(&bytes));
    assert_eq!(received["detail"]["size"], size);
    let verified = &custody["events"][1];
    assert_eq!(verified["actor"], "system");
    assert_eq!(verified["detail"]["outcome"], "match");
    assert_eq!(verified["prev_hash"], received["hash"]);

    // A video element: several ranges, one `viewed`.
    let (status, headers, body) = w
        .content(&w.investigator, evidence_id, "", Some("bytes=0-99"))
        .await;
    assert_eq!(status, 206);
    assert_eq!(body, &bytes[..100]);
    assert_eq!(
        headers["content-range"],
        format!("bytes 0-99/{size}").as_str()
    );
    assert_eq!(headers["content-length"], "100");
    assert_eq!(headers["accept-ranges"], "bytes");
    let (status, headers, body) = w
        .content(&w.investigator, evidence_id, "", Some("bytes=100-"))
        .await;
    assert_eq!(status, 206);
    assert_eq!(body, &bytes[100..]);
    assert_eq!(
        headers["content-range"],
        format!("bytes 100-{}/{size}", size - 1).as_str()
    );
    let (status, _, body) = w
        .content(&w.investigator, evidence_id, "", Some("bytes=-10"))
        .await;
    assert_eq!(status, 206);
    assert_eq!(body, &bytes[size - 10..]);
    let (status, _, body) = w.content(&w.investigator, evidence_id, "", None).await;
    assert_eq!(status, 200);
    assert_eq!(body, bytes);

    // Past the end: 416 with the size, and nothing recorded.
    let (status, headers, body) = w
        .content(
            &w.investigator,
            evidence_id,
            "",
            Some(&format!("bytes={size}-")),
        )
        .await;
    assert_eq!(status, 416);
    assert_eq!(headers["content-range"], format!("bytes */{size}").as_str());
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"]["code"], "range_not_satisfiable");
    // A reason over 500 characters is refused, and nothing recorded.
    let long = "a".repeat(501);
    let (status, _, body) = w
        .content(
            &w.investigator,
            evidence_id,
            &format!("?reason={long}"),
            None,
        )
        .await;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));

    let custody = chain_of_custody(&w.t, &w.investigator, evidence_id).await;
    assert_eq!(kinds(&custody), ["received", "hash_verified", "viewed"]);
    let viewed = &custody["events"][2];
    assert_eq!(viewed["actor_id"], w.investigator.id.as_str());
    assert!(
        viewed["actor"]
            .as_str()
            .unwrap()
            .contains(&w.investigator.email),
        "{viewed}"
    );
    assert_eq!(viewed["source_ip"], "127.0.0.1");
    assert_eq!(viewed["reason"], "playback in the review page");

    // Another account's playback is its own event.
    w.content(
        &w.agency_admin,
        evidence_id,
        "?reason=second%20opinion",
        Some("bytes=0-0"),
    )
    .await;
    // Downloads are recorded every time, with the reason given.
    let (status, headers, body) = w
        .content(
            &w.investigator,
            evidence_id,
            "?disposition=attachment&reason=case%20file%202026-004512",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, bytes);
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"evidence-{evidence_id}.mp4\"").as_str()
    );
    w.content(
        &w.investigator,
        evidence_id,
        "?disposition=attachment",
        None,
    )
    .await;

    let custody = chain_of_custody(&w.t, &w.investigator, evidence_id).await;
    assert_eq!(
        kinds(&custody),
        [
            "received",
            "hash_verified",
            "viewed",
            "viewed",
            "downloaded",
            "downloaded"
        ]
    );
    let events = custody["events"].as_array().unwrap();
    assert_eq!(events[3]["actor_id"], w.agency_admin.id.as_str());
    assert_eq!(events[3]["reason"], "second opinion");
    assert_eq!(events[4]["reason"], "case file 2026-004512");
    assert_eq!(events[4]["actor_id"], w.investigator.id.as_str());
    assert_eq!(events[4]["source_ip"], "127.0.0.1");
    assert_eq!(events[5]["reason"], "download");
    assert_eq!(custody["chain_valid"], true);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i);
        if i > 0 {
            assert_eq!(e["prev_hash"], events[i - 1]["hash"]);
        }
    }

    // Ten minutes on, playing again is a new `viewed`.
    w.t.app().advance_clock(Duration::minutes(11));
    let (status, _, _) = w
        .content(&w.investigator, evidence_id, "", Some("bytes=0-9"))
        .await;
    assert_eq!(status, 206);
    let custody = chain_of_custody(&w.t, &w.investigator, evidence_id).await;
    assert_eq!(kinds(&custody).last().unwrap(), "viewed");
    assert_eq!(kinds(&custody).len(), 7);
    assert_eq!(custody["chain_valid"], true);

    // The chain verifies with the domain's own check too.
    let stored = w.t.app().db.custody_events(evidence_id).await.unwrap();
    canvass::domain::custody::verify_chain(evidence_id, &stored).unwrap();
    w.t.stop().await;
}

#[tokio::test]
async fn concurrent_playback_appends_one_viewed_and_keeps_the_chain_whole() {
    common::announce("concurrent_playback_appends_one_viewed_and_keeps_the_chain_whole");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    let created = w.share_ok(&me, &[&rec]).await;
    let evidence_id = created["items"][0]["evidence_id"].as_str().unwrap();
    let plays = (0..8).map(|i| {
        let range = format!("bytes={}-{}", i * 10, i * 10 + 9);
        let w = &w;
        async move {
            w.content(&w.investigator, evidence_id, "", Some(&range))
                .await
                .0
        }
    });
    let downloads = (0..10).map(|_| {
        let w = &w;
        async move {
            w.content(
                &w.agency_admin,
                evidence_id,
                "?disposition=attachment",
                None,
            )
            .await
            .0
        }
    });
    let (plays, downloads) = tokio::join!(
        futures_util::future::join_all(plays),
        futures_util::future::join_all(downloads)
    );
    assert!(plays.iter().all(|s| *s == 206), "{plays:?}");
    assert!(downloads.iter().all(|s| *s == 200), "{downloads:?}");
    let custody = chain_of_custody(&w.t, &w.investigator, evidence_id).await;
    let k = kinds(&custody);
    assert_eq!(k.iter().filter(|k| *k == "viewed").count(), 1, "{k:?}");
    assert_eq!(k.iter().filter(|k| *k == "downloaded").count(), 10, "{k:?}");
    assert_eq!(custody["chain_valid"], true);
    w.t.stop().await;
}

#[tokio::test]
async fn residents_see_what_they_shared_with_received_events_only() {
    common::announce("residents_see_what_they_shared_with_received_events_only");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    let created = w.share_ok(&me, &[&rec]).await;
    let evidence_id = created["items"][0]["evidence_id"].as_str().unwrap();
    w.content(&w.investigator, evidence_id, "", None).await;
    w.content(
        &w.investigator,
        evidence_id,
        "?disposition=attachment",
        None,
    )
    .await;
    let agency_chain = chain_of_custody(&w.t, &w.investigator, evidence_id).await;

    let r = w.t.get("/api/v1/me/submissions", Some(&me.token)).await;
    r.expect(200, None);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", r.text);
    let s = &list[0];
    assert_eq!(s["id"], created["id"]);
    assert_eq!(s["request"]["public_id"], w.public_id.as_str());
    assert_eq!(s["request"]["agency_name"], AGENCY);
    assert_eq!(s["request"]["incident_type"], "package_theft");
    let item = &s["items"][0];
    assert_eq!(item["evidence_id"], evidence_id);
    assert_eq!(item["sha256"], sha256_hex(&fixture("porch-cam.mp4")));
    assert_eq!(item["size"], fixture("porch-cam.mp4").len());
    let custody = item["custody"].as_array().unwrap();
    assert_eq!(custody.len(), 1, "{item}");
    assert_eq!(custody[0]["kind"], "received");
    assert_eq!(custody[0], agency_chain["events"][0]);
    // The receipt ties to the agency's chain.
    assert_eq!(
        s["receipt"]["items"][0]["received_event_hash"],
        agency_chain["events"][0]["hash"]
    );
    assert_eq!(s["receipt"], created["receipt"]);
    for internal in [
        "viewed",
        "downloaded",
        "hash_verified",
        &w.investigator.email,
    ] {
        assert!(!r.text.contains(internal), "{internal} shown: {}", r.text);
    }

    // Someone else shared nothing.
    let other = w.t.account(Role::Resident, None).await;
    let r = w.t.get("/api/v1/me/submissions", Some(&other.token)).await;
    r.expect(200, None);
    assert_eq!(r.body, json!([]));
    // It is a resident's page.
    w.t.get("/api/v1/me/submissions", Some(&w.investigator.token))
        .await
        .expect(403, Some("forbidden"));
    w.t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Who reaches what
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn only_the_requests_agency_reaches_submissions_and_evidence() {
    common::announce("only_the_requests_agency_reaches_submissions_and_evidence");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    let created = w.share_ok(&me, &[&rec]).await;
    let evidence_id = created["items"][0]["evidence_id"].as_str().unwrap();
    let other_agency = w.t.agency("Lakeside Fire Department").await;
    let outsiders = [
        w.t.account(Role::Investigator, Some(&other_agency)).await,
        w.t.account(Role::AgencyAdmin, Some(&other_agency)).await,
        me.clone(),
        w.t.account(Role::Resident, None).await,
        w.moderator.clone(),
        w.t.account(Role::Admin, None).await,
    ];
    let paths = [
        format!("/api/v1/requests/{}/submissions", w.request_id),
        format!("/api/v1/evidence/{evidence_id}"),
        format!("/api/v1/evidence/{evidence_id}/content"),
        format!("/api/v1/evidence/{evidence_id}/content?disposition=attachment"),
        format!("/api/v1/evidence/{evidence_id}/custody"),
    ];
    for who in &outsiders {
        for path in &paths {
            let r = w.t.get(path, Some(&who.token)).await;
            assert_eq!(
                r.status.as_u16(),
                404,
                "{:?} on {path}: {}",
                who.role,
                r.text
            );
            r.expect(404, Some("not_found"));
            assert!(!r.text.contains("Sam Porter"), "{}", r.text);
        }
    }
    // Unknown ids look the same to the agency itself.
    for path in [
        "/api/v1/requests/nope/submissions",
        "/api/v1/evidence/nope",
        "/api/v1/evidence/nope/content",
        "/api/v1/evidence/nope/custody",
    ] {
        w.t.get(path, Some(&w.investigator.token))
            .await
            .expect(404, Some("not_found"));
    }
    // Nobody above touched the evidence: its chain holds only its receipt.
    let custody = chain_of_custody(&w.t, &w.investigator, evidence_id).await;
    assert_eq!(kinds(&custody), ["received", "hash_verified"]);
    // Staff probes are audited.
    let denied = count(
        &w.t,
        &format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'access_denied' AND target = 'evidence:{evidence_id}'"
        ),
    )
    .await;
    assert!(denied >= 3 * 4, "{denied} audited denials");
    w.t.stop().await;
}

#[tokio::test]
async fn the_database_refuses_to_change_evidence() {
    common::announce("the_database_refuses_to_change_evidence");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    w.share_ok(&me, &[&rec]).await;
    let pool = w.t.app().db.pool();
    for sql in [
        "UPDATE submissions SET email = 'someone@else.example'",
        "DELETE FROM submissions",
        "UPDATE evidence_items SET sha256 = '00'",
        "DELETE FROM evidence_items",
        "UPDATE custody_events SET reason = 'nothing happened'",
        "DELETE FROM custody_events",
    ] {
        let result = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await;
        let err = result.expect_err(sql).to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM submissions").await, 1);
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM evidence_items").await, 1);
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM custody_events").await, 2);
    w.t.stop().await;
}

#[tokio::test]
async fn a_recording_that_no_longer_matches_its_hash_is_not_shared() {
    common::announce("a_recording_that_no_longer_matches_its_hash_is_not_shared");
    let w = World::new().await;
    let (me, rec) = w.sharer("Sam Porter", "1200 Elm St").await;
    // As if the stored bytes had rotted since upload: the hash taken then no longer matches.
    sqlx::query("UPDATE recordings SET sha256 = $1 WHERE id = $2")
        .bind("0".repeat(64))
        .bind(&rec)
        .execute(w.t.app().db.pool())
        .await
        .unwrap();
    let r = w
        .share(&me, json!({"recording_ids": [rec], "consent": true}))
        .await;
    r.expect(500, Some("internal"));
    assert!(
        !r.text.contains(&rec),
        "no internals in the answer: {}",
        r.text
    );
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM submissions").await, 0);
    assert_eq!(count(&w.t, "SELECT COUNT(*) FROM evidence_items").await, 0);
    let dir = std::path::PathBuf::from(
        w.t.app()
            .settings
            .blob_url
            .strip_prefix("file://")
            .unwrap()
            .to_owned(),
    )
    .join("evidence");
    let left = files_under(&dir).len();
    assert_eq!(left, 0, "copies left under {}", dir.display());
    w.t.stop().await;
}
