#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The resident side of distribution: the geo-targeted feed (boundary included, newest first,
//! signed cursors), the opt-out, reads that write nothing, share links, comments, push
//! subscription registration, and the key privacy property: nothing the agency can reach
//! depends on how many residents live in a request's area.

mod common;

#[path = "support/smtp_sink.rs"]
mod smtp_sink;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration as StdDuration, Instant};

use canvass::domain::Role;
use canvass::store::{NewUser, ResidentSettings};
use chrono::{DateTime, Duration, Utc};
use common::requests::{
    approval, approve, create, decide, publish, rect, request_at, staff, valid_request,
};
use common::{AGENCY, HOME, PASSWORD, Reply, Session, TestApp, count, ids, time};
use serde_json::{Value, json};

/// A home in Riverton well away from `HOME`: (lat, lon).
const ELSEWHERE: (f64, f64) = (45.505, -122.68);

async fn feed(t: &TestApp, who: &Session) -> Reply {
    let r = t.get("/api/v1/feed", Some(&who.token)).await;
    r.expect(200, None);
    r
}

fn feed_ids(r: &Reply) -> Vec<String> {
    ids(&r.body["items"])
}

/// Waits until every fan-out job has run.
async fn wait_for_fanout(t: &TestApp) {
    let deadline = Instant::now() + StdDuration::from_secs(60);
    while count(t, "SELECT COUNT(*) FROM fanout_jobs WHERE done_at IS NULL").await > 0 {
        assert!(Instant::now() < deadline, "the fan-out job never ran");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

/// A browser's PushSubscription JSON: a fresh P-256 key pair's public half and a 16-byte auth.
fn push_subscription(endpoint: &str) -> Value {
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
    json!({
        "endpoint": endpoint,
        "expirationTime": null,
        "keys": {
            "p256dh": b64.encode(secret.public_key().to_encoded_point(false).as_bytes()),
            "auth": b64.encode(auth),
        },
    })
}

// ---------------------------------------------------------------------------------------------
// The feed
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn feed_shows_a_published_request_to_residents_inside_its_area_only() {
    common::announce("feed_shows_a_published_request_to_residents_inside_its_area_only");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let inside = t.account(Role::Resident, None).await;
    let outside = t.resident_at(ELSEWHERE.0, ELSEWHERE.1).await;
    let body = valid_request("FEED-1");
    let (id, public_id) = publish(&t, &s, body.clone()).await;

    let r = feed(&t, &inside).await;
    assert_eq!(feed_ids(&r), std::slice::from_ref(&id), "{}", r.text);
    assert!(r.body.get("next_cursor").is_none(), "one page: {}", r.text);
    let item = &r.body["items"][0];
    assert_eq!(item["label"], "Community Request");
    assert_eq!(item["agency_name"], AGENCY);
    assert_eq!(item["agency_id"], s.agency.as_str());
    assert_eq!(item["status"], "published");
    assert_eq!(item["incident_type"], "package_theft");
    assert_eq!(item["details"], body["details"]);
    assert_eq!(time(&item["footage_start"]), time(&body["footage_start"]));
    assert_eq!(time(&item["footage_end"]), time(&body["footage_end"]));
    assert_eq!(item["investigator"], body["investigator"]);
    assert_eq!(item["area"], body["area"]);
    assert_eq!(item["public_id"], public_id.as_str());
    assert_eq!(item["open_for_responses"], true);
    let published = time(&item["published_at"]);
    assert!(
        (Utc::now() - published).num_seconds().abs() < 60,
        "{published}"
    );
    assert_eq!(
        time(&item["response_deadline"]),
        published + Duration::days(60),
        "the response window is 60 days"
    );
    for hidden in ["findings", "moderation", "revision", "created_at"] {
        assert!(
            item.get(hidden).is_none(),
            "residents do not see {hidden}: {item}"
        );
    }

    // The same post, one by one.
    let one = t
        .get(&format!("/api/v1/requests/{id}"), Some(&inside.token))
        .await;
    one.expect(200, None);
    assert_eq!(&one.body, item);

    // Outside the area: nothing, and the request itself does not exist for them.
    let r = feed(&t, &outside).await;
    assert_eq!(r.body["items"], json!([]), "{}", r.text);
    assert!(r.body.get("next_cursor").is_none());
    t.get(&format!("/api/v1/requests/{id}"), Some(&outside.token))
        .await
        .expect(404, Some("not_found"));
    t.stop().await;
}

#[tokio::test]
async fn the_feed_shows_the_agency_name_as_it_is_now_after_a_rename() {
    common::announce("the_feed_shows_the_agency_name_as_it_is_now_after_a_rename");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let admin = t.account(Role::Admin, None).await;
    let inside = t.account(Role::Resident, None).await;
    let (id, _) = publish(&t, &s, valid_request("FEED-RENAME")).await;
    // The first read keeps the published request in the server's cache.
    let r = feed(&t, &inside).await;
    assert_eq!(feed_ids(&r), std::slice::from_ref(&id), "{}", r.text);
    assert_eq!(r.body["items"][0]["agency_name"], AGENCY);

    t.call(
        "PATCH",
        &format!("/api/v1/agencies/{}", s.agency),
        Some(&admin.token),
        Some(json!({"name": "Riverton Police Bureau"})),
    )
    .await
    .expect(200, None);
    let r = feed(&t, &inside).await;
    assert_eq!(feed_ids(&r), std::slice::from_ref(&id), "{}", r.text);
    assert_eq!(
        r.body["items"][0]["agency_name"], "Riverton Police Bureau",
        "the request never changes, its agency's name may: {}",
        r.text
    );
    t.stop().await;
}

#[tokio::test]
async fn a_request_published_by_another_server_on_the_same_database_reaches_this_feed() {
    common::announce(
        "a_request_published_by_another_server_on_the_same_database_reaches_this_feed",
    );
    let a = TestApp::start().await;
    let b = a.second_server().await;
    let s = staff(&a).await;
    let inside = a.account(Role::Resident, None).await;
    assert_eq!(feed_ids(&feed(&a, &inside).await), Vec::<String>::new());

    // Sessions live in the database, so the same tokens work on both servers.
    let id = create(&a, &s.investigator, valid_request("FEED-OTHER")).await;
    approve(&b, &s.moderator, &id).await;
    let on_b = feed(&b, &inside).await;
    assert_eq!(
        feed_ids(&on_b),
        std::slice::from_ref(&id),
        "at once on the server that published"
    );
    // Server A's index catches up once a second.
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        let on_a = feed(&a, &inside).await;
        if feed_ids(&on_a) == std::slice::from_ref(&id) {
            assert_eq!(on_a.body, on_b.body, "both servers answer the same feed");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server A never listed it: {}",
            on_a.text
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn staff_get_403_and_anonymous_callers_401_on_the_feed() {
    common::announce("staff_get_403_and_anonymous_callers_401_on_the_feed");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    publish(&t, &s, valid_request("FEED-STAFF")).await;
    let admin = t.account(Role::Admin, None).await;
    let agency_admin = t.account(Role::AgencyAdmin, Some(&s.agency)).await;
    for who in [&s.investigator, &s.moderator, &admin, &agency_admin] {
        let r = t.get("/api/v1/feed", Some(&who.token)).await;
        r.expect(403, Some("forbidden"));
        assert!(!r.text.contains("FEED-STAFF"), "{}", r.text);
        t.get("/api/v1/me/settings", Some(&who.token))
            .await
            .expect(403, Some("forbidden"));
    }
    t.get("/api/v1/feed", None)
        .await
        .expect(401, Some("unauthenticated"));
    t.stop().await;
}

#[tokio::test]
async fn homes_on_a_vertex_or_an_edge_of_the_area_see_the_request() {
    common::announce("homes_on_a_vertex_or_an_edge_of_the_area_see_the_request");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let area = rect(-122.664, 45.512, -122.658, 45.516);
    let end = Utc::now() - Duration::days(1);
    let (id, _) = publish(&t, &s, request_at("EDGE-1", area, end)).await;

    let on_boundary = [
        ("south-west vertex", 45.512, -122.664),
        ("north-east vertex", 45.516, -122.658),
        ("south edge", 45.512, -122.661),
        ("east edge", 45.514, -122.658),
        ("north edge", 45.516, -122.6615),
        ("west edge", 45.5155, -122.664),
    ];
    for (what, lat, lon) in on_boundary {
        let r = t.resident_at(lat, lon).await;
        let f = feed(&t, &r).await;
        assert_eq!(
            feed_ids(&f),
            std::slice::from_ref(&id),
            "{what}: {}",
            f.text
        );
        t.get(&format!("/api/v1/requests/{id}"), Some(&r.token))
            .await
            .expect(200, None);
    }
    // Ten metres or so outside each side: not in the area.
    let just_outside = [
        ("south", 45.5119, -122.661),
        ("east", 45.514, -122.6579),
        ("north", 45.5161, -122.661),
        ("west", 45.514, -122.6641),
        ("beyond a vertex", 45.5119, -122.6641),
    ];
    for (what, lat, lon) in just_outside {
        let r = t.resident_at(lat, lon).await;
        let f = feed(&t, &r).await;
        assert_eq!(f.body["items"], json!([]), "{what}: {}", f.text);
        t.get(&format!("/api/v1/requests/{id}"), Some(&r.token))
            .await
            .expect(404, Some("not_found"));
    }
    t.stop().await;
}

#[tokio::test]
async fn pending_rejected_and_withdrawn_requests_never_appear_in_the_feed() {
    common::announce("pending_rejected_and_withdrawn_requests_never_appear_in_the_feed");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let resident = t.account(Role::Resident, None).await;
    let pending = create(&t, &s.investigator, valid_request("HIDDEN-1")).await;
    let rejected = create(&t, &s.investigator, valid_request("HIDDEN-2")).await;
    decide(
        &t,
        &s.moderator,
        &rejected,
        json!({"decision": "reject", "reasons": ["other"], "note": "Please add more detail."}),
    )
    .await
    .expect(200, None);
    let withdrawn = create(&t, &s.investigator, valid_request("HIDDEN-3")).await;
    t.call(
        "DELETE",
        &format!("/api/v1/requests/{withdrawn}"),
        Some(&s.investigator.token),
        None,
    )
    .await
    .expect(204, None);

    let r = feed(&t, &resident).await;
    assert_eq!(r.body["items"], json!([]), "{}", r.text);
    for id in [&pending, &rejected, &withdrawn] {
        t.get(&format!("/api/v1/requests/{id}"), Some(&resident.token))
            .await
            .expect(404, Some("not_found"));
    }
    // Publishing one shows that one only.
    let (published, _) = publish(&t, &s, valid_request("SHOWN-1")).await;
    let r = feed(&t, &resident).await;
    assert_eq!(feed_ids(&r), [published], "{}", r.text);
    t.stop().await;
}

#[tokio::test]
async fn feed_lists_newest_first() {
    common::announce("feed_lists_newest_first");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let resident = t.account(Role::Resident, None).await;
    let mut published = Vec::new();
    for i in 0..3 {
        if i > 0 {
            // Publication times are whole seconds.
            tokio::time::sleep(StdDuration::from_millis(1100)).await;
        }
        published.push(
            publish(&t, &s, valid_request(&format!("ORDER-{i}")))
                .await
                .0,
        );
    }
    let r = feed(&t, &resident).await;
    published.reverse();
    assert_eq!(feed_ids(&r), published, "{}", r.text);
    let times: Vec<DateTime<Utc>> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| time(&i["published_at"]))
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");
    t.stop().await;
}

#[tokio::test]
async fn feed_cursor_pages_through_every_request_exactly_once() {
    common::announce("feed_cursor_pages_through_every_request_exactly_once");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let resident = t.account(Role::Resident, None).await;
    // 25 requests over the home, interleaved with 12 whose area ends about 40 m west of it, then
    // 45 more of those, the newest of all. They share the home's cells in the index but fail
    // the exact test, so the first page is built from several batches of candidates to skip.
    let beside = rect(-122.6665, 45.513, -122.6605, 45.517);
    let end = Utc::now() - Duration::days(1);
    let mut over_home = BTreeSet::new();
    let mut not_over_home = BTreeSet::new();
    for i in 0..82 {
        if (i % 3 == 2 && not_over_home.len() < 12) || over_home.len() == 25 {
            let id = publish(
                &t,
                &s,
                request_at(&format!("BESIDE-{i}"), beside.clone(), end),
            )
            .await
            .0;
            not_over_home.insert(id);
        } else {
            let id = publish(&t, &s, valid_request(&format!("PAGE-{i}"))).await.0;
            over_home.insert(id);
        }
    }
    assert_eq!(over_home.len(), 25);
    assert_eq!(not_over_home.len(), 57);
    // The requests beside the home really are candidates for it in the index.
    let cells: Vec<String> = canvass::domain::geo_index::home_ancestors(HOME.0, HOME.1)
        .unwrap()
        .into_iter()
        .map(|c| c.to_string())
        .collect();
    let candidates = count(
        &t,
        &format!(
            "SELECT COUNT(DISTINCT request_id) FROM request_cells WHERE cell IN ({})",
            cells.join(", ")
        ),
    )
    .await;
    assert_eq!(candidates, 82, "every request is a candidate for the home");

    let mut seen: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/feed?cursor={c}"),
            None => "/api/v1/feed".to_owned(),
        };
        let r = t.get(&path, Some(&resident.token)).await;
        r.expect(200, None);
        let items = r.body["items"].as_array().unwrap().clone();
        pages.push(items.len());
        seen.extend(items);
        match r.body.get("next_cursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages.len() < 10, "the cursor never ends: {pages:?}");
    }
    assert_eq!(pages[0], 20, "a full first page: {pages:?}");
    assert_eq!(pages.iter().sum::<usize>(), 25, "{pages:?}");
    let got: Vec<String> = ids(&Value::Array(seen.clone()));
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "an item came twice: {got:?}");
    assert_eq!(
        unique, over_home,
        "every request over the home, and no other"
    );
    let times: Vec<DateTime<Utc>> = seen.iter().map(|i| time(&i["published_at"])).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first across pages: {times:?}"
    );
    t.stop().await;
}

