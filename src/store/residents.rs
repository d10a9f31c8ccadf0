//! Residents' side of distribution: settings, the feed look-up, targeting, request covers,
//! comments and push subscriptions. No query here writes when a resident reads.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::requests::{RequestRecord, SELECT as REQUEST_SELECT, from_row as request_from_row};
use super::{Backend, Db, Result, StoreError, Tx, flag, parse_ts, ts};

/// A resident's notification settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResidentSettings {
    /// Community Requests on at all (off: no feed, no notification).
    pub community_requests: bool,
    /// Web Push notifications.
    pub push: bool,
    /// Email notifications.
    pub email: bool,
}

/// A resident to notify: where they live and how they want to hear.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The resident's id.
    pub user_id: String,
    /// Home latitude.
    pub lat: f64,
    /// Home longitude.
    pub lon: f64,
    /// Wants email.
    pub email: bool,
    /// Wants push.
    pub push: bool,
}

/// A published request as the feed's index holds it.
#[derive(Debug, Clone)]
pub struct PublishedCover {
    /// The request's id.
    pub id: String,
    /// Its leaf in the transparency log.
    pub log_index: i64,
    /// When it was published, as stored (the feed's order and cursor position).
    pub published_at: String,
    /// The agency that asks.
    pub agency_id: String,
    /// Its area (GeoJSON Polygon).
    pub area: serde_json::Value,
    /// The H3 cells covering the area (`request_cells`).
    pub cells: Vec<i64>,
}

