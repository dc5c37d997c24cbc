//! The SQLite backend: one database file, diesel's sync driver behind diesel-async.
//!
//! SQLite allows one writer at a time. Every write transaction starts with
//! `BEGIN IMMEDIATE`, so it takes the write lock before its first read and
//! concurrent deliveries queue up (for at most `busy_timeout`) instead of
//! failing halfway through.

mod claims;
mod read;
mod rows;
mod schema;
mod tx;

use tx::SqliteTx;

use super::apply;
use super::apply::{Applied, Batch};
use super::revert::{self, RevertPlan, Reverted};
use super::{Backend, ChangeNotice, ChangeWatch, Database, PoolStatus, StorageError};
use crate::infra::pg_connect::Refusal;
use crate::mirror::Current;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use futures_util::FutureExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Set on every new connection. `busy_timeout` comes first so that switching
/// the file to WAL also waits for other connections instead of failing.
/// The busy timeout stays below the mirroring deadline, so a waiting writer gives up
/// (503, retried by Supabase) before the request is abandoned mid-transaction.
const PRAGMAS: &str = "PRAGMA busy_timeout = 1000; \
                       PRAGMA journal_mode = WAL; \
                       PRAGMA foreign_keys = ON; \
                       PRAGMA synchronous = NORMAL;";

pub(super) type Conn = SyncConnectionWrapper<SqliteConnection>;

/// Every column of every table in the file, for a revert to see what each step removes.
const CATALOG: &str = "SELECT m.name AS table_name, p.name AS column_name \
                       FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p \
                       WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'";

