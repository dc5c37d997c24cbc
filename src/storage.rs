//! The one narrow interface the rest of supahook uses to reach the database.
//!
//! Callers speak domain types ([`Delivery`], [`MirrorUser`], [`Outcome`]); each
//! backend is its own module with its own schema, rows and migrations.

mod apply;
mod backend;
mod bell;
mod group_commit;
mod lease;
mod op_groups;
mod outbox;
mod postgres;
pub(crate) mod push;
mod push_queries;
mod push_writes;
mod read;
mod read_queries;
mod revert;
mod rows;
mod schema_name;
mod sqlite;

pub use apply::{Applied, Batch, Request};
pub use backend::{Backend, ChangeWatch, OutboxQueries, PushQueries, Queries, Storage};
pub use bell::EventBell;
pub use group_commit::{GroupCommit, MAX_BATCH};
pub use lease::PublisherLease;
pub use outbox::RecordedEvent;
pub use push::{
    PushAttempt, PushAttemptFilter, PushAttemptRecord, PushBatch, PushBatchResult, PushClaim,
    PushEndpointState, PushQueued, PushStep, RedeliverWindow,
};
pub use read::{
    DeliveryCursor, DeliveryFilter, DeliveryRecord, ProfileChanges, ProfileClaim, ProfileDetails,
    UserDetails, UserFilter,
};
pub use revert::{Removed, RevertPlan, RevertStep, Reverted};
pub use schema_name::{SchemaName, TABLES};

use crate::mirror::{MirrorUser, Profile};
use diesel_async::{AsyncConnection, AsyncMigrationHarness};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use std::time::Duration;
use uuid::Uuid;

/// How long a request waits for a pooled connection before reporting the database unavailable.
/// Supabase gives a hook 5 seconds in all, retries included, so this stays well below.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1000);

/// Waits at most [`ACQUIRE_TIMEOUT`] for a pooled connection (`get`: the pool's own
/// checkout); a pool that cannot supply one in time means the database is unavailable.
async fn checkout<T, E: std::fmt::Display>(
    get: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, StorageError> {
    match tokio::time::timeout(ACQUIRE_TIMEOUT, get).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(StorageError::Unavailable(e.to_string())),
        Err(_) => Err(StorageError::Unavailable(
            "timed out waiting for a database connection".into(),
        )),
    }
}

/// Runs the pending `migrations` on `conn` and hands the connection back, with the
/// versions applied, oldest first.
fn run_migrations<C>(
    conn: C,
    migrations: EmbeddedMigrations,
) -> (C, Result<Vec<String>, StorageError>)
where
    C: AsyncConnection,
    AsyncMigrationHarness<C>: MigrationHarness<C::Backend>,
{
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(migrations)
        .map(|applied| applied.iter().map(ToString::to_string).collect())
        .map_err(|e| StorageError::Migration(e.to_string()));
    (harness.into_inner(), applied)
}

/// The versions of `migrations` not yet applied on `conn`, oldest first.
fn pending_migrations<C>(
    conn: C,
    migrations: EmbeddedMigrations,
) -> Result<Vec<String>, StorageError>
where
    C: AsyncConnection,
    AsyncMigrationHarness<C>: MigrationHarness<C::Backend>,
{
    AsyncMigrationHarness::new(conn)
        .pending_migrations(migrations)
        .map(|pending| {
            pending
                .iter()
                .map(|m| m.name().version().to_string())
                .collect()
        })
        .map_err(|e| StorageError::Migration(e.to_string()))
}

/// A storage failure, classified by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached right now; retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A query failed for another reason.
    #[error("a database query failed")]
    Query(#[source] diesel::result::Error),
    /// Migrations could not be applied.
    #[error("database migrations failed: {0}")]
    Migration(String),
    /// The database URL cannot be used.
    #[error("{0}")]
    Config(String),
    /// The schema already holds tables of supahook's names that supahook did not
    /// create; the message says what to do.
    #[error("{0}")]
    Occupied(String),
    /// A revert of migrations cannot be done as asked.
    #[error("{0}")]
    Revert(String),
}

