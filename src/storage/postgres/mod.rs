//! The PostgreSQL backend: diesel-async over a deadpool pool.

mod rows;
mod schema;

use super::{ACQUIRE_TIMEOUT, StorageError, StoredUser};
use crate::events::{Delivery, UserChange, UserRecord};
use crate::mirror::{self, MirrorUser, Outcome, Plan, Profile};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use rows::{NewDelivery, ProfileRow, UserChanges, UserRow};
use schema::{profiles, users, webhook_events};
use uuid::Uuid;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Replicas starting together take this advisory lock so only one migrates at a time.
const MIGRATION_LOCK_KEY: i64 = 0x7375_7061_686f_6f6b; // "supahook"

/// A pool of PostgreSQL connections.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool<AsyncPgConnection>,
}

impl PgStore {
    /// Builds the pool; connections are opened on first use.
    pub fn new(url: &str, pool_size: usize) -> Result<Self, StorageError> {
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .build()
            .map_err(|e| StorageError::Config(format!("cannot build the connection pool: {e}")))?;
        Ok(Self { pool })
    }

    async fn conn(&self) -> Result<Object<AsyncPgConnection>, StorageError> {
        match tokio::time::timeout(ACQUIRE_TIMEOUT, self.pool.get()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(StorageError::Unavailable(e.to_string())),
            Err(_) => Err(StorageError::Unavailable(
                "timed out waiting for a database connection".into(),
            )),
        }
    }

    pub async fn migrate(&self) -> Result<(), StorageError> {
        let mut conn = self.conn().await?;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)
            .await?;
        let mut harness = AsyncMigrationHarness::new(conn);
        let result = harness
            .run_pending_migrations(MIGRATIONS)
            .map(drop)
            .map_err(|e| StorageError::Migration(e.to_string()));
        let mut conn = harness.into_inner();
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)
            .await?;
        result
    }

    pub async fn ping(&self) -> Result<(), StorageError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await?;
        Ok(())
    }

    pub async fn apply(
        &self,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StorageError> {
        let UserChange::Upsert(incoming) = &delivery.change else {
            return Ok(Outcome::Skipped);
        };
        let mut conn = self.conn().await?;
        conn.transaction::<_, StorageError, _>(async |conn| {
            // The ledger row goes first: a concurrent copy of this delivery blocks on
            // its primary key until we commit, then finds it and changes nothing.
            let claimed = diesel::insert_into(webhook_events::table)
                .values(NewDelivery {
                    idempotency_key: &delivery.idempotency_key,
                    hook: delivery.hook.as_str(),
                    webhook_id: &delivery.webhook_id,
                    user_id: Some(incoming.id),
                    outcome: "pending",
                    received_at: now,
                })
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if claimed == 0 {
                return Ok(Outcome::Duplicate);
            }
            let outcome = upsert_user(conn, incoming, now).await?;
            diesel::update(webhook_events::table.find(&delivery.idempotency_key))
                .set(webhook_events::outcome.eq(outcome.as_str()))
                .execute(conn)
                .await?;
            Ok(outcome)
        })
        .await
    }

    pub async fn find_user(&self, id: Uuid) -> Result<Option<StoredUser>, StorageError> {
        let mut conn = self.conn().await?;
        let found = users::table
            .left_join(profiles::table)
            .filter(users::id.eq(id))
            .select((UserRow::as_select(), Option::<ProfileRow>::as_select()))
            .first::<(UserRow, Option<ProfileRow>)>(&mut conn)
            .await
            .optional()?;
        Ok(found.map(|(user, profile)| StoredUser {
            user: user.into(),
            profile: profile.map(Into::into),
        }))
    }
}

async fn lock_user(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<MirrorUser>, StorageError> {
    let row = users::table
        .find(id)
        .select(UserRow::as_select())
        .for_update()
        .first::<UserRow>(conn)
        .await
        .optional()?;
    Ok(row.map(Into::into))
}

async fn upsert_user(
    conn: &mut AsyncPgConnection,
    incoming: &UserRecord,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    let stored = match lock_user(conn, incoming.id).await? {
        Some(stored) => stored,
        None => {
            let user = mirror::new_user(incoming, now);
            let inserted = diesel::insert_into(users::table)
                .values(UserRow::from(&user))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if inserted == 1 {
                diesel::insert_into(profiles::table)
                    .values(ProfileRow::new(user.id, Profile::seed(&user)))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
                return Ok(Outcome::Created);
            }
            // Another transaction created the user between our read and insert.
            lock_user(conn, incoming.id)
                .await?
                .ok_or(StorageError::Query(diesel::result::Error::NotFound))?
        }
    };
    match mirror::plan(&stored, incoming, now) {
        Plan::Update(next) => {
            diesel::update(users::table.find(stored.id))
                .set(UserChanges::from(&*next))
                .execute(conn)
                .await?;
            Ok(Outcome::Updated)
        }
        Plan::Touch(version) => {
            diesel::update(users::table.find(stored.id))
                .set(users::source_updated_at.eq(version))
                .execute(conn)
                .await?;
            Ok(Outcome::Unchanged)
        }
        Plan::Unchanged => Ok(Outcome::Unchanged),
        Plan::Stale => Ok(Outcome::Stale),
    }
}
