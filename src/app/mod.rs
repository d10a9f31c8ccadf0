//! Use cases: one function per thing a user does. Each takes the acting [`Principal`],
//! checks authorization here (and only here), and answers [`AppError`].

pub mod accounts;
pub mod agencies;
pub mod audit;
pub mod auth;
pub mod demo;
pub mod devices;
mod error;
pub mod evidence;
pub mod export;
pub mod feed_index;
pub mod moderation;
pub mod recordings;
pub mod requests;
pub mod residents;
pub mod transparency;
pub mod uploads;

pub use error::{AppError, Result};

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::domain::Role;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::checkpoint::LogSigner;
use crate::store::blobs::Blobs;
use crate::store::{AuditEntry, Db, UserRecord};

/// Everything a use case needs: the database, the settings and the log's signing key.
#[derive(Debug, Clone)]
pub struct App {
    /// The database.
    pub db: Db,
    /// The settings the service runs with.
    pub settings: Arc<Settings>,
    /// Signs transparency-log checkpoints.
    pub log_signer: Arc<LogSigner>,
    /// Signs feed cursors, so forged ones are refused.
    pub cursor_key: [u8; 32],
    /// Recordings and evidence.
    pub blobs: Blobs,
    /// Published requests read by the feed, kept because they never change.
    pub published: Arc<residents::PublishedCache>,
    /// Which published requests lie over which homes, in memory.
    pub feed_index: Arc<feed_index::FeedIndex>,
    /// One permit per evidence export being streamed (`max_concurrent_exports`), so a burst
    /// of exports cannot take all of the disk and the cores.
    pub export_slots: Arc<tokio::sync::Semaphore>,
    /// Seconds added to the wall clock: lets tests and demos see a request's response window
    /// close without waiting 60 days. Zero in normal service.
    clock_offset: Arc<AtomicI64>,
}

/// The signed-in account making a request, as established by its session.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The account's id.
    pub user_id: String,
    /// The account's email.
    pub email: String,
    /// The account's role.
    pub role: Role,
    /// The agency, for agency members.
    pub agency_id: Option<String>,
    /// The account's display name.
    pub display_name: Option<String>,
    /// Hash of the session token, to end this session at logout.
    pub session_hash: String,
    /// The session may only enroll and confirm a second factor.
    pub mfa_pending: bool,
    /// Where the request came from, for the audit log.
    pub source_ip: Option<String>,
    /// A resident's home (latitude, longitude), read with the session: it decides which
    /// requests they see.
    pub home: Option<(f64, f64)>,
    /// A resident's Community Requests setting, read with the session (off: an empty feed).
    pub community_requests: bool,
}

impl Principal {
    /// The principal acting as `user` without a session (a camera's token, the demo seeder):
    /// such a principal cannot log out.
    pub(crate) fn without_session(user: UserRecord, source_ip: Option<String>) -> Principal {
        Principal {
            home: user.home_lat.zip(user.home_lon),
            community_requests: user.community_requests,
            user_id: user.id,
            email: user.email,
            role: user.role,
            agency_id: user.agency_id,
            display_name: user.display_name,
            session_hash: String::new(),
            mfa_pending: false,
            source_ip,
        }
    }

    /// An audit record of something this principal did.
    pub(crate) fn audit_entry<'a>(
        &'a self,
        action: AuditAction,
        target: Option<&'a str>,
        outcome: Outcome,
        detail: Option<&'a str>,
    ) -> AuditEntry<'a> {
        AuditEntry {
            actor_id: Some(&self.user_id),
            actor_email: Some(&self.email),
            action,
            target,
            source_ip: self.source_ip.as_deref(),
            outcome,
            detail,
        }
    }
}

/// Every staff role (all but resident).
pub(crate) const STAFF: &[Role] = &[
    Role::Admin,
    Role::Moderator,
    Role::AgencyAdmin,
    Role::Investigator,
];