#[tokio::test]
async fn a_forged_or_garbled_cursor_answers_422_invalid_cursor() {
    common::announce("a_forged_or_garbled_cursor_answers_422_invalid_cursor");
    use base64::Engine;
    use canvass::domain::cursor::{self, Position};
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let resident = t.account(Role::Resident, None).await;
    let (id, _) = publish(&t, &s, valid_request("CURSOR-1")).await;

    // A cursor this server signed (for a position after every request) works.
    let later = Position {
        at: "2999-01-01T00:00:00.000000Z".into(),
        id: "zzzz".into(),
    };
    let ours = cursor::encode(&t.app().cursor_key, &later);
    let r = t
        .get(
            &format!("/api/v1/feed?cursor={ours}"),
            Some(&resident.token),
        )
        .await;
    r.expect(200, None);
    assert_eq!(feed_ids(&r), [id], "{}", r.text);

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut flipped = ours.clone().into_bytes();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let bad = [
        ("another key", cursor::encode(&[9_u8; 32], &later)),
        ("one character changed", flipped),
        ("plain text", b64.encode("2999-01-01T00:00:00.000000Z|zzzz")),
        ("garbage", "not-a-cursor".to_owned()),
        ("not base64", "%21%21%21".to_owned()),
        ("empty", String::new()),
    ];
    for (what, c) in bad {
        let r = t
            .get(&format!("/api/v1/feed?cursor={c}"), Some(&resident.token))
            .await;
        r.expect(422, Some("invalid_cursor"));
        assert!(
            r.body["error"]["details"]["cursor"].is_array(),
            "{what}: {}",
            r.text
        );
    }
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Settings and the opt-out
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn opting_out_empties_the_feed_and_the_settings_read_back() {
    common::announce("opting_out_empties_the_feed_and_the_settings_read_back");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let resident = t.account(Role::Resident, None).await;
    let (id, _) = publish(&t, &s, valid_request("OPT-1")).await;

    let r = t.get("/api/v1/me/settings", Some(&resident.token)).await;
    r.expect(200, None);
    assert_eq!(
        r.body,
        json!({"community_requests": true, "push": true, "email": true}),
        "on by default"
    );
    assert_eq!(
        feed_ids(&feed(&t, &resident).await),
        std::slice::from_ref(&id)
    );

    let off = json!({"community_requests": false, "push": true, "email": false});
    let r = t
        .call(
            "PUT",
            "/api/v1/me/settings",
            Some(&resident.token),
            Some(off.clone()),
        )
        .await;
    r.expect(200, None);
    assert_eq!(r.body, off);
    let r = t.get("/api/v1/me/settings", Some(&resident.token)).await;
    r.expect(200, None);
    assert_eq!(r.body, off);
    let f = feed(&t, &resident).await;
    assert_eq!(f.body["items"], json!([]), "opted out: {}", f.text);
    assert!(f.body.get("next_cursor").is_none());

    // Another resident at the same home is not affected.
    let neighbour = t.account(Role::Resident, None).await;
    assert_eq!(
        feed_ids(&feed(&t, &neighbour).await),
        std::slice::from_ref(&id)
    );

    // Back on: the request is there again.
    let on = json!({"community_requests": true, "push": false, "email": true});
    t.call(
        "PUT",
        "/api/v1/me/settings",
        Some(&resident.token),
        Some(on.clone()),
    )
    .await
    .expect(200, None);
    assert_eq!(
        t.get("/api/v1/me/settings", Some(&resident.token))
            .await
            .body,
        on
    );
    assert_eq!(feed_ids(&feed(&t, &resident).await), [id]);
    t.stop().await;
}

#[tokio::test]
async fn bad_settings_bodies_answer_422_invalid_input_and_change_nothing() {
    common::announce("bad_settings_bodies_answer_422_invalid_input_and_change_nothing");
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;
    let bad = [
        (
            "missing field",
            json!({"community_requests": false, "push": true}),
        ),
        (
            "wrong type",
            json!({"community_requests": "no", "push": true, "email": true}),
        ),
        (
            "number for a boolean",
            json!({"community_requests": 0, "push": true, "email": true}),
        ),
        (
            "unknown field",
            json!({"community_requests": false, "push": true, "email": true, "sms": true}),
        ),
        ("not an object", json!("off")),
        ("null", Value::Null),
    ];
    for (what, body) in bad {
        let r = t
            .call(
                "PUT",
                "/api/v1/me/settings",
                Some(&resident.token),
                Some(body),
            )
            .await;
        assert_eq!(r.status.as_u16(), 422, "{what}: {}", r.text);
        r.expect(422, Some("invalid_input"));
    }
    let r = t.get("/api/v1/me/settings", Some(&resident.token)).await;
    assert_eq!(
        r.body,
        json!({"community_requests": true, "push": true, "email": true}),
        "nothing changed"
    );
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Reading writes nothing
// ---------------------------------------------------------------------------------------------

/// Every row of every table, each column as text, rows sorted; `sessions.last_seen_at` left
/// out (sessions may be touched at most once a minute to enforce the idle limit).
async fn database_contents(t: &TestApp) -> BTreeMap<String, Vec<String>> {
    let pool = t.app().db.pool();
    let pg = common::backend() == "postgres";
    let tables: Vec<String> = if pg {
        sqlx::query_scalar(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    } else {
        sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    };
    let mut out = BTreeMap::new();
    for table in tables {
        let columns: Vec<String> = if pg {
            sqlx::query_scalar(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 ORDER BY ordinal_position",
            )
            .bind(&table)
            .fetch_all(pool)
            .await
            .unwrap()
        } else {
            sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                .bind(&table)
                .fetch_all(pool)
                .await
                .unwrap()
        };
        let exprs: Vec<String> = columns
            .iter()
            .filter(|c| !(table == "sessions" && c.as_str() == "last_seen_at"))
            .map(|c| {
                if pg {
                    format!("CAST(\"{c}\" AS TEXT)")
                } else {
                    format!("quote(\"{c}\")")
                }
            })
            .collect();
        let sql = format!("SELECT {} FROM \"{table}\"", exprs.join(", "));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .unwrap();
        let mut lines: Vec<String> = rows
            .iter()
            .map(|row| {
                (0..exprs.len())
                    .map(|i| {
                        sqlx::Row::try_get::<Option<String>, _>(row, i)
                            .unwrap()
                            .unwrap_or_else(|| "NULL".into())
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect();
        lines.sort();
        out.insert(table, lines);
    }
    out
}

#[tokio::test]
async fn reading_the_feed_a_request_its_comments_or_its_share_page_writes_nothing() {
    common::announce("reading_the_feed_a_request_its_comments_or_its_share_page_writes_nothing");
    use canvass::domain::cursor::{self, Position};
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let resident = t.account(Role::Resident, None).await;
    let outsider = t.resident_at(ELSEWHERE.0, ELSEWHERE.1).await;
    let (id, public_id) = publish(&t, &s, valid_request("READ-1")).await;
    let comments = format!("/api/v1/requests/{id}/comments");
    t.post(
        &comments,
        Some(&resident.token),
        json!({"body": "I may have it on my doorbell camera."}),
    )
    .await
    .expect(201, None);
    t.post(
        &comments,
        Some(&s.investigator.token),
        json!({"body": "Thank you, please share it."}),
    )
    .await
    .expect(201, None);
    wait_for_fanout(&t).await;

    let before = database_contents(&t).await;
    for table in ["users", "community_requests", "comments", "sessions"] {
        assert!(before.contains_key(table), "{:?}", before.keys());
    }
    let ours = cursor::encode(
        &t.app().cursor_key,
        &Position {
            at: "2999-01-01T00:00:00.000000Z".into(),
            id: "zzzz".into(),
        },
    );
    for _ in 0..3 {
        for (who, path) in [
            (Some(&resident), "/api/v1/feed".to_owned()),
            (Some(&resident), format!("/api/v1/feed?cursor={ours}")),
            (Some(&resident), format!("/api/v1/requests/{id}")),
            (Some(&resident), comments.clone()),
            (Some(&resident), format!("{comments}?via={public_id}")),
            (Some(&resident), "/api/v1/me/settings".to_owned()),
            (Some(&resident), "/api/v1/me".to_owned()),
            (Some(&outsider), format!("{comments}?via={public_id}")),
            (Some(&outsider), format!("/r/{public_id}")),
            (Some(&resident), format!("/r/{public_id}")),
            (None, format!("/r/{public_id}")),
            (None, format!("/api/v1/public/requests/{public_id}")),
            (
                Some(&outsider),
                format!("/api/v1/public/requests/{public_id}"),
            ),
        ] {
            let r = t.get(&path, who.map(|w| w.token.as_str())).await;
            r.expect(200, None);
        }
    }
    let after = database_contents(&t).await;
    for (table, rows) in &before {
        assert_eq!(
            rows, &after[table],
            "reading changed the table {table}: before {rows:#?}\nafter {:#?}",
            after[table]
        );
    }
    assert_eq!(before, after);
    // The comparison would see a write: a setting changed is one.
    t.call(
        "PUT",
        "/api/v1/me/settings",
        Some(&resident.token),
        Some(json!({"community_requests": true, "push": false, "email": true})),
    )
    .await
    .expect(200, None);
    let changed = database_contents(&t).await;
    assert_ne!(after["users"], changed["users"]);
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Share links
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn share_link_shows_details_and_contact_to_anyone_but_not_who_commented() {
    common::announce("share_link_shows_details_and_contact_to_anyone_but_not_who_commented");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let inside = t
        .resident_named(
            HOME.0,
            HOME.1,
            "Zelda Quill",
            "77 Birch St, Riverton, OR 97214",
        )
        .await;
    let outside = t.resident_at(ELSEWHERE.0, ELSEWHERE.1).await;
    let mut body = valid_request("SHARE-1");
    body["details"] = json!(
        "A package was taken from a porch <script>alert(1)</script> on the 400 block of Elm St & \"Oak\" Ave. Doorbell footage would help."
    );
    let (id, public_id) = publish(&t, &s, body.clone()).await;
    t.post(
        &format!("/api/v1/requests/{id}/comments"),
        Some(&inside.token),
        json!({"body": "Saw a red jacket near the porch."}),
    )
    .await
    .expect(201, None);

    // The request itself is not there for a resident outside the area...
    t.get(&format!("/api/v1/requests/{id}"), Some(&outside.token))
        .await
        .expect(404, Some("not_found"));
    // ... but the share link is, for them, for anonymous callers and for staff.
    let mut answers = Vec::new();
    for token in [
        None,
        Some(outside.token.as_str()),
        Some(inside.token.as_str()),
        Some(s.moderator.token.as_str()),
    ] {
        let r = t
            .get(&format!("/api/v1/public/requests/{public_id}"), token)
            .await;
        r.expect(200, None);
        answers.push(r.body.clone());
        let p = &r.body;
        assert_eq!(p["public_id"], public_id.as_str());
        assert_eq!(p["id"], id.as_str());
        assert_eq!(p["label"], "Community Request");
        assert_eq!(p["agency_name"], AGENCY);
        assert_eq!(p["incident_type"], "package_theft");
        assert_eq!(p["details"], body["details"]);
        assert_eq!(p["investigator"], body["investigator"]);
        assert_eq!(p["tel_link"], "tel:+15550100");
        assert_eq!(p["mailto_link"], "mailto:arivera@pd.example");
        assert_eq!(p["area"], body["area"]);
        assert_eq!(p["open_for_responses"], true);
        assert!(p["response_deadline"].is_string(), "{}", r.text);
        assert_eq!(time(&p["footage_end"]), time(&body["footage_end"]));
        for hidden in ["comments", "findings", "moderation", "revision"] {
            assert!(p.get(hidden).is_none(), "{hidden}: {}", r.text);
        }
        for secret in ["Zelda", "Quill", "Birch", "red jacket", &inside.email] {
            assert!(!r.text.contains(secret), "{secret} leaks: {}", r.text);
        }
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "the same to all");

    // The page.
    for token in [None, Some(outside.token.as_str())] {
        let r = t.get(&format!("/r/{public_id}"), token).await;
        r.expect(200, None);
        let ct = r.headers["content-type"].to_str().unwrap();
        assert!(ct.starts_with("text/html"), "{ct}");
        let html = &r.text;
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "details are escaped: {html}"
        );
        assert!(!html.contains("<script>"), "no raw script: {html}");
        assert!(
            html.contains("&amp;") && html.contains("&quot;Oak&quot;"),
            "{html}"
        );
        assert!(html.contains("href=\"tel:+15550100\""), "{html}");
        assert!(
            html.contains("href=\"mailto:arivera@pd.example\""),
            "{html}"
        );
        assert!(html.contains("Community Request"), "{html}");
        assert!(html.contains(AGENCY), "{html}");
        assert!(html.contains("Det. A. Rivera"), "{html}");
        for secret in ["Zelda", "Quill", "Birch", "red jacket"] {
            assert!(!html.contains(secret), "{secret} leaks: {html}");
        }
    }

    // Unknown share ids, and a pending request, have no share link.
    let pending = create(&t, &s.investigator, valid_request("SHARE-2")).await;
    for unknown in [
        "nope",
        "AAAAAAAAAAAAAAAAAAAAAA",
        pending.as_str(),
        id.as_str(),
    ] {
        t.get(&format!("/api/v1/public/requests/{unknown}"), None)
            .await
            .expect(404, Some("not_found"));
        let r = t.get(&format!("/r/{unknown}"), None).await;
        r.expect(404, Some("not_found"));
    }
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Comments
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn residents_in_the_area_comment_and_the_agency_replies_as_the_agency() {
    common::announce("residents_in_the_area_comment_and_the_agency_replies_as_the_agency");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let agency_admin = t.account(Role::AgencyAdmin, Some(&s.agency)).await;
    let sam = t
        .resident_named(
            HOME.0,
            HOME.1,
            "Sam Porter",
            "1200 Elm St, Riverton, OR 97214",
        )
        .await;
    let (id, _) = publish(&t, &s, valid_request("COMMENT-1")).await;
    let path = format!("/api/v1/requests/{id}/comments");

    let r = t.get(&path, Some(&sam.token)).await;
    r.expect(200, None);
    assert_eq!(r.body, json!([]));

    let r = t
        .post(
            &path,
            Some(&sam.token),
            json!({"body": "  I think my camera caught a van <b>around 10pm</b>.\nWill check.  "}),
        )
        .await;
    r.expect(201, None);
    let c = &r.body;
    assert!(c["id"].is_string());
    assert_eq!(c["author"], "Sam Porter");
    assert_eq!(c["from_agency"], false);
    assert_eq!(
        c["body"], "I think my camera caught a van <b>around 10pm</b>.\nWill check.",
        "trimmed, stored as plain text"
    );
    assert!((Utc::now() - time(&c["created_at"])).num_seconds().abs() < 60);
    let mut keys: Vec<&String> = c.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["author", "body", "created_at", "from_agency", "id"]);
    for secret in ["Elm St", "1200", &sam.email, &sam.id] {
        assert!(!r.text.contains(secret), "{secret} leaks: {}", r.text);
    }

    // The agency replies, labelled as the agency, whoever of its members writes.
    for (who, text) in [
        (&s.investigator, "Thank you, please share the clip."),
        (&agency_admin, "We appreciate the help."),
    ] {
        let r = t.post(&path, Some(&who.token), json!({"body": text})).await;
        r.expect(201, None);
        assert_eq!(r.body["author"], AGENCY);
        assert_eq!(r.body["from_agency"], true);
        assert_eq!(r.body["body"], text);
    }

    // Everyone who may read sees the same list, oldest first; moderators too.
    let another = t.account(Role::Resident, None).await;
    let admin = t.account(Role::Admin, None).await;
    let mut lists = Vec::new();
    for who in [
        &sam,
        &another,
        &s.investigator,
        &agency_admin,
        &s.moderator,
        &admin,
    ] {
        let r = t.get(&path, Some(&who.token)).await;
        r.expect(200, None);
        for secret in ["Elm St", &sam.email, &sam.id] {
            assert!(!r.text.contains(secret), "{secret} leaks: {}", r.text);
        }
        lists.push(r.body.clone());
    }
    assert!(lists.windows(2).all(|w| w[0] == w[1]));
    let authors: Vec<&str> = lists[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["author"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["Sam Porter", AGENCY, AGENCY]);

    // Moderators and admins read but do not comment.
    for who in [&s.moderator, &admin] {
        t.post(&path, Some(&who.token), json!({"body": "Hello"}))
            .await
            .expect(403, Some("forbidden"));
    }
    // Another agency's members: the request does not exist for them, even with the link.
    let other = t.agency("Eastside Police Department").await;
    let other_investigator = t.account(Role::Investigator, Some(&other)).await;
    let public_id = t
        .get(&format!("/api/v1/requests/{id}"), Some(&sam.token))
        .await
        .body["public_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for p in [path.clone(), format!("{path}?via={public_id}")] {
        t.get(&p, Some(&other_investigator.token))
            .await
            .expect(404, Some("not_found"));
        t.post(&p, Some(&other_investigator.token), json!({"body": "Hi"}))
            .await
            .expect(404, Some("not_found"));
    }
    t.get(&path, None)
        .await
        .expect(401, Some("unauthenticated"));
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM comments").await,
        3,
        "nothing refused was stored"
    );
    t.stop().await;
}

#[tokio::test]
async fn a_resident_outside_the_area_comments_only_through_the_share_link() {
    common::announce("a_resident_outside_the_area_comments_only_through_the_share_link");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let outsider = t
        .resident_named(
            ELSEWHERE.0,
            ELSEWHERE.1,
            "Rosa Vance",
            "5 Fir St, Riverton, OR 97214",
        )
        .await;
    let (id, public_id) = publish(&t, &s, valid_request("VIA-1")).await;
    let (other_id, other_public_id) = publish(&t, &s, valid_request("VIA-2")).await;
    let path = format!("/api/v1/requests/{id}/comments");

    t.get(&path, Some(&outsider.token))
        .await
        .expect(404, Some("not_found"));
    t.post(&path, Some(&outsider.token), json!({"body": "Hello"}))
        .await
        .expect(404, Some("not_found"));
    // Another request's link, or a made-up one, does not open this request.
    for via in [other_public_id.as_str(), "made-up-link", ""] {
        let p = format!("{path}?via={via}");
        t.get(&p, Some(&outsider.token))
            .await
            .expect(404, Some("not_found"));
        t.post(&p, Some(&outsider.token), json!({"body": "Hello"}))
            .await
            .expect(404, Some("not_found"));
    }
    // With this request's link they may read and comment.
    let p = format!("{path}?via={public_id}");
    let r = t
        .post(
            &p,
            Some(&outsider.token),
            json!({"body": "My sister lives there; I passed the link on."}),
        )
        .await;
    r.expect(201, None);
    assert_eq!(r.body["author"], "Rosa Vance");
    assert_eq!(r.body["from_agency"], false);
    let r = t.get(&p, Some(&outsider.token)).await;
    r.expect(200, None);
    assert_eq!(r.body.as_array().unwrap().len(), 1, "{}", r.text);
    assert!(!r.text.contains("Fir St"), "{}", r.text);
    // The link opens comments, not the request's other routes, nor other requests.
    t.get(&format!("/api/v1/requests/{id}"), Some(&outsider.token))
        .await
        .expect(404, Some("not_found"));
    t.get(
        &format!("/api/v1/requests/{other_id}/comments?via={public_id}"),
        Some(&outsider.token),
    )
    .await
    .expect(404, Some("not_found"));
    let f = feed(&t, &outsider).await;
    assert_eq!(f.body["items"], json!([]), "{}", f.text);
    // The agency sees the comment like any other.
    let r = t.get(&path, Some(&s.investigator.token)).await;
    r.expect(200, None);
    assert_eq!(r.body[0]["author"], "Rosa Vance");
    t.stop().await;
}

#[tokio::test]
async fn empty_too_long_or_control_character_comments_answer_422_invalid_comment() {
    common::announce("empty_too_long_or_control_character_comments_answer_422_invalid_comment");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let resident = t.account(Role::Resident, None).await;
    let (id, _) = publish(&t, &s, valid_request("BADCOMMENT-1")).await;
    let path = format!("/api/v1/requests/{id}/comments");

    let too_long = "a".repeat(2001);
    let bad = [
        ("empty", String::new()),
        ("white space only", " \n\t ".to_owned()),
        ("2,001 characters", too_long),
        ("a bell", "Hello\u{7} there".to_owned()),
        ("an escape sequence", "Hello \u{1b}[31mred".to_owned()),
        ("a DEL", "Hello\u{7f}".to_owned()),
        ("a C1 control", "Hel\u{85}lo".to_owned()),
    ];
    for (what, body) in bad {
        let r = t
            .post(&path, Some(&resident.token), json!({"body": body}))
            .await;
        assert_eq!(r.status.as_u16(), 422, "{what}: {}", r.text);
        r.expect(422, Some("invalid_comment"));
        assert!(
            r.body["error"]["details"]["body"].is_array(),
            "{what}: {}",
            r.text
        );
    }
    let r = t
        .post(
            &path,
            Some(&resident.token),
            json!({"body": "a".repeat(2001)}),
        )
        .await;
    assert!(
        r.text.contains("2001") && r.text.contains("2000"),
        "{}",
        r.text
    );
    // A NUL is refused too (whichever check sees it first).
    let r = t
        .post(&path, Some(&resident.token), json!({"body": "Hello\u{0}"}))
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    // A missing body field is bad input.
    t.post(&path, Some(&resident.token), json!({"text": "Hello"}))
        .await
        .expect(422, Some("invalid_input"));
    assert_eq!(count(&t, "SELECT COUNT(*) FROM comments").await, 0);

    // 2,000 characters (multi-byte ones too), line breaks and tabs are fine.
    for body in [
        "é".repeat(2000),
        "Line one\nLine two\r\n\tindented".to_owned(),
    ] {
        let r = t
            .post(&path, Some(&resident.token), json!({"body": body.clone()}))
            .await;
        r.expect(201, None);
        assert_eq!(r.body["body"], body.as_str());
    }
    t.stop().await;
}

#[tokio::test]
async fn comments_on_an_unpublished_request_answer_409_or_404() {
    common::announce("comments_on_an_unpublished_request_answer_409_or_404");
    let t = TestApp::start().await;
    let s = staff(&t).await;
    let resident = t.account(Role::Resident, None).await;
    let pending = create(&t, &s.investigator, valid_request("UNPUB-1")).await;
    let rejected = create(&t, &s.investigator, valid_request("UNPUB-2")).await;
    decide(
        &t,
        &s.moderator,
        &rejected,
        json!({"decision": "reject", "reasons": ["other"], "note": "Please add more detail."}),
    )
    .await
    .expect(200, None);
    for id in [&pending, &rejected] {
        let path = format!("/api/v1/requests/{id}/comments");
        // The agency sees the request, but comments open on publication.
        for who in [&s.investigator, &s.moderator] {
            let r = t.get(&path, Some(&who.token)).await;
            r.expect(409, Some("request_not_published"));
        }
        let r = t
            .post(&path, Some(&s.investigator.token), json!({"body": "Hello"}))
            .await;
        r.expect(409, Some("request_not_published"));
        // A resident does not see it at all.
        t.get(&path, Some(&resident.token))
            .await
            .expect(404, Some("not_found"));
        t.post(&path, Some(&resident.token), json!({"body": "Hello"}))
            .await
            .expect(404, Some("not_found"));
    }
    assert_eq!(count(&t, "SELECT COUNT(*) FROM comments").await, 0);
    t.stop().await;
}

#[tokio::test]
async fn commenting_is_rate_limited_per_user_with_retry_after() {
    common::announce("commenting_is_rate_limited_per_user_with_retry_after");
    let t = TestApp::start_with(|a| a.comment_rate_per_hour = Some("3".into())).await;
    let s = staff(&t).await;
    let first = t.account(Role::Resident, None).await;
    let second = t.account(Role::Resident, None).await;
    let (id, _) = publish(&t, &s, valid_request("RATE-1")).await;
    let path = format!("/api/v1/requests/{id}/comments");
    for i in 0..3 {
        t.post(
            &path,
            Some(&first.token),
            json!({"body": format!("Comment {i}")}),
        )
        .await
        .expect(201, None);
    }
    let r = t
        .post(&path, Some(&first.token), json!({"body": "One too many"}))
        .await;
    r.expect(429, Some("rate_limited"));
    let retry: u64 = r.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is whole seconds: {:?}", r.headers));
    assert!((1..=3600).contains(&retry), "{retry}");
    // Per user: the others still comment; reading is not limited.
    t.post(&path, Some(&second.token), json!({"body": "Mine"}))
        .await
        .expect(201, None);
    t.post(
        &path,
        Some(&s.investigator.token),
        json!({"body": "Thanks"}),
    )
    .await
    .expect(201, None);
    let r = t.get(&path, Some(&first.token)).await;
    r.expect(200, None);
    assert_eq!(r.body.as_array().unwrap().len(), 5);
    t.stop().await;
}

#[tokio::test]
async fn comments_stay_open_after_the_response_window_closes() {
    common::announce("comments_stay_open_after_the_response_window_closes");
    let t = TestApp::start().await;
    let demo = t
        .app()
        .seed_demo()
        .await
        .unwrap()
        .expect("an empty database");
    let id: String = sqlx::query_scalar(
        "SELECT id FROM community_requests WHERE status = 'published' AND incident_type = 'hit_and_run'",
    )
    .fetch_one(t.app().db.pool())
    .await
    .unwrap();
    // The demo's 75-day-old request: its area's corner is (-122.680, 45.505), 0.008 by 0.005.
    let resident = t
        .resident_named(
            45.5075,
            -122.676,
            "Ines Duarte",
            "900 Oak St, Riverton, OR 97214",
        )
        .await;
    let f = feed(&t, &resident).await;
    assert_eq!(feed_ids(&f), std::slice::from_ref(&id), "{}", f.text);
    let item = &f.body["items"][0];
    assert_eq!(item["open_for_responses"], false, "{item}");
    assert!(time(&item["response_deadline"]) < Utc::now(), "{item}");
    assert!(
        Utc::now() - time(&item["published_at"]) > Duration::days(74),
        "{item}"
    );

    let path = format!("/api/v1/requests/{id}/comments");
    let r = t
        .post(
            &path,
            Some(&resident.token),
            json!({"body": "I know it is late, but I remember the pickup."}),
        )
        .await;
    r.expect(201, None);
    assert_eq!(r.body["author"], "Ines Duarte");

    // The demo investigator replies as the agency.
    let account = demo
        .accounts
        .iter()
        .find(|a| a.email == "arivera@rivertonpd.example")
        .unwrap();
    let code = TestApp::totp_now(account.totp_secret.as_deref().unwrap());
    let login = t
        .login(
            &account.email,
            canvass::app::demo::DEMO_PASSWORD,
            Some(&code),
        )
        .await;
    login.expect(200, None);
    let token = login.body["token"].as_str().unwrap();
    let r = t
        .post(
            &path,
            Some(token),
            json!({"body": "Thank you, please call me."}),
        )
        .await;
    r.expect(201, None);
    assert_eq!(r.body["from_agency"], true);
    assert_eq!(r.body["author"], AGENCY);
    let r = t.get(&path, Some(&resident.token)).await;
    r.expect(200, None);
    let bodies: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies.ends_with(&[
            "I know it is late, but I remember the pickup.",
            "Thank you, please call me."
        ]),
        "{bodies:?}"
    );
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Push subscriptions, sign-up
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_browser_push_subscription_registers_and_malformed_ones_answer_422() {
    common::announce("a_browser_push_subscription_registers_and_malformed_ones_answer_422");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let t = TestApp::start().await;
    let resident = t.account(Role::Resident, None).await;
    const ENDPOINT: &str = "https://push.invalid/fcm/send/abc123";
    let path = "/api/v1/me/push-subscriptions";

    let good = push_subscription(ENDPOINT);
    let r = t.post(path, Some(&resident.token), good.clone()).await;
    r.expect(201, None);
    let sub_id = r.body["id"].as_str().unwrap().to_owned();
    let stored: (String, String, String) =
        sqlx::query_as("SELECT user_id, endpoint, p256dh FROM push_subscriptions WHERE id = $1")
            .bind(&sub_id)
            .fetch_one(t.app().db.pool())
            .await
            .unwrap();
    assert_eq!(stored.0, resident.id);
    assert_eq!(stored.1, ENDPOINT);
    assert_eq!(
        b64.decode(&stored.2).unwrap(),
        b64.decode(good["keys"]["p256dh"].as_str().unwrap())
            .unwrap()
    );

    let with_key = |key: &str, value: Value| {
        let mut s = push_subscription(ENDPOINT);
        s["keys"][key] = value;
        s
    };
    let mut http = push_subscription("http://push.example.com/send/1");
    let loopback = push_subscription("http://127.0.0.1:9/push/1");
    let bad = [
        (
            "bad base64 key",
            with_key("p256dh", json!("not*base64!")),
            "keys.p256dh",
        ),
        (
            "64-byte key",
            with_key("p256dh", json!(b64.encode([4_u8; 64]))),
            "keys.p256dh",
        ),
        (
            "key off the curve",
            with_key("p256dh", {
                let mut k = [0x11_u8; 65];
                k[0] = 4;
                json!(b64.encode(k))
            }),
            "keys.p256dh",
        ),
        (
            "15-byte auth",
            with_key("auth", json!(b64.encode([1_u8; 15]))),
            "keys.auth",
        ),
        (
            "bad base64 auth",
            with_key("auth", json!("%%%")),
            "keys.auth",
        ),
        ("http endpoint", http.clone(), "endpoint"),
        ("http loopback endpoint", loopback, "endpoint"),
        ("no keys", json!({"endpoint": ENDPOINT}), "keys"),
        ("a string", json!("https://push.invalid/x"), "subscription"),
        ("an array", json!([ENDPOINT]), "subscription"),
    ];
    for (what, body, field) in bad {
        let r = t.post(path, Some(&resident.token), body).await;
        assert_eq!(r.status.as_u16(), 422, "{what}: {}", r.text);
        r.expect(422, Some("invalid_subscription"));
        assert!(
            r.body["error"]["details"][field].is_array(),
            "{what}: details name {field}: {}",
            r.text
        );
    }
    // Every problem at once is listed at once.
    http["keys"]["auth"] = json!(b64.encode([1_u8; 15]));
    let r = t.post(path, Some(&resident.token), http).await;
    r.expect(422, Some("invalid_subscription"));
    let details = r.body["error"]["details"].as_object().unwrap();
    assert!(details.contains_key("endpoint") && details.contains_key("keys.auth"));
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM push_subscriptions").await,
        1,
        "only the good one"
    );
    // Staff have no browser to register.
    let s = staff(&t).await;
    t.post(
        path,
        Some(&s.investigator.token),
        push_subscription(ENDPOINT),
    )
    .await
    .expect(403, Some("forbidden"));
    t.stop().await;
}

#[tokio::test]
async fn a_home_location_out_of_range_at_sign_up_answers_422_and_a_signed_up_home_is_indexed() {
    common::announce(
        "a_home_location_out_of_range_at_sign_up_answers_422_and_a_signed_up_home_is_indexed",
    );
    let t = TestApp::start().await;
    let sign_up = |email: String, lat: Value, lon: Value| {
        json!({
            "email": email,
            "password": PASSWORD,
            "display_name": "Noor Haddad",
            "home_address": "1300 Elm St, Riverton, OR 97214",
            "home_location": {"lat": lat, "lon": lon}
        })
    };
    for (lat, lon) in [
        (json!(45.515), json!(-181.0)),
        (json!(45.515), json!(180.5)),
        (json!(-90.5), json!(-122.66)),
        (json!(91), json!(-122.66)),
    ] {
        let r = t
            .post("/api/v1/residents", None, sign_up(t.email("far"), lat, lon))
            .await;
        r.expect(422, Some("invalid_input"));
        assert!(
            r.body["error"]["details"]["home_location"].is_array(),
            "{}",
            r.text
        );
    }
    assert_eq!(count(&t, "SELECT COUNT(*) FROM users").await, 0);

    // A resident who signs up over the API sees a request over their home.
    let s = staff(&t).await;
    let (id, _) = publish(&t, &s, valid_request("SIGNUP-1")).await;
    let email = t.email("noor");
    t.post(
        "/api/v1/residents",
        None,
        sign_up(email.clone(), json!(HOME.0), json!(HOME.1)),
    )
    .await
    .expect(201, None);
    let r = t.login(&email, PASSWORD, None).await;
    r.expect(200, None);
    let token = r.body["token"].as_str().unwrap();
    let f = t.get("/api/v1/feed", Some(token)).await;
    f.expect(200, None);
    assert_eq!(feed_ids(&f), [id], "{}", f.text);
    t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Privacy toward the agency
// ---------------------------------------------------------------------------------------------

/// Replaces ids, times, share ids and signatures with their key's name, so that two runs
/// compare equal when nothing else differs.
fn scrub(v: &mut Value, key: Option<&str>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                scrub(x, Some(k));
            }
        }
        Value::Array(items) => {
            for x in items {
                scrub(x, key);
            }
        }
        Value::String(s) => {
            if let Some(k) = key
                && (k == "id"
                    || k.ends_with("_id")
                    || k.ends_with("_at")
                    || k == "at"
                    || k == "response_deadline"
                    || k == "root"
                    || k == "signature"
                    || k == "token")
            {
                *s = format!("<{k}>");
            }
        }
        _ => {}
    }
}

/// A response as the agency saw it, with what legitimately differs between servers removed.
fn agency_view(label: &str, r: &Reply) -> (String, String) {
    let ct = r
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = if r.body.is_null() {
        let mut text = r.text.clone();
        if label.ends_with("checkpoint") {
            // origin (the server's own address), size, root, blank line, signature line(s).
            text = text
                .lines()
                .enumerate()
                .map(|(i, l)| match i {
                    0 => "<origin>",
                    2 => "<root>",
                    _ if l.starts_with('\u{2014}') => "<signature>",
                    _ => l,
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        // The share page names the response deadline (a time) and its own link (the server's
        // address and the share id).
        let deadline = regex::Regex::new(r#"until <time datetime="[^"]*">[^<]*</time>"#).unwrap();
        let text = deadline.replace_all(&text, "until <date>");
        let link = regex::Regex::new(r"https?://[^/\s]+/r/[A-Za-z0-9_-]+").unwrap();
        link.replace_all(&text, "<share link>").into_owned()
    } else {
        let mut v = r.body.clone();
        scrub(&mut v, None);
        serde_json::to_string_pretty(&v).unwrap()
    };
    (
        label.to_owned(),
        format!("{} {ct}\n{body}", r.status.as_u16()),
    )
}

/// Everything the agency (and anyone) can reach about its one published request.
async fn what_the_agency_sees(
    t: &TestApp,
    investigator: &Session,
    agency_admin: &Session,
    agency: &str,
    id: &str,
    public_id: &str,
) -> Vec<(String, String)> {
    let inv = Some(investigator.token.as_str());
    let adm = Some(agency_admin.token.as_str());
    let calls: Vec<(&str, String, Option<&str>)> = vec![
        ("request", format!("/api/v1/requests/{id}"), inv),
        (
            "request (agency admin)",
            format!("/api/v1/requests/{id}"),
            adm,
        ),
        ("requests", "/api/v1/requests".to_owned(), inv),
        ("history", format!("/api/v1/requests/{id}/history"), inv),
        ("comments", format!("/api/v1/requests/{id}/comments"), inv),
        ("me", "/api/v1/me".to_owned(), inv),
        ("agency", format!("/api/v1/agencies/{agency}"), adm),
        ("members", format!("/api/v1/agencies/{agency}/members"), adm),
        ("feed (refused)", "/api/v1/feed".to_owned(), inv),
        (
            "public request",
            format!("/api/v1/public/requests/{public_id}"),
            None,
        ),
        ("share page", format!("/r/{public_id}"), None),
        ("report", "/api/v1/transparency/report".to_owned(), None),
        ("entry", "/api/v1/transparency/entries/0".to_owned(), None),
        (
            "inclusion proof",
            "/api/v1/transparency/proof/inclusion/0?size=1".to_owned(),
            None,
        ),
        (
            "checkpoint",
            "/api/v1/transparency/checkpoint".to_owned(),
            None,
        ),
    ];
    let mut out = Vec::new();
    for (label, path, token) in calls {
        let r = t.get(&path, token).await;
        assert!(r.status.as_u16() < 500, "{label}: {}", r.text);
        out.push(agency_view(label, &r));
    }
    out
}

/// One server: `residents` homes spread inside the request's area (every tenth opted out),
/// email on (a real SMTP sink). Answers what the agency saw right after the approval and
/// after the fan-out and every delivery.
async fn agency_side_with(
    residents: usize,
    body: &Value,
) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let sink = smtp_sink::SmtpSink::start().await;
    let t = TestApp::start_with(|a| a.smtp_url = Some(sink.url())).await;
    let agency = t.agency(AGENCY).await;
    let investigator = t.account(Role::Investigator, Some(&agency)).await;
    let agency_admin = t.account(Role::AgencyAdmin, Some(&agency)).await;
    let moderator = t.account(Role::Moderator, None).await;

    let hash = canvass::domain::password::hash(PASSWORD).unwrap();
    let now = Utc::now();
    for i in 0..residents {
        let lon = -122.6628 + 0.0003 * (i % 20) as f64;
        let lat = 45.5132 + 0.00025 * ((i / 20) % 15) as f64;
        let email = format!("neighbour{i}@residents.example");
        let user = t
            .app()
            .db
            .insert_user(
                &NewUser {
                    email: &email,
                    password_hash: &hash,
                    role: Role::Resident,
                    agency_id: None,
                    display_name: Some("A Neighbour"),
                    home_address: Some("1 Elm St, Riverton, OR 97214"),
                    home: Some((lat, lon)),
                },
                now,
            )
            .await
            .unwrap();
        if i % 10 == 9 {
            t.app()
                .db
                .save_resident_settings(
                    &user.id,
                    ResidentSettings {
                        community_requests: false,
                        push: true,
                        email: true,
                    },
                    now,
                )
                .await
                .unwrap();
        }
    }

    let mut before = Vec::new();
    let r = t
        .post("/api/v1/requests", Some(&investigator.token), body.clone())
        .await;
    r.expect(201, None);
    before.push(agency_view("create", &r));
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = decide(&t, &moderator, &id, approval()).await;
    r.expect(200, None);
    before.push(agency_view("approval", &r));
    let public_id = r.body["public_id"].as_str().unwrap().to_owned();
    before.extend(
        what_the_agency_sees(&t, &investigator, &agency_admin, &agency, &id, &public_id).await,
    );

    // Let the fan-out run and every email go out.
    wait_for_fanout(&t).await;
    let expected = (residents - residents / 10) as i64;
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM notification_outbox").await,
        expected,
        "one email per resident in the area who did not opt out"
    );
    let deadline = Instant::now() + StdDuration::from_secs(120);
    while count(
        &t,
        "SELECT COUNT(*) FROM notification_outbox WHERE state <> 'sent'",
    )
    .await
        > 0
    {
        assert!(Instant::now() < deadline, "deliveries never finished");
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    assert_eq!(sink.messages().len() as i64, expected);

    let mut after =
        what_the_agency_sees(&t, &investigator, &agency_admin, &agency, &id, &public_id).await;
    let r = t
        .post(
            &format!("/api/v1/requests/{id}/comments"),
            Some(&investigator.token),
            json!({"body": "Thank you all for any footage."}),
        )
        .await;
    r.expect(201, None);
    after.push(agency_view("comment", &r));
    let r = t
        .get(
            &format!("/api/v1/requests/{id}/comments"),
            Some(&investigator.token),
        )
        .await;
    after.push(agency_view("comments after commenting", &r));
    t.stop().await;
    (before, after)
}

#[tokio::test]
async fn the_agency_sees_the_same_whether_the_area_holds_no_one_or_300_residents() {
    common::announce("the_agency_sees_the_same_whether_the_area_holds_no_one_or_300_residents");
    // The same request body for both servers, to the second.
    let body = valid_request("PRIVACY-1");
    let (empty_before, empty_after) = agency_side_with(0, &body).await;
    let (busy_before, busy_after) = agency_side_with(300, &body).await;

    let compare = |what: &str, a: &[(String, String)], b: &[(String, String)]| {
        assert_eq!(a.len(), b.len());
        for ((label, x), (_, y)) in a.iter().zip(b) {
            assert_eq!(x, y, "{what}: {label} differs between 0 and 300 residents");
        }
    };
    compare("right after approval", &empty_before, &busy_before);
    compare("after the fan-out", &empty_after, &busy_after);
    // Nor does the agency's view change when the notifications go out.
    let n = busy_before.len() - 2;
    compare(
        "before and after the fan-out (300 residents)",
        &busy_before[2..],
        &busy_after[..n],
    );
    // The comparison has teeth: the answers hold the request.
    let approval = &busy_before[1].1;
    assert!(approval.contains("PRIVACY-1") && approval.contains("\"published\""));
}

#[tokio::test]
async fn a_resident_who_cannot_see_a_request_leaves_no_trace_in_the_audit_log() {
    common::announce("a_resident_who_cannot_see_a_request_leaves_no_trace_in_the_audit_log");
    let t = TestApp::start().await;
    let agency = t.agency("Trace PD").await;
    let investigator = t.account(Role::Investigator, Some(&agency)).await;
    // A pending request: no resident may see it.
    let created = t
        .post(
            "/api/v1/requests",
            Some(&investigator.token),
            valid_request("TRACE-1"),
        )
        .await;
    created.expect(201, None);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let resident = t.account(Role::Resident, None).await;
    let count = || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE actor_id = $1 AND action = 'access_denied'",
        )
        .bind(&resident.id)
        .fetch_one(t.app().db.pool())
        .await
        .unwrap();
        n
    };
    for path in [
        format!("/api/v1/requests/{id}"),
        format!("/api/v1/requests/{id}/history"),
    ] {
        t.get(&path, Some(&resident.token))
            .await
            .expect(404, Some("not_found"));
    }
    assert_eq!(count().await, 0, "a resident's miss must not be recorded");
    t.stop().await;
}

#[tokio::test]
async fn targeting_reads_each_home_back_to_the_last_bit_with_its_channels() {
    common::announce("targeting_reads_each_home_back_to_the_last_bit_with_its_channels");
    use geo::BoundingRect;
    let t = TestApp::start().await;
    // Coordinates whose shortest decimal forms are long, or one ulp apart: the exact test
    // decides boundary homes on the last bit, so the look-up must not round them.
    let next_up = |x: f64| f64::from_bits(x.to_bits() + 1);
    let homes = [
        (45.514, -122.661),
        (next_up(45.514), -122.661),
        (45.512_345_678_901_23, -122.659_876_543_210_98),
        (0.1 + 45.413, next_up(-122.662)),
        (45.515_999_999_999_99, -122.663_000_000_000_1),
    ];
    let mut expected = BTreeMap::new();
    for (i, (lat, lon)) in homes.into_iter().enumerate() {
        let r = t.resident_at(lat, lon).await;
        // Each home a different mix of channels.
        let (email, push) = (i % 2 == 0, i % 3 == 0);
        t.app()
            .db
            .save_resident_settings(
                &r.id,
                ResidentSettings {
                    community_requests: true,
                    push,
                    email,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        expected.insert(r.id.clone(), (lat.to_bits(), lon.to_bits(), email, push));
    }
    // And 300 homes at random points of the area, every bit of their coordinates drawn.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut unit = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1_u64 << 53) as f64
    };
    for i in 0..300 {
        let (lat, lon) = (45.511 + 0.006 * unit(), -122.665 + 0.008 * unit());
        let user = t
            .app()
            .db
            .insert_user(
                &NewUser {
                    email: &format!("random-home-{i}@example.test"),
                    password_hash: "not a login",
                    role: Role::Resident,
                    agency_id: None,
                    display_name: Some("Random Home"),
                    home_address: Some("1 Random Way"),
                    home: Some((lat, lon)),
                },
                Utc::now(),
            )
            .await
            .unwrap();
        let settings = t
            .app()
            .db
            .resident_settings(&user.id)
            .await
            .unwrap()
            .unwrap();
        expected.insert(
            user.id,
            (lat.to_bits(), lon.to_bits(), settings.email, settings.push),
        );
    }
    let opted_out = t.resident_at(45.514, -122.660).await;
    t.app()
        .db
        .save_resident_settings(
            &opted_out.id,
            ResidentSettings {
                community_requests: false,
                push: true,
                email: true,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let area = geo::Rect::new((-122.665, 45.511), (-122.657, 45.517)).to_polygon();
    let ranges = canvass::jobs::fanout::home_cell_ranges(&area).unwrap();
    let found = t
        .app()
        .db
        .recipients_in_ranges(&ranges, area.bounding_rect().unwrap())
        .await
        .unwrap();
    let got: BTreeMap<_, _> = found
        .into_iter()
        .map(|r| {
            (
                r.user_id,
                (r.lat.to_bits(), r.lon.to_bits(), r.email, r.push),
            )
        })
        .collect();
    assert_eq!(got, expected);
    // Nothing in range: an empty answer, not an error.
    let far = geo::Rect::new((-100.001, 40.0), (-100.0, 40.001)).to_polygon();
    let far_ranges = canvass::jobs::fanout::home_cell_ranges(&far).unwrap();
    let none = t
        .app()
        .db
        .recipients_in_ranges(&far_ranges, far.bounding_rect().unwrap())
        .await
        .unwrap();
    assert!(none.is_empty());
    t.stop().await;
}