impl StorageError {
    /// Whether the transaction gave up waiting for a lock that another transaction
    /// held (PostgreSQL's lock timeout, or a deadlock it broke): about the users it
    /// touched, not the database, which is up.
    pub fn is_lock_conflict(&self) -> bool {
        const CONFLICT: [&str; 2] = [
            "canceling statement due to lock timeout", // 55P03
            "deadlock detected",                       // 40P01
        ];
        matches!(self, Self::Unavailable(m) if CONFLICT.iter().any(|c| m.starts_with(c)))
    }
}

impl From<diesel::result::Error> for StorageError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        match error {
            Error::DatabaseError(
                Kind::ClosedConnection
                | Kind::UnableToSendCommand
                | Kind::SerializationFailure
                | Kind::ReadOnlyTransaction,
                info,
            ) => Self::Unavailable(info.message().to_owned()),
            Error::BrokenTransactionManager => {
                Self::Unavailable("the connection was lost mid-transaction".into())
            }
            Error::DatabaseError(Kind::Unknown, info) if is_passing(info.message()) => {
                Self::Unavailable(info.message().to_owned())
            }
            other => Self::Query(other),
        }
    }
}

/// Errors a database reports when it is restarting, overloaded or shedding work: a
/// retry later can succeed. Known by their messages, since diesel does not pass on
/// the SQLSTATE (these are PostgreSQL's English texts).
fn is_passing(message: &str) -> bool {
    const PASSING: [&str; 9] = [
        "terminating connection",         // 57P01, 57P02, 25P03, recovery conflicts
        "the database system is",         // 57P03: starting up, shutting down, in recovery
        "canceling statement due to",     // 57014 statement_timeout, 55P03 lock_timeout
        "deadlock detected",              // 40P01
        "sorry, too many clients",        // 53300
        "remaining connection slots are", // 53300
        "out of memory",                  // 53200
        "out of shared memory",           // 53200
        "could not extend file",          // 53100 disk full
    ];
    PASSING.iter().any(|p| message.starts_with(p))
}

/// What the change listener tells a cache of mirrored users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeNotice {
    /// From now on every change by another process is announced.
    Listening,
    /// Another process changed this user.
    Changed(Uuid),
    /// Changes may have been missed: trust nothing until `Listening` again.
    Lost,
    /// Another process committed lifecycle events.
    EventsRecorded,
}

/// The connection pool's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections checked out, running queries.
    pub in_use: usize,
    /// Connections open and idle.
    pub idle: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

impl PoolStatus {
    /// From a pool of `size` open connections, `available` of them idle.
    fn new(size: usize, available: usize, waiting: usize) -> Self {
        Self {
            in_use: size.saturating_sub(available),
            idle: available,
            waiting,
        }
    }
}

/// A mirrored user with its application-owned profile.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    /// The mirrored user.
    pub user: MirrorUser,
    /// Its profile; `None` only if the application removed it.
    pub profile: Option<Profile>,
}

impl Storage {
    /// Prepares a backend for `url` without connecting yet: PostgreSQL for a
    /// `postgres://` or `postgresql://` URL (or a libpq `key=value` string), a SQLite
    /// file for `sqlite://PATH`, `sqlite:PATH` or an explicit file path (see
    /// [`kind_of`]; its directory is created if missing).
    pub fn open(url: &str, pool_size: usize) -> Result<Self, StorageError> {
        Self::open_in(url, pool_size, &SchemaName::public())
    }

    /// [`Storage::open`], with supahook's tables in `schema` (PostgreSQL; every
    /// connection's `search_path`). A SQLite file has no schemas: any other than
    /// `public` is refused, naming `SUPAHOOK_DB_SCHEMA`.
    pub fn open_in(url: &str, pool_size: usize, schema: &SchemaName) -> Result<Self, StorageError> {
        match kind_of(url)? {
            Kind::Postgres => Ok(Self::Postgres(postgres::PgStore::new(
                url,
                pool_size,
                schema.clone(),
            )?)),
            Kind::Sqlite(_) if !schema.is_public() => Err(StorageError::Config(format!(
                "SUPAHOOK_DB_SCHEMA={schema} applies to PostgreSQL only, and DATABASE_URL names \
                 a SQLite file, which holds supahook's tables alone: unset SUPAHOOK_DB_SCHEMA, \
                 or point DATABASE_URL at PostgreSQL"
            ))),
            Kind::Sqlite(path) => Ok(Self::Sqlite(sqlite::SqliteStore::new(path, pool_size)?)),
        }
    }
}

