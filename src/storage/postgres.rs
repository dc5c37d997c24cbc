//! The PostgreSQL backend: diesel-async over a deadpool pool.

mod bulk;
mod changes;
mod claims;
mod lease;
mod load;
mod occupied;
mod read;
mod rows;
mod schema;
mod statements;
mod tx;

use load::{CurrentRow, ReadCurrent};
use statements::{CHANGES_CHANNEL, CLAIMS_CHANNEL, EVENTS_CHANNEL};
use tx::PgTx;

use super::apply;
use super::apply::{Applied, Batch};
use super::revert::{self, RevertPlan, Reverted};
use super::{Backend, ChangeNotice, ChangeWatch, Database, PoolStatus, SchemaName, StorageError};
use crate::infra::pg_connect::{PgTarget, Refusal};
use crate::mirror::Current;
use diesel::{ConnectionError, ConnectionResult};
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use futures_util::{FutureExt, TryFutureExt};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Every column of supahook's tables in its schema, for a revert to see what each
/// step removes.
const CATALOG: &str = "SELECT table_name::text AS table_name, column_name::text AS column_name \
                       FROM information_schema.columns WHERE table_schema = current_schema()";

/// Replicas starting together take this advisory lock so only one migrates at a time.
const MIGRATION_LOCK_KEY: i64 = 0x7375_7061_686f_6f6b; // "supahook"

/// A pool of PostgreSQL connections.
#[derive(Clone)]
pub struct PgStore {
    target: Arc<PgTarget>,
    pool: Pool<AsyncPgConnection>,
    /// Names this process in change announcements.
    replica: Arc<str>,
    /// Where supahook's tables are: every connection's `search_path`.
    schema: Arc<SchemaName>,
}

impl PgStore {
    /// Builds the pool; connections are opened on first use.
    /// The URL is checked here, so a bad one stops the start before anything else.
    pub fn new(url: &str, pool_size: usize, schema: SchemaName) -> Result<Self, StorageError> {
        let target = Arc::new(
            PgTarget::parse(url).map_err(|e| StorageError::Config(format!("DATABASE_URL: {e}")))?,
        );
        let schema = Arc::new(schema);
        let mut config = ManagerConfig::<AsyncPgConnection>::default();
        let (for_pool, in_schema) = (target.clone(), schema.clone());
        config.custom_setup =
            Box::new(move |_url| connect_warm(for_pool.clone(), in_schema.clone()).boxed());
        // A broken connection shows itself on first use, where it is reported as the
        // database being unavailable; a test query at every checkout would cost a round trip.
        config.recycling_method = RecyclingMethod::Fast;
        let manager =
            AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .build()
            .map_err(|e| StorageError::Config(format!("cannot build the connection pool: {e}")))?;
        Ok(Self {
            target,
            pool,
            replica: Uuid::new_v4().simple().to_string().into(),
            schema,
        })
    }

    /// A connection of its own for migrations, holding the migration lock, in a
    /// schema that exists: pooled connections prepare statements on tables that only
    /// exist once migrated.
    /// Its statements have no time limit: a migration, or a revert counting the rows
    /// it would drop, may take longer on a large table than a delivery's statements.
    async fn migration_conn(&self) -> Result<AsyncPgConnection, StorageError> {
        let mut conn = super::checkout(connect(self.target.clone(), &self.schema)).await?;
        conn.batch_execute("SET statement_timeout = 0").await?;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)
            .await?;
        occupied::create_schema(&mut conn, &self.schema).await?;
        Ok(conn)
    }

    async fn conn(&self) -> Result<Object<AsyncPgConnection>, StorageError> {
        // The connection error itself, without deadpool's wrapping.
        let get = self.pool.get().map_err(|error| match error {
            PoolError::Backend(cause) => cause.to_string(),
            other => other.to_string(),
        });
        super::checkout(get).await
    }

    /// Closes `conn`, whose server did not answer in time, and every idle connection:
    /// opened alike, they have likely gone silent too, and each would hold up its next
    /// user just as long. Fresh ones are opened as needed.
    fn give_up(&self, conn: Object<AsyncPgConnection>) {
        drop(Object::take(conn));
        self.pool.retain(|_, _| false);
    }
}