/// A comment as stored, with its author's display name.
#[derive(Debug, Clone)]
pub struct CommentRecord {
    /// Its id.
    pub id: String,
    /// The request it is on.
    pub request_id: String,
    /// Who wrote it.
    pub author_id: String,
    /// The author's display name (never an address).
    pub author_name: Option<String>,
    /// Written on behalf of the agency.
    pub as_agency: bool,
    /// The text.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A stored Web Push subscription.
#[derive(Debug, Clone)]
pub struct PushSubscriptionRecord {
    /// Its id.
    pub id: String,
    /// The push service URL.
    pub endpoint: String,
    /// The browser's public key, base64url.
    pub p256dh: String,
    /// The browser's auth secret, base64url.
    pub auth: String,
}

/// Who may be notified of a request: exactly the WHERE clause of the `users_recipients` index
/// (migration `20261125000006`), so that the query planners see it is usable.
const RECIPIENT: &str = "home_cell IS NOT NULL AND role = 'resident' AND disabled = FALSE \
                         AND community_requests = TRUE";

/// Range branches in a targeting query come in multiples of this (see
/// [`Db::recipients_in_ranges`]).
const RANGE_BRANCHES: usize = 8;

/// Ids per `IN (…)` list: well under SQLite's 32,766 bound parameters.
const IN_LIST_CHUNK: usize = 5_000;

fn in_list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One home of [`Db::recipients_in_ranges`]'s packed answer: `id lat lon email push`.
fn unpack_recipient(home: &str) -> Result<Recipient> {
    let bad = || StoreError::Corrupt(format!("a packed recipient reads {home:?}"));
    let mut fields = home.split(' ');
    let mut next = || fields.next().ok_or_else(bad);
    let user_id = next()?.to_owned();
    let lat = next()?.parse().map_err(|_| bad())?;
    let lon = next()?.parse().map_err(|_| bad())?;
    let email = next()? == "1";
    let push = next()? == "1";
    Ok(Recipient {
        user_id,
        lat,
        lon,
        email,
        push,
    })
}

impl Db {
    /// A resident's settings.
    pub async fn resident_settings(&self, user_id: &str) -> Result<Option<ResidentSettings>> {
        let row = sqlx::query(
            "SELECT community_requests, notify_push, notify_email FROM users WHERE id = $1 AND role = 'resident'",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ResidentSettings {
                community_requests: flag(&r, "community_requests")?,
                push: flag(&r, "notify_push")?,
                email: flag(&r, "notify_email")?,
            })
        })
        .transpose()
    }

    /// Saves a resident's settings and cancels every queued notification they no longer want,
    /// in one transaction, so nothing slips out after the answer.
    pub async fn save_resident_settings(
        &self,
        user_id: &str,
        s: ResidentSettings,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET community_requests = $1, notify_push = $2, notify_email = $3, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(s.community_requests)
        .bind(s.push)
        .bind(s.email)
        .bind(ts(now))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        for (channel, wanted) in [("email", s.email), ("push", s.push)] {
            if !(wanted && s.community_requests) {
                sqlx::query(
                    "UPDATE notification_outbox SET state = 'cancelled', updated_at = $1 \
                     WHERE user_id = $2 AND channel = $3 AND state = 'pending'",
                )
                .bind(ts(now))
                .bind(user_id)
                .bind(channel)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        // The Community Requests setting is read with the session.
        self.sessions.forget_user(user_id);
        Ok(())
    }

    /// Published requests past log index `after`, in log order, at most `limit`: what the
    /// feed's index needs of each (its area and cover cells). The log numbers publications in
    /// commit order (the index is reserved as the publishing transaction's first write), so a
    /// reader that remembers the last index it saw misses none.
    pub async fn published_covers(&self, after: i64, limit: i64) -> Result<Vec<PublishedCover>> {
        let rows = sqlx::query(
            "SELECT id, log_index, published_at, agency_id, area FROM community_requests \
             WHERE status = 'published' AND log_index > $1 ORDER BY log_index LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut covers = rows
            .iter()
            .map(|r| {
                let area: String = r.try_get("area")?;
                Ok(PublishedCover {
                    id: r.try_get("id")?,
                    log_index: r.try_get("log_index")?,
                    published_at: r.try_get("published_at")?,
                    agency_id: r.try_get("agency_id")?,
                    area: serde_json::from_str(&area)
                        .map_err(|e| StoreError::Corrupt(format!("area: {e}")))?,
                    cells: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if covers.is_empty() {
            return Ok(covers);
        }
        let sql = format!(
            "SELECT request_id, cell FROM request_cells WHERE request_id IN ({})",
            in_list(1, covers.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for c in &covers {
            q = q.bind(c.id.as_str());
        }
        let mut cells: HashMap<String, Vec<i64>> = HashMap::new();
        for r in q.fetch_all(&self.pool).await? {
            cells
                .entry(r.try_get("request_id")?)
                .or_default()
                .push(r.try_get("cell")?);
        }
        for c in &mut covers {
            c.cells = cells.remove(&c.id).unwrap_or_default();
        }
        Ok(covers)
    }

    /// Every agency's name, by id.
    pub async fn agency_names(&self) -> Result<HashMap<String, String>> {
        let rows = sqlx::query("SELECT id, name FROM agencies")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
            .collect()
    }

    /// The published requests among `ids`, in no particular order.
    pub async fn published_requests_by_id(&self, ids: &[&str]) -> Result<Vec<RequestRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{REQUEST_SELECT} WHERE r.status = 'published' AND r.id IN ({})",
            in_list(1, ids.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(request_from_row).collect()
    }

    /// Residents who want Community Requests, whose home cell falls in one of the inclusive
    /// `ranges` and whose home lies in `bounds` (the area's bounding box, edges included).
    /// Candidates only: the caller applies the exact test.
    pub async fn recipients_in_ranges(
        &self,
        ranges: &[(i64, i64)],
        bounds: geo::Rect<f64>,
    ) -> Result<Vec<Recipient>> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        // One range scan of `users_recipients` per range, joined with UNION ALL (a cover's
        // cells do not overlap, so neither do their ranges): each scan reads the index alone,
        // and the bounding box, tested on the index's own columns, drops about a third of the
        // cells' homes before they leave the database. The eligibility test is written as the
        // partial index's own WHERE clause, literals and all, so both databases can use it; an
        // OR of the ranges would make SQLite look every row up in the table.
        // Padded with empty ranges to a multiple of RANGE_BRANCHES, so that a handful of
        // statement texts serve every area: the databases then reuse prepared statements and
        // their plans instead of planning a new union for each count.
        let padded = ranges.len().div_ceil(RANGE_BRANCHES) * RANGE_BRANCHES;
        let ranges: Vec<(i64, i64)> = ranges
            .iter()
            .copied()
            .chain(std::iter::repeat((1, 0)))
            .take(padded)
            .collect();
        let branches: Vec<String> = (0..ranges.len())
            .map(|i| {
                format!(
                    "SELECT id, home_lat, home_lon, notify_email, notify_push FROM users WHERE {RECIPIENT} AND home_cell BETWEEN ${} AND ${} \
                     AND home_lat BETWEEN $1 AND $2 AND home_lon BETWEEN $3 AND $4",
                    2 * i + 5,
                    2 * i + 6
                )
            })
            .collect();
        // The candidates come back packed into one text value, `id lat lon email push` per
        // home, comma-separated: the drivers' cost is per row (SQLite's hands each row over
        // from its worker thread), and a few hundred rows cost more than the scans. Coordinates
        // are written with enough digits to read back as the same f64: 17 significant digits
        // in SQLite (`!` lifts its printf's limit of 16), and PostgreSQL's shortest exact form
        // (its float text since version 12, with sqlx's `extra_float_digits`). A test reads
        // back 300 random homes to the last bit on both.
        let packed = match self.backend {
            Backend::Sqlite => {
                "group_concat(id || ' ' || printf('%!.17g', home_lat) || ' ' || printf('%!.17g', home_lon) \
                 || ' ' || CAST(notify_email AS INTEGER) || ' ' || CAST(notify_push AS INTEGER), ',')"
            }
            Backend::Postgres => {
                "string_agg(id || ' ' || home_lat::text || ' ' || home_lon::text \
                 || ' ' || notify_email::integer || ' ' || notify_push::integer, ',')"
            }
        };
        let sql = format!(
            "SELECT {packed} AS packed FROM ({}) AS candidates",
            branches.join(" UNION ALL ")
        );
        let (min, max) = (bounds.min(), bounds.max());
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(min.y)
            .bind(max.y)
            .bind(min.x)
            .bind(max.x);
        for (lo, hi) in &ranges {
            q = q.bind(*lo).bind(*hi);
        }
        // PostgreSQL would plan each run of this statement anew, because its generic plan
        // looks dearer than the custom ones: 0.65 ms of planning for 0.25 ms of work. The best
        // plan is the same whatever the ranges (one index-only scan each), so it runs where
        // statements keep their generic plan, made once per connection.
        let row = q.fetch_one(&self.generic_plans).await?;
        let packed: Option<String> = row.try_get("packed")?;
        packed
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|home| !home.is_empty())
            .map(unpack_recipient)
            .collect()
    }

    /// Those of `user_ids` with at least one browser registered for push. Asked after the
    /// exact test, for the residents inside only, rather than probed for every candidate.
    pub async fn with_push_subscription(&self, user_ids: &[&str]) -> Result<HashSet<String>> {
        let mut found = HashSet::new();
        for chunk in user_ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT DISTINCT user_id FROM push_subscriptions WHERE user_id IN ({})",
                in_list(1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(&self.pool).await? {
                found.insert(r.try_get("user_id")?);
            }
        }
        Ok(found)
    }

    /// Comments on a request, oldest first.
    pub async fn comments(&self, request_id: &str) -> Result<Vec<CommentRecord>> {
        let rows = sqlx::query(
            "SELECT c.id, c.request_id, c.author_id, u.display_name, c.as_agency, c.body, c.created_at \
             FROM comments c JOIN users u ON u.id = c.author_id WHERE c.request_id = $1 \
             ORDER BY c.created_at, c.id",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CommentRecord {
                    id: r.try_get("id")?,
                    request_id: r.try_get("request_id")?,
                    author_id: r.try_get("author_id")?,
                    author_name: r.try_get("display_name")?,
                    as_agency: flag(r, "as_agency")?,
                    body: r.try_get("body")?,
                    created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                })
            })
            .collect()
    }

    /// Adds a comment and answers its id.
    pub async fn insert_comment(
        &self,
        request_id: &str,
        author_id: &str,
        as_agency: bool,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let id = super::new_id();
        sqlx::query(
            "INSERT INTO comments (id, request_id, author_id, as_agency, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(request_id)
        .bind(author_id)
        .bind(as_agency)
        .bind(body)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// A published request by its share id.
    pub async fn request_by_public_id(&self, public_id: &str) -> Result<Option<RequestRecord>> {
        let sql = format!("{REQUEST_SELECT} WHERE r.public_id = $1 AND r.status = 'published'");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(public_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    /// Registers (or re-registers) a browser's push subscription for a resident.
    pub async fn save_push_subscription(
        &self,
        user_id: &str,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        // A browser keeps its endpoint across re-subscriptions; the newest owner and keys win.
        sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1")
            .bind(endpoint)
            .execute(&self.pool)
            .await?;
        let id = super::new_id();
        sqlx::query(
            "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(endpoint)
        .bind(p256dh)
        .bind(auth)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// A resident's push subscriptions.
    pub async fn push_subscriptions(&self, user_id: &str) -> Result<Vec<PushSubscriptionRecord>> {
        let rows = sqlx::query(
            "SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PushSubscriptionRecord {
                    id: r.try_get("id")?,
                    endpoint: r.try_get("endpoint")?,
                    p256dh: r.try_get("p256dh")?,
                    auth: r.try_get("auth")?,
                })
            })
            .collect()
    }

    /// Forgets a subscription the push service says is gone.
    pub async fn delete_push_subscription(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Tx {
    /// Stores the cells covering a published request's area.
    pub async fn insert_request_cells(&mut self, request_id: &str, cells: &[i64]) -> Result<()> {
        for cell in cells {
            sqlx::query("INSERT INTO request_cells (cell, request_id) VALUES ($1, $2)")
                .bind(*cell)
                .bind(request_id)
                .execute(&mut *self.0)
                .await?;
        }
        Ok(())
    }

    /// Queues the fan-out of a published request.
    pub async fn insert_fanout_job(&mut self, request_id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("INSERT INTO fanout_jobs (request_id, created_at) VALUES ($1, $2)")
            .bind(request_id)
            .bind(ts(now))
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }
}

/// Turns a stored cell number back into an i64 (they always fit: H3's top bit is 0).
pub fn cell_i64(cell: u64) -> Result<i64> {
    i64::try_from(cell).map_err(|_| StoreError::Corrupt(format!("cell {cell}")))
}