/// The database a storage writes to, as the start reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    /// `postgres` or `sqlite`.
    pub backend: &'static str,
    /// Server, database, user and TLS mode, or the SQLite file; never a password.
    pub shown: String,
    /// What stays the same for the same database whatever the connection's options:
    /// `postgres://host:port/dbname` or `sqlite:///path/to/file`.
    pub identity: String,
}

/// The kind of backend a `DATABASE_URL` names.
#[derive(Debug, PartialEq, Eq)]
enum Kind<'a> {
    Postgres,
    Sqlite(&'a str),
}

/// Which backend `url` names. A SQLite path must say it is one (`sqlite://`,
/// `sqlite:`, an absolute, `./` or `../` path, or a `.db`, `.sqlite` or `.sqlite3`
/// file): anything else is refused rather than taken for a file name, so that a
/// mistyped PostgreSQL URL (`postgres//db/app`) does not quietly become a local file.
fn kind_of(url: &str) -> Result<Kind<'_>, StorageError> {
    let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if postgres || is_key_value(url) {
        return Ok(Kind::Postgres);
    }
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return Ok(Kind::Sqlite(path));
    }
    if let Some(scheme) = url_scheme(url) {
        return Err(StorageError::Config(format!(
            "DATABASE_URL must be a postgres:// or postgresql:// URL (PostgreSQL), \
             or sqlite://PATH or a file path (SQLite); got a {scheme}: URL"
        )));
    }
    if is_explicit_path(url) {
        return Ok(Kind::Sqlite(url));
    }
    let hint = match url.to_ascii_lowercase().starts_with("postgres") {
        true => " (it starts like a PostgreSQL URL: write postgres://…)",
        false => "",
    };
    Err(StorageError::Config(format!(
        "DATABASE_URL is neither a PostgreSQL URL (postgres://… or postgresql://…) nor an \
         explicit SQLite path or URL (sqlite://PATH, sqlite:PATH, an absolute, ./ or ../ \
         path, or a file ending in .db, .sqlite or .sqlite3){hint}"
    )))
}

/// A libpq `key=value` connection string (`host=db dbname=app`).
fn is_key_value(url: &str) -> bool {
    let first = url.split_whitespace().next().unwrap_or_default();
    first.split_once('=').is_some_and(|(key, _)| {
        !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    })
}

/// A path that says it is a file: absolute, relative to `.` or `..`, or with a
/// SQLite file's extension.
fn is_explicit_path(url: &str) -> bool {
    let path = std::path::Path::new(url);
    let extension = path.extension().and_then(|e| e.to_str());
    path.is_absolute()
        || url.starts_with("./")
        || url.starts_with("../")
        || matches!(extension, Some("db" | "sqlite" | "sqlite3"))
}