impl Backend for PgStore {
    /// With a schema other than `public`, both name it: a spool written for one
    /// schema is never drained into another.
    fn about(&self) -> Database {
        let (shown, identity) = (self.target.describe(), self.target.identity());
        match self.schema.is_public() {
            true => Database {
                backend: "postgres",
                shown,
                identity,
            },
            false => Database {
                backend: "postgres",
                shown: format!("{shown}, schema {}", self.schema),
                identity: format!("{identity}?schema={}", self.schema),
            },
        }
    }

    fn refusal(&self) -> Option<Refusal> {
        self.target.refusal()
    }

    async fn migrate(&self) -> Result<Vec<String>, StorageError> {
        let mut conn = self.migration_conn().await?;
        let (mut conn, result) = match occupied::check(&mut conn, &self.schema).await {
            Ok(()) => super::run_migrations(conn, MIGRATIONS),
            Err(error) => (conn, Err(error)),
        };
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)
            .await?;
        result
    }

    async fn revert(&self, plan: &RevertPlan, drop_data: bool) -> Result<Reverted, StorageError> {
        let conn = self.migration_conn().await?;
        let (mut conn, result) = revert::run(conn, MIGRATIONS, plan, drop_data, CATALOG);
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)
            .await?;
        result
    }

    async fn lead_publisher(&self) -> Result<Option<super::PublisherLease>, StorageError> {
        lease::lead(self.target.clone(), &self.schema).await
    }

    async fn pending_migrations(&self) -> Result<Vec<String>, StorageError> {
        let conn = super::checkout(connect(self.target.clone(), &self.schema)).await?;
        super::pending_migrations(conn, MIGRATIONS)
    }

    /// The task that listens for the users other replicas change (see [`changes::listen`]).
    fn watch_changes(
        &self,
        notice: Arc<dyn Fn(ChangeNotice) + Send + Sync>,
    ) -> Option<ChangeWatch> {
        let replica = self.replica.clone();
        let told = move |channel: &str, payload: &str| match channel {
            EVENTS_CHANNEL => Some(ChangeNotice::EventsRecorded),
            _ => changes::foreign_change(payload, &replica).map(ChangeNotice::Changed),
        };
        let channels = &[CHANGES_CHANNEL, EVENTS_CHANNEL];
        Some(changes::listen(self.target.clone(), channels, told, notice).boxed())
    }

    /// The task that listens on `supahook_claims` (see [`changes::listen`]); every
    /// replica's own announcements count, its profile edits included.
    fn watch_claims(&self, notice: Arc<dyn Fn(ChangeNotice) + Send + Sync>) -> Option<ChangeWatch> {
        let user = |_: &str, payload: &str| payload.trim().parse().ok().map(ChangeNotice::Changed);
        Some(changes::listen(self.target.clone(), &[CLAIMS_CHANNEL], user, notice).boxed())
    }

    async fn claims_query(
        &self,
        sql: &str,
        id: Uuid,
        timeout: Duration,
    ) -> Result<Option<serde_json::Value>, StorageError> {
        let mut conn = self.conn().await?;
        claims::claims_query(&mut conn, sql, id, timeout).await
    }

    async fn call_hook_function(
        &self,
        schema: &str,
        function: &str,
        event: &str,
        timeout: Duration,
    ) -> Result<Option<serde_json::Value>, StorageError> {
        let mut conn = self.conn().await?;
        claims::call_hook_function(&mut conn, schema, function, event, timeout).await
    }

    /// One per pooled connection.
    fn writers(&self) -> usize {
        self.pool.status().max_size
    }

    /// 500: each kind of row is one statement, and a transaction locks only the
    /// users it writes, so deliveries for other users never wait for it.
    fn reconcile_batch(&self) -> usize {
        500
    }

    fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus::new(status.size, status.available, status.waiting)
    }

    /// Asks the database for `SELECT 1`, and waits at most `within` in all. A
    /// connection whose answer does not come in time is given up: back in the pool,
    /// it would hold up the next ping just the same, and the drainer, which pings
    /// before it drains, would never drain.
    async fn ping(&self, within: Duration) -> Result<(), StorageError> {
        let deadline = tokio::time::Instant::now() + within;
        let too_slow = || {
            StorageError::Unavailable(format!(
                "the database did not answer within {} ms",
                within.as_millis()
            ))
        };
        let Ok(conn) = tokio::time::timeout_at(deadline, self.conn()).await else {
            return Err(too_slow());
        };
        let conn = conn?;
        let select = diesel::sql_query("SELECT 1").execute(&mut &*conn);
        match tokio::time::timeout_at(deadline, select).await {
            Ok(answered) => answered.map(drop).map_err(StorageError::from),
            Err(_) => {
                self.give_up(conn);
                Err(too_slow())
            }
        }
    }

    async fn batch(&self, batch: Batch<'_>) -> Result<Vec<Applied>, StorageError> {
        let conn = self.conn().await?;
        let mut tx = PgTx {
            conn: &conn,
            replica: &self.replica,
        };
        let applying = apply::batch(&mut tx, batch);
        let Ok(result) = tokio::time::timeout(TRANSACTION_DEADLINE, applying).await else {
            // Whether it committed is unknown, as with any connection lost mid-commit:
            // a delivery retried after all is a duplicate in the ledger.
            self.give_up(conn);
            return Err(StorageError::Unavailable(format!(
                "the database did not finish a transaction within {} s",
                TRANSACTION_DEADLINE.as_secs()
            )));
        };
        if result.is_err() {
            // The transaction may still be open, or aborted: end it, or drop the connection.
            let ended = statements::Rollback::default().execute(&mut &*conn).await;
            if ended.is_err() {
                drop(Object::take(conn));
            }
        }
        result
    }

    async fn read_current(&self, ids: &[Uuid]) -> Result<Vec<Current>, StorageError> {
        let conn = self.conn().await?;
        let rows = ReadCurrent { ids, keys: &[] }
            .load::<CurrentRow>(&mut &*conn)
            .await?;
        Ok(load::loaded(ids, rows).users)
    }
}

