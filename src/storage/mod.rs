//! The one narrow interface the rest of supahook uses to reach the database.
//!
//! Callers speak domain types ([`Delivery`], [`MirrorUser`], [`Outcome`]); each
//! backend is its own module with its own schema, rows and migrations.

mod apply;
mod postgres;
mod read;
mod sqlite;

pub use read::{
    DeliveryCursor, DeliveryFilter, DeliveryRecord, ProfileChanges, ProfileClaim, ProfileDetails,
    UserDetails, UserFilter,
};

use crate::events::{Delivery, UserChange};
use crate::mirror::{DeleteMode, MirrorUser, Outcome, Profile};
use chrono::{DateTime, Utc};
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
}

/// Inside a transaction: a real failure, or the deliberate rollback of a dry run.
#[derive(Debug)]
enum TxError {
    Failed(StorageError),
    DryRun(Outcome),
}

impl From<diesel::result::Error> for TxError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Failed(error.into())
    }
}

impl From<StorageError> for TxError {
    fn from(error: StorageError) -> Self {
        Self::Failed(error)
    }
}

impl TxError {
    /// Runs `change` and, for a dry run, turns its outcome into a rollback.
    fn finish(result: Result<Outcome, StorageError>, dry_run: bool) -> Result<Outcome, Self> {
        match result {
            Ok(outcome) if dry_run => Err(Self::DryRun(outcome)),
            Ok(outcome) => Ok(outcome),
            Err(error) => Err(Self::Failed(error)),
        }
    }

    /// The outcome a transaction reports after commit or deliberate rollback.
    fn settle(result: Result<Outcome, Self>) -> Result<Outcome, StorageError> {
        match result {
            Ok(outcome) | Err(Self::DryRun(outcome)) => Ok(outcome),
            Err(Self::Failed(error)) => Err(error),
        }
    }
}

impl From<diesel::result::Error> for StorageError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            Error::BrokenTransactionManager => {
                Self::Unavailable("the connection was lost mid-transaction".into())
            }
            // PostgreSQL's statement_timeout and lock_timeout: a busy database, not a bug.
            Error::DatabaseError(_, info)
                if info.message().starts_with("canceling statement due to") =>
            {
                Self::Unavailable(info.message().to_owned())
            }
            other => Self::Query(other),
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

/// The storage backend in use.
#[derive(Clone)]
pub enum Storage {
    /// PostgreSQL, the production backend.
    Postgres(postgres::PgStore),
    /// SQLite, one embedded database file.
    Sqlite(sqlite::SqliteStore),
}

impl Storage {
    /// Prepares a backend for `url` without connecting yet: PostgreSQL for a
    /// `postgres://` or `postgresql://` URL, a SQLite file for `sqlite://PATH`,
    /// `sqlite:PATH` or a plain path (its directory is created if missing).
    pub fn open(url: &str, pool_size: usize) -> Result<Self, StorageError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(postgres::PgStore::new(url, pool_size)?));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"));
        if let Some(path) = path {
            return Ok(Self::Sqlite(sqlite::SqliteStore::new(path, pool_size)?));
        }
        match url_scheme(url) {
            None => Ok(Self::Sqlite(sqlite::SqliteStore::new(url, pool_size)?)),
            Some(scheme) => Err(StorageError::Config(format!(
                "DATABASE_URL must be a postgres:// or postgresql:// URL (PostgreSQL), \
                 or sqlite://PATH or a file path (SQLite); got a {scheme}: URL"
            ))),
        }
    }

    /// Applies pending migrations; safe to run from several replicas at once.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match self {
            Self::Postgres(store) => store.migrate().await,
            Self::Sqlite(store) => store.migrate().await,
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StorageError> {
        match self {
            Self::Postgres(store) => store.ping().await,
            Self::Sqlite(store) => store.ping().await,
        }
    }

    /// Records the delivery and applies its change in one transaction, deletes per `mode`.
    /// A delivery whose idempotency key is already recorded changes nothing.
    pub async fn apply(
        &self,
        delivery: &Delivery,
        mode: DeleteMode,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StorageError> {
        match self {
            Self::Postgres(store) => store.apply(delivery, mode, now).await,
            Self::Sqlite(store) => store.apply(delivery, mode, now).await,
        }
    }

    /// Applies one change without a ledger row, as reconciliation does. With `dry_run`
    /// the transaction is rolled back, so the outcome is reported and nothing is written.
    pub async fn apply_change(
        &self,
        change: &UserChange,
        mode: DeleteMode,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Outcome, StorageError> {
        match self {
            Self::Postgres(store) => store.apply_change(change, mode, now, dry_run).await,
            Self::Sqlite(store) => store.apply_change(change, mode, now, dry_run).await,
        }
    }

    /// Ids of users not marked deleted and mirrored before `created_before`, in id
    /// order, after `after`, at most `limit`.
    pub async fn live_user_ids(
        &self,
        after: Option<Uuid>,
        limit: usize,
        created_before: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, StorageError> {
        match self {
            Self::Postgres(store) => store.live_user_ids(after, limit, created_before).await,
            Self::Sqlite(store) => store.live_user_ids(after, limit, created_before).await,
        }
    }

    /// Removes ledger rows received before `received_before`; returns how many.
    /// A key only has to outlive the retries and replays of its delivery.
    pub async fn forget_deliveries(
        &self,
        received_before: DateTime<Utc>,
    ) -> Result<usize, StorageError> {
        match self {
            Self::Postgres(store) => store.forget_deliveries(received_before).await,
            Self::Sqlite(store) => store.forget_deliveries(received_before).await,
        }
    }

    /// The mirrored user with this id.
    pub async fn find_user(&self, id: Uuid) -> Result<Option<StoredUser>, StorageError> {
        match self {
            Self::Postgres(store) => store.find_user(id).await,
            Self::Sqlite(store) => store.find_user(id).await,
        }
    }
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