/// The scheme of `url` when it has one (`mysql` in `mysql://…`); `None` for a
/// file path. A single letter is a Windows drive, not a scheme.
fn url_scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && scheme.len() > 1).then_some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lock_held_elsewhere_is_a_lock_conflict() {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let from = |message: &str| {
            StorageError::from(Error::DatabaseError(
                Kind::Unknown,
                Box::new(message.to_owned()),
            ))
        };

        assert!(from("canceling statement due to lock timeout").is_lock_conflict());
        assert!(from("deadlock detected").is_lock_conflict());
        for other in [
            "canceling statement due to statement timeout",
            "terminating connection due to administrator command",
            "the database system is shutting down",
            "null value in column",
        ] {
            assert!(!from(other).is_lock_conflict(), "{other}");
        }
        assert!(!StorageError::Unavailable("connection refused".into()).is_lock_conflict());
    }

    #[test]
    fn outages_and_lost_connections_are_unavailable_and_bad_data_is_not() {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let db = |kind, message: &str| Error::DatabaseError(kind, Box::new(message.to_owned()));
        let unavailable = [
            db(Kind::UnableToSendCommand, "connection closed"),
            db(
                Kind::ClosedConnection,
                "server closed the connection unexpectedly",
            ),
            db(
                Kind::Unknown,
                "terminating connection due to administrator command",
            ),
            db(Kind::Unknown, "the database system is shutting down"),
            db(Kind::Unknown, "canceling statement due to lock timeout"),
            db(Kind::Unknown, "deadlock detected"),
            db(Kind::SerializationFailure, "could not serialize access"),
            Error::BrokenTransactionManager,
        ];
        let query = [
            db(
                Kind::Unknown,
                "invalid byte sequence for encoding \"UTF8\": 0x00",
            ),
            db(Kind::NotNullViolation, "null value in column"),
            Error::NotFound,
        ];

        for error in unavailable {
            let text = error.to_string();
            assert!(
                matches!(StorageError::from(error), StorageError::Unavailable(_)),
                "{text}"
            );
        }
        for error in query {
            let text = error.to_string();
            assert!(
                matches!(StorageError::from(error), StorageError::Query(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn a_url_scheme_is_told_apart_from_a_file_path() {
        assert_eq!(url_scheme("mysql://db/x"), Some("mysql"));
        assert_eq!(url_scheme("postgresql+ssl://db"), Some("postgresql+ssl"));
        assert_eq!(url_scheme("./data/supahook.db"), None);
        assert_eq!(url_scheme("/var/lib/supahook.db"), None);
        assert_eq!(
            url_scheme("C:/data/supahook.db"),
            None,
            "a drive letter is not a scheme"
        );
    }

    #[test]
    fn an_unsupported_database_url_is_refused_naming_the_setting() {
        let Err(error) = Storage::open("mysql://root@localhost/app", 4) else {
            panic!("a mysql URL was accepted");
        };
        let message = error.to_string();
        assert!(
            message.contains("DATABASE_URL") && message.contains("mysql"),
            "{message}"
        );
    }

    #[test]
    fn only_postgres_urls_and_explicit_sqlite_paths_are_taken() {
        for url in [
            "postgres://db/app",
            "postgresql://u@db:6543/app?sslmode=require",
            "host=db dbname=app user=app",
        ] {
            assert_eq!(kind_of(url).unwrap(), Kind::Postgres, "{url}");
        }
        for (url, path) in [
            ("sqlite:///var/lib/supahook.db", "/var/lib/supahook.db"),
            ("sqlite://data/mirror", "data/mirror"),
            ("sqlite:mirror", "mirror"),
            ("/var/lib/supahook/mirror", "/var/lib/supahook/mirror"),
            ("./mirror", "./mirror"),
            ("../mirror", "../mirror"),
            ("data/supahook.db", "data/supahook.db"),
            ("mirror.sqlite", "mirror.sqlite"),
            ("mirror.sqlite3", "mirror.sqlite3"),
        ] {
            assert_eq!(kind_of(url).unwrap(), Kind::Sqlite(path), "{url}");
        }
    }

    #[test]
    fn a_mistyped_postgres_url_is_refused_not_taken_for_a_file() {
        for url in [
            "postgres//db/app",
            "postgres:db/app",
            "db.internal/app",
            "mirror",
        ] {
            let Err(error) = kind_of(url) else {
                panic!("{url} was accepted");
            };
            let message = error.to_string();
            assert!(message.contains("DATABASE_URL"), "{message}");
            assert!(
                !message.contains("db/app"),
                "the URL is not repeated: {message}"
            );
        }
        let message = kind_of("postgres//user:pw@db/app").unwrap_err().to_string();
        assert!(message.contains("write postgres://"), "{message}");
        assert!(!message.contains("pw"), "{message}");
    }

    #[test]
    fn postgres_and_sqlite_urls_pick_their_backend() {
        let dir = std::env::temp_dir().join(format!("supahook-open-{}", Uuid::new_v4().simple()));
        let file = dir.join("nested/mirror.db");

        let pg = Storage::open("postgres://postgres@127.0.0.1:5432/app", 4).unwrap();
        let sqlite_url = Storage::open(&format!("sqlite://{}", file.display()), 4).unwrap();
        let plain_path = Storage::open(file.to_str().unwrap(), 4).unwrap();

        assert!(matches!(pg, Storage::Postgres(_)));
        assert!(matches!(sqlite_url, Storage::Sqlite(_)));
        assert!(matches!(plain_path, Storage::Sqlite(_)));
        assert!(
            file.parent().unwrap().is_dir(),
            "the parent directory is created"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