/// How long a transaction may take before its connection is given up: as long as the
/// drainer waits for a delivery, far past what a batch's two round trips take under
/// the server's own limits (below) unless the server is gone. TCP notices a host that
/// vanished (see `pg_connect`), but not a peer that takes the bytes and never answers:
/// a hung server, or a pooler or proxy in front of one that died. That would hold the
/// connection and its writer for good, while nothing is written or drained.
const TRANSACTION_DEADLINE: Duration = Duration::from_secs(10);

/// Limits set on every connection, so that one stuck request cannot hold locks
/// that every later event for the same user would queue behind: statements and
/// lock waits give up inside the mirroring deadline (the caller answers 503), and a
/// transaction abandoned by a timed-out request is ended by the server.
const SESSION_LIMITS: &str = "SET statement_timeout = '1500ms'; \
                              SET lock_timeout = '1000ms'; \
                              SET idle_in_transaction_session_timeout = '5s';";

/// Opens a connection with [`SESSION_LIMITS`] and supahook's schema as its
/// `search_path`, set in the same round trip: statements name tables unqualified, so
/// this one setting places every one of them, at no cost per statement.
async fn connect(
    target: Arc<PgTarget>,
    schema: &SchemaName,
) -> ConnectionResult<AsyncPgConnection> {
    let mut conn = target.connect().await?;
    conn.batch_execute(&format!(
        "{SESSION_LIMITS} SET search_path TO \"{schema}\";"
    ))
    .await
    .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    Ok(conn)
}

/// A pooled connection: [`connect`], then every hot statement prepared.
async fn connect_warm(
    target: Arc<PgTarget>,
    schema: Arc<SchemaName>,
) -> ConnectionResult<AsyncPgConnection> {
    let conn = connect(target, &schema).await?;
    tx::warm_up(&conn)
        .await
        .map_err(|e| ConnectionError::BadConnection(format!("cannot prepare statements: {e}")))?;
    Ok(conn)
}