impl App {
    /// Opens the data folder: creates it, opens the database (running migrations) and loads
    /// or generates the keys kept there.
    pub async fn open(settings: Settings) -> anyhow::Result<App> {
        use anyhow::Context;
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("cannot create data_dir {}", settings.data_dir.display()))?;
        let db = Db::connect(&settings.database_url).await.with_context(|| {
            format!(
                "cannot open the database at {}",
                crate::config::redact_url(&settings.database_url)
            )
        })?;
        let key_path = settings
            .data_dir
            .join("keys")
            .join("transparency-ed25519.key");
        let secret = crate::store::keys::load_or_create_secret(&key_path)
            .with_context(|| format!("cannot read or create {}", key_path.display()))?;
        let log_signer = LogSigner::from_bytes(settings.log_origin(), &secret);
        let cursor_path = settings.data_dir.join("keys").join("cursor-hmac.key");
        let cursor_key = crate::store::keys::load_or_create_secret(&cursor_path)
            .with_context(|| format!("cannot read or create {}", cursor_path.display()))?;
        let blobs = Blobs::open(&settings.blob_url)
            // The query may hold S3 credentials: leave it out of the message.
            .with_context(|| {
                let shown = settings.blob_url.split('?').next().unwrap_or_default();
                format!("cannot open the blob store {shown}")
            })?;
        Ok(App {
            clock_offset: Arc::new(AtomicI64::new(0)),
            export_slots: Arc::new(tokio::sync::Semaphore::new(
                settings.max_concurrent_exports as usize,
            )),
            blobs,
            feed_index: Arc::default(),
            published: Arc::new(residents::PublishedCache::new(
                residents::PUBLISHED_CACHE_ENTRIES,
            )),
            db,
            settings: Arc::new(settings),
            log_signer: Arc::new(log_signer),
            cursor_key,
        })
    }

    /// The current time. One place, so every rule sees the same clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.clock_offset.load(Ordering::Relaxed))
    }

    /// The same service with other settings (benches and tools that change one setting).
    pub fn with_settings(&self, settings: Settings) -> App {
        App {
            settings: Arc::new(settings),
            ..self.clone()
        }
    }

    /// Moves this service's clock forward by `by` (tests and demos: a closed response window,
    /// an expired upload). Every clone of this `App`, the server's included, sees the change.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.clock_offset
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }

    /// Brings the feed's index up to date after this server published a request or renamed
    /// an agency. The change is committed whatever happens here: a failure is logged, and the
    /// once-a-second catch-up (`jobs::feed_index`) retries.
    pub(crate) async fn refresh_feed_index(&self) {
        if let Err(e) = self.feed_index.catch_up(&self.db).await {
            tracing::warn!(error = %e, "the feed index did not catch up; it will retry");
        }
    }

    /// Appends to the audit log. A failure to audit fails the action: an unaudited
    /// security event is worse than a refused one.
    pub(crate) async fn audit(&self, entry: AuditEntry<'_>) -> Result<()> {
        self.db.append_audit(&entry, self.now()).await?;
        Ok(())
    }

    /// Records a refusal by `who` of `action` on `target` and answers `error`.
    async fn deny(&self, who: &Principal, target: &str, error: AppError) -> AppError {
        let detail = error.code();
        let logged = self
            .audit(who.audit_entry(
                AuditAction::AccessDenied,
                Some(target),
                Outcome::Denied,
                Some(detail),
            ))
            .await;
        match logged {
            Ok(()) => error,
            Err(e) => e,
        }
    }

    /// Refuses with 403 unless `who` has one of `roles`; the refusal is audited.
    pub(crate) async fn require_role(
        &self,
        who: &Principal,
        roles: &[Role],
        target: &str,
    ) -> Result<()> {
        if roles.contains(&who.role) {
            Ok(())
        } else {
            Err(self
                .deny(
                    who,
                    target,
                    AppError::Forbidden("your role may not do this"),
                )
                .await)
        }
    }

    /// Answers 404 for another tenant's object, as if it did not exist; the attempt is audited.
    pub(crate) async fn not_found_for(
        &self,
        who: &Principal,
        target: &str,
        what: &'static str,
    ) -> AppError {
        self.deny(who, target, AppError::NotFound(what)).await
    }
}