/// A pool of connections to one SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    /// The database file, as the URL names it.
    path: Arc<Path>,
    pool: Pool<Conn>,
    /// SQLite has one writer. Its busy handler polls and is not fair, so under load a
    /// writer can starve past the deadline; this process's writers queue here in
    /// arrival order instead, and `busy_timeout` only covers other processes.
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    /// Builds the pool for the file at `path`, creating its directory if missing;
    /// connections (and the file) are opened on first use.
    pub fn new(path: &str, pool_size: usize) -> Result<Self, StorageError> {
        if path.is_empty() || path == ":memory:" {
            return Err(StorageError::Config(
                "DATABASE_URL must name a SQLite database file (an in-memory database \
                 would be a different one on every pooled connection)"
                    .into(),
            ));
        }
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            crate::infra::private_files::create_dir(dir).map_err(|e| {
                StorageError::Config(format!(
                    "cannot create the directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        create_private(Path::new(path))?;
        let mut config = ManagerConfig::<Conn>::default();
        config.custom_setup = Box::new(|path| connect(path).boxed());
        let manager = AsyncDieselConnectionManager::<Conn>::new_with_config(path, config);
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .build()
            .map_err(|e| StorageError::Config(format!("cannot build the connection pool: {e}")))?;
        Ok(Self {
            path: Path::new(path).into(),
            pool,
            writer: Arc::default(),
        })
    }

    async fn conn(&self) -> Result<Object<Conn>, StorageError> {
        super::checkout(self.pool.get()).await
    }

    /// Runs `work` in one transaction that holds the write lock throughout, committed
    /// when it succeeds: a second process migrating the same file waits, then finds
    /// nothing left to do.
    async fn holding_the_write_lock<T>(
        &self,
        work: impl FnOnce(Object<Conn>) -> (Object<Conn>, Result<T, StorageError>),
    ) -> Result<T, StorageError> {
        let mut conn = self.conn().await?;
        conn.spawn_blocking(|c| {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        })
        .await
        .map_err(busy)?;
        let (mut conn, result) = work(conn);
        let succeeded = result.is_ok();
        conn.spawn_blocking(move |c| match succeeded {
            true => AnsiTransactionManager::commit_transaction(c),
            false => AnsiTransactionManager::rollback_transaction(c),
        })
        .await
        .map_err(busy)?;
        result
    }
}

impl Backend for SqliteStore {
    fn about(&self) -> Database {
        let path = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.to_path_buf());
        Database {
            backend: "sqlite",
            shown: path.display().to_string(),
            identity: format!("sqlite://{}", path.display()),
        }
    }

    /// SQLite opens a file: it has no server to refuse it.
    fn refusal(&self) -> Option<Refusal> {
        None
    }

    async fn migrate(&self) -> Result<Vec<String>, StorageError> {
        self.holding_the_write_lock(|conn| super::run_migrations(conn, MIGRATIONS))
            .await
    }

    async fn revert(&self, plan: &RevertPlan, drop_data: bool) -> Result<Reverted, StorageError> {
        self.holding_the_write_lock(|conn| revert::run(conn, MIGRATIONS, plan, drop_data, CATALOG))
            .await
    }

    /// SQLite has one process (see the backend's notes): it always leads.
    async fn lead_publisher(&self) -> Result<Option<super::PublisherLease>, StorageError> {
        Ok(Some(super::PublisherLease::alone()))
    }

    async fn pending_migrations(&self) -> Result<Vec<String>, StorageError> {
        let conn = self.conn().await?;
        super::pending_migrations(conn, MIGRATIONS)
    }

    /// SQLite has one writing process (see the backend's notes), so it is
    /// `Listening` at once and for good, with no task.
    fn watch_changes(
        &self,
        notice: Arc<dyn Fn(ChangeNotice) + Send + Sync>,
    ) -> Option<ChangeWatch> {
        notice(ChangeNotice::Listening);
        None
    }

    /// Nothing to listen to: SQLite has one process, whose own profile edits drop the
    /// claims it keeps directly. `Listening` at once and for good, with no task.
    fn watch_claims(&self, notice: Arc<dyn Fn(ChangeNotice) + Send + Sync>) -> Option<ChangeWatch> {
        notice(ChangeNotice::Listening);
        None
    }

    async fn claims_query(
        &self,
        sql: &str,
        id: uuid::Uuid,
        timeout: Duration,
    ) -> Result<Option<serde_json::Value>, StorageError> {
        let conn = self.conn().await?;
        claims::claims_query(conn, sql, id, timeout).await
    }

    /// SQLite has no functions of the application's; the settings refuse a
    /// `pg-functions://` hook with SQLite at start.
    async fn call_hook_function(
        &self,
        _schema: &str,
        _function: &str,
        _event: &str,
        _timeout: Duration,
    ) -> Result<Option<serde_json::Value>, StorageError> {
        Err(StorageError::Config(
            "a pg-functions:// hook needs PostgreSQL as DATABASE_URL".into(),
        ))
    }

    /// One: SQLite has a single writer anyway.
    fn writers(&self) -> usize {
        1
    }

    /// As many as a group commit of deliveries ([`super::MAX_BATCH`]): rows are
    /// written one statement each while the database's only write lock is held, and
    /// every delivery waits for it.
    fn reconcile_batch(&self) -> usize {
        super::MAX_BATCH
    }

    fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus::new(status.size, status.available, status.waiting)
    }

    async fn ping(&self, within: Duration) -> Result<(), StorageError> {
        let select = async {
            let mut conn = self.conn().await?;
            diesel::sql_query("SELECT 1")
                .execute(&mut conn)
                .await
                .map_err(busy)
        };
        match tokio::time::timeout(within, select).await {
            Ok(answered) => answered.map(drop),
            Err(_) => Err(StorageError::Unavailable(
                "the database did not answer in time".into(),
            )),
        }
    }

    async fn batch(&self, batch: Batch<'_>) -> Result<Vec<Applied>, StorageError> {
        let _turn = self.writer.lock().await;
        let mut conn = self.conn().await?;
        let result = apply::batch(&mut SqliteTx(&mut conn), batch).await;
        if result.is_err() {
            // End the transaction if it is still open, or drop the connection.
            let ended = match conn.batch_execute("ROLLBACK").await {
                Ok(()) => true,
                Err(e) => e.to_string().contains("no transaction is active"),
            };
            if !ended {
                drop(Object::take(conn));
            }
        }
        result.map_err(busy)
    }

    async fn read_current(&self, ids: &[Uuid]) -> Result<Vec<Current>, StorageError> {
        let mut conn = self.conn().await?;
        let loaded = tx::read(&mut conn, ids, &[]).await.map_err(busy)?;
        Ok(loaded.users)
    }
}

/// Opens one connection and applies [`PRAGMAS`].
async fn connect(path: &str) -> ConnectionResult<Conn> {
    let mut conn = Conn::establish(path).await?;
    conn.batch_execute(PRAGMAS)
        .await
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    Ok(conn)
}

/// SQLite reports a lock it waited out `busy_timeout` for as an ordinary query
/// error; it is a passing condition, so callers get [`StorageError::Unavailable`].
pub(super) fn busy(error: impl Into<StorageError>) -> StorageError {
    let error = error.into();
    match &error {
        StorageError::Query(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("is locked") =>
        {
            StorageError::Unavailable(info.message().to_owned())
        }
        _ => error,
    }
}

/// Creates the database file readable by its owner only (it holds emails and phone
/// numbers) before SQLite opens it, so that SQLite gives its `-wal` and `-shm` files
/// the same mode. An existing file is left as it is.
fn create_private(path: &Path) -> Result<(), StorageError> {
    crate::infra::private_files::create_file(path)
        .map(drop)
        .map_err(|e| {
            StorageError::Config(format!(
                "cannot create the database file {}: {e}",
                path.display()
            ))
        })
}
