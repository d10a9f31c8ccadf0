//! Persistence: SQL on SQLite or PostgreSQL, and blob storage ([`blobs`]).
//!
//! One set of queries serves both databases through sqlx's `Any` driver: `$1` placeholders,
//! text ids, and times as fixed-width RFC 3339 text. Where the dialects differ (schema,
//! triggers, row locking) the difference lives here, chosen by [`Backend`].

mod agencies;
mod audit;
pub mod blobs;
mod devices;
mod evidence;
mod export;
pub mod keys;
pub mod outbox;
mod recordings;
mod requests;
mod residents;
mod sessions;
mod transparency;
mod uploads;
mod users;

pub use agencies::{AgencyChanges, AgencyRecord, NewAgency};
pub use audit::{AuditEntry, AuditRecord};
pub use devices::{DeviceRecord, NewDevice};
pub use evidence::{EvidenceRecord, SubmissionRecord};
pub use recordings::{NewRecording, RecordingRecord};
pub use requests::{ReportRow, RequestContent, RequestEvent, RequestRecord};
pub use residents::{
    CommentRecord, PublishedCover, PushSubscriptionRecord, Recipient, ResidentSettings, cell_i64,
};
pub use sessions::{SESSION_CACHE_TTL, SessionRecord, SessionUser};
pub use uploads::{FinishOutcome, NewUpload, SegmentCommit, UploadRecord};
pub use users::{NewUser, UserRecord};

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::ErrorKind;
use sqlx::{Any, AnyPool, Decode, Row, Type};

/// Errors from the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or refused a statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed at start.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (a bug or a manual edit).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the error is a unique-key violation (a duplicate).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.kind() == ErrorKind::UniqueViolation)
    }
}

/// Shorthand for store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file in WAL mode.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The database: a pool and the dialect behind it.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    /// Connections whose prepared statements always run their generic plan, for a query whose
    /// best plan does not depend on its parameters but whose planning costs more than its run
    /// (targeting). On PostgreSQL a small pool of its own, so every other query keeps the
    /// planner's usual choice; on SQLite, which plans once per statement anyway, the pool.
    generic_plans: AnyPool,
    backend: Backend,
    /// Sessions read in the last second (see [`sessions::SessionCache`]).
    sessions: std::sync::Arc<sessions::SessionCache>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Db {
    /// Connects and runs the migrations. A SQLite file is created when missing.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL persists in the file; the others are per connection.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let generic_plans = match backend {
            Backend::Sqlite => pool.clone(),
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(4)
                    .min_connections(0)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // PostgreSQL would otherwise plan each run of a statement anew when
                            // its generic plan looks dearer than the custom ones.
                            sqlx::query("SET plan_cache_mode = force_generic_plan")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_lazy(&url)?
            }
        };
        let db = Db {
            pool,
            generic_plans,
            backend,
            sessions: std::sync::Arc::default(),
        };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&db.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&db.pool).await?,
        }
        Ok(db)
    }

    /// The dialect.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for queries that stay inside this module tree and for tests.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction. Dropped without [`Tx::commit`], it rolls back.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx(self.pool.begin().await?))
    }

    /// A trivial query, to show the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to return.
    pub async fn close(&self) {
        self.pool.close().await;
        self.generic_plans.close().await;
    }

    /// The rows `sql` selects with its one parameter (`$1`) bound to `key`, each read by `map`.
    async fn fetch_all_by<T>(
        &self,
        sql: String,
        key: &str,
        map: fn(&AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(map).collect()
    }

    /// The row `sql` selects with its one parameter (`$1`) bound to `key`, if any, read by
    /// `map`.
    async fn fetch_one_by<T>(
        &self,
        sql: String,
        key: &str,
        map: fn(&AnyRow) -> Result<T>,
    ) -> Result<Option<T>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(map).transpose()
    }
}

/// A transaction: the writes of one use case, all or nothing.
pub struct Tx(sqlx::Transaction<'static, Any>);

impl Tx {
    /// Makes the writes permanent.
    pub async fn commit(self) -> Result<()> {
        self.0.commit().await?;
        Ok(())
    }
}

/// Formats a time the way every table stores it: fixed-width RFC 3339 UTC.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a stored time back.
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time {s:?}: {e}")))
}

fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

/// A time column.
fn time(row: &AnyRow, col: &str) -> Result<DateTime<Utc>> {
    parse_ts(&row.try_get::<String, _>(col)?)
}

/// A count column (a size, an offset, a sequence number), stored as `BIGINT`, read as `u64`.
fn u64_col(row: &AnyRow, col: &str) -> Result<u64> {
    let n: i64 = row.try_get(col)?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{col} {n}")))
}

/// A count as a `BIGINT` column holds it.
fn i64_of(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{what} {n} is too large")))
}

/// A boolean column: `BOOLEAN` on PostgreSQL, `INTEGER` 0/1 on SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl Type<Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }

    fn compatible(_ty: &sqlx::any::AnyTypeInfo) -> bool {
        true
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        use sqlx::ValueRef;
        if *value.type_info() == <bool as Type<Any>>::type_info() {
            <bool as Decode<Any>>::decode(value).map(Flag)
        } else {
            <i64 as Decode<Any>>::decode(value).map(|i| Flag(i != 0))
        }
    }
}

fn flag(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(row.try_get::<Flag, _>(col)?.0)
}

/// A fresh random id for a new row.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
