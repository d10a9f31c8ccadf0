//! What residents do: read their feed, set how they hear about requests, register for push,
//! comment, and open share links. Reading writes nothing: no view log, no "seen" flag.

use super::requests::{Audience, RequestDetail};
use super::{App, AppError, Principal, Result};
use crate::domain::area::{self, Shape};
use crate::domain::cursor::{self, Position};
use crate::domain::validation::Problems;
use crate::domain::{Role, geo_index};
use crate::store::{CommentRecord, RequestRecord, ResidentSettings, cell_i64};
use std::sync::Arc;

/// The most items a feed page holds.
pub const FEED_PAGE: usize = 20;
/// The longest comment, in characters.
pub const COMMENT_MAX_CHARS: usize = 2_000;

/// One request in the feed.
#[derive(Debug, Clone)]
pub struct FeedItem {
    /// The request as published (it never changes).
    pub request: Arc<RequestRecord>,
    /// Its agency's name now (it may have been renamed since).
    pub agency_name: String,
}

impl FeedItem {
    /// The request as a resident sees it.
    pub fn detail(&self) -> RequestDetail {
        let mut record = RequestRecord::clone(&self.request);
        record.agency_name = self.agency_name.clone();
        RequestDetail {
            record,
            audience: Audience::Resident,
            decision: None,
        }
    }
}

/// One page of the feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    /// Newest first.
    pub items: Vec<FeedItem>,
    /// Give this back for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// Published requests by id, bounded. A published request never changes (the database refuses
/// updates), so a feed read takes its items from here and asks the database only for those it
/// lacks.
pub type PublishedCache = quick_cache::sync::Cache<String, Arc<RequestRecord>>;

/// How many published requests [`PublishedCache`] keeps (a few KB each).
pub const PUBLISHED_CACHE_ENTRIES: usize = 4_096;

/// Whether a stored area holds a home (boundary included).
pub fn area_holds(record: &RequestRecord, lat: f64, lon: f64) -> Result<bool> {
    let area = area::parse(&record.content.area, Shape::Polygon)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored area is invalid: {e}")))?;
    Ok(area
        .0
        .first()
        .is_some_and(|p| geo_index::contains_home(p, lat, lon)))
}

/// Checks a comment's text: not empty, not too long, no control characters but line breaks.
pub fn validate_comment(body: &str) -> Result<String> {
    let mut p = Problems::new();
    let trimmed = body.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        p.add("body", "is empty");
    } else if len > COMMENT_MAX_CHARS {
        p.add(
            "body",
            format!("is {len} characters long; the limit is {COMMENT_MAX_CHARS}"),
        );
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        p.add("body", "contains control characters");
    }
    p.finish("invalid_comment", "The comment is not valid")?;
    Ok(trimmed.to_owned())
}

impl App {
    async fn resident_home(&self, who: &Principal) -> Result<(f64, f64)> {
        self.require_role(who, &[Role::Resident], "feed").await?;
        who.home
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("resident without a home")))
    }

    /// The published requests whose area holds the resident's home, newest first; empty when
    /// the resident turned Community Requests off.
    pub async fn feed(&self, who: &Principal, cursor: Option<&str>) -> Result<FeedPage> {
        let (lat, lon) = self.resident_home(who).await?;
        if !who.community_requests {
            return Ok(FeedPage {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let after = match cursor {
            Some(c) => Some(cursor::decode(&self.cursor_key, c).map_err(|e| {
                AppError::Invalid(crate::domain::ValidationError::field(
                    "invalid_cursor",
                    "cursor",
                    e,
                ))
            })?),
            None => None,
        };
        let cells: Vec<i64> = geo_index::home_ancestors(lat, lon)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("home cell: {e}")))?
            .into_iter()
            .map(cell_i64)
            .collect::<std::result::Result<_, _>>()?;
        // One more than a page: whether there is a next page.
        let mut hits = self.feed_index.over_home(
            lat,
            lon,
            &cells,
            after
                .as_ref()
                .map(|p: &Position| (p.at.as_str(), p.id.as_str())),
            FEED_PAGE + 1,
        );
        let more = hits.len() > FEED_PAGE;
        hits.truncate(FEED_PAGE);
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        let published = self.published_requests(&ids).await?;
        let next_cursor = more.then(|| hits.last()).flatten().map(|last| {
            let position = Position {
                at: last.published_at.clone(),
                id: last.id.clone(),
            };
            cursor::encode(&self.cursor_key, &position)
        });
        let items = hits
            .into_iter()
            .zip(published)
            .map(|(hit, request)| FeedItem {
                // The one thing shown with a published request that can change.
                agency_name: hit
                    .agency_name
                    .map_or_else(|| request.agency_name.clone(), |n| n.to_string()),
                request,
            })
            .collect();
        Ok(FeedPage { items, next_cursor })
    }

    /// Published requests by id, in that order: from the cache of published requests, and the
    /// ones it lacks from the database in one query.
    async fn published_requests(&self, ids: &[&str]) -> Result<Vec<Arc<RequestRecord>>> {
        let mut found: Vec<Option<Arc<RequestRecord>>> =
            ids.iter().map(|id| self.published.get(*id)).collect();
        let missing: Vec<&str> = ids
            .iter()
            .zip(&found)
            .filter(|(_, hit)| hit.is_none())
            .map(|(id, _)| *id)
            .collect();
        if !missing.is_empty() {
            let mut loaded = std::collections::HashMap::new();
            for record in self.db.published_requests_by_id(&missing).await? {
                let record = Arc::new(record);
                self.published.insert(record.id.clone(), record.clone());
                loaded.insert(record.id.clone(), record);
            }
            for (slot, id) in found.iter_mut().zip(ids) {
                if slot.is_none() {
                    *slot = loaded.get(*id).cloned();
                }
            }
        }
        found
            .into_iter()
            .map(|hit| {
                hit.ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("a feed item is not published"))
                })
            })
            .collect()
    }

    /// The resident's settings.
    pub async fn settings(&self, who: &Principal) -> Result<ResidentSettings> {
        self.require_role(who, &[Role::Resident], "settings")
            .await?;
        self.db
            .resident_settings(&who.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// Saves the resident's settings; turning a channel (or everything) off cancels what is
    /// queued for them on it.
    pub async fn update_settings(
        &self,
        who: &Principal,
        s: ResidentSettings,
    ) -> Result<ResidentSettings> {
        self.require_role(who, &[Role::Resident], "settings")
            .await?;
        self.db
            .save_resident_settings(&who.user_id, s, self.now())
            .await?;
        self.settings(who).await
    }

    /// Registers a browser for Web Push.
    pub async fn add_push_subscription(
        &self,
        who: &Principal,
        subscription: &serde_json::Value,
    ) -> Result<String> {
        self.require_role(who, &[Role::Resident], "push_subscriptions")
            .await?;
        let sub = crate::domain::push::parse_subscription(
            subscription,
            self.settings.push_allow_loopback_http,
        )?;
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        Ok(self
            .db
            .save_push_subscription(
                &who.user_id,
                &sub.endpoint,
                &b64.encode(&sub.p256dh),
                &b64.encode(&sub.auth),
                self.now(),
            )
            .await?)
    }

    /// Turns community-request emails off for the resident an unsubscribe link was made for
    /// (RFC 8058 one-click: no sign-in, the signed link is the proof).
    pub async fn unsubscribe_email(&self, token: &str) -> Result<()> {
        let (user_id, current) = self.unsubscribe_target(token).await?;
        let settings = ResidentSettings {
            email: false,
            ..current
        };
        self.db
            .save_resident_settings(&user_id, settings, self.now())
            .await?;
        Ok(())
    }

    /// The resident an unsubscribe link was made for, with their settings; 404 for a link this
    /// server did not issue. Reads only.
    pub async fn unsubscribe_target(&self, token: &str) -> Result<(String, ResidentSettings)> {
        let user_id = cursor::open(&self.cursor_key, "unsubscribe", token)
            .ok_or(AppError::NotFound("unsubscribe link"))?;
        let Some(current) = self.db.resident_settings(&user_id).await? else {
            return Err(AppError::NotFound("unsubscribe link"));
        };
        Ok((user_id, current))
    }

    /// A published request by its share link (anyone with the link).
    pub async fn shared_request(&self, public_id: &str) -> Result<RequestRecord> {
        self.db
            .request_by_public_id(public_id)
            .await?
            .ok_or(AppError::NotFound("request"))
    }

    /// Who may comment on (and read comments of) a request: its agency, staff, residents who can
    /// see it, and signed-in residents who hold its share link.
    async fn commentable(
        &self,
        who: &Principal,
        id: &str,
        via_link: Option<&str>,
    ) -> Result<RequestRecord> {
        let detail = self.request_detail(who, id, via_link).await?;
        if detail.record.status != "published" {
            return Err(AppError::Conflict {
                code: "request_not_published",
                message: "comments open when the request is published".into(),
            });
        }
        Ok(detail.record)
    }

    /// The comments on a request, oldest first, with the request they are on.
    pub async fn comments(
        &self,
        who: &Principal,
        id: &str,
        via_link: Option<&str>,
    ) -> Result<(RequestRecord, Vec<CommentRecord>)> {
        let record = self.commentable(who, id, via_link).await?;
        let comments = self.db.comments(&record.id).await?;
        Ok((record, comments))
    }

    /// Adds a comment. The agency's members comment as the agency. Comments stay open after the
    /// response window closes.
    pub async fn add_comment(
        &self,
        who: &Principal,
        id: &str,
        body: &str,
        via_link: Option<&str>,
    ) -> Result<(RequestRecord, CommentRecord)> {
        let body = validate_comment(body)?;
        let record = self.commentable(who, id, via_link).await?;
        let as_agency = who.agency_id.as_deref() == Some(record.agency_id.as_str());
        if who.role.is_staff() && !as_agency {
            return Err(AppError::Forbidden(
                "only the request's agency and residents comment",
            ));
        }
        let comment_id = self
            .db
            .insert_comment(&record.id, &who.user_id, as_agency, &body, self.now())
            .await?;
        let comment = self
            .db
            .comments(&record.id)
            .await?
            .into_iter()
            .find(|c| c.id == comment_id)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("comment vanished")))?;
        Ok((record, comment))
    }
}

impl App {
    /// Where the resident's home is (latitude, longitude): the camera page centres its map
    /// there. Residents only.
    pub async fn home_location(&self, who: &Principal) -> Result<(f64, f64)> {
        self.resident_home(who).await
    }
}
