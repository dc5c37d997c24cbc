//! What every storage backend does, declared once.
//!
//! [`Backend`] holds what each backend does its own way (connecting, migrating,
//! applying deliveries); [`Queries`] what both do with the same SQL, implemented once
//! for both by the `read_queries!` template. [`Storage`] dispatches both to the backend
//! in use with one static `match` per call: no dynamic dispatch, and no boxing but
//! the change-watching task's, once per start.
//!
//! The methods are `async fn`s, whose futures are `Send` whenever the backend's are:
//! callers hold a concrete backend or a [`Storage`], never a generic one, so the
//! compiler sees through to them.
#![allow(
    async_fn_in_trait,
    reason = "implemented and called only on concrete types, whose futures are Send"
)]

use super::PublisherLease;
use super::apply::{Applied, Batch};
use super::postgres::PgStore;
use super::read::{DeliveryCursor, DeliveryFilter, DeliveryRecord, ProfileChanges};
use super::read::{ProfileClaim, UserDetails, UserFilter};
use super::revert::{RevertPlan, Reverted};
use super::sqlite::SqliteStore;
use super::{ChangeNotice, Database, PoolStatus, RecordedEvent, StorageError, StoredUser};
use super::{PushAttempt, PushAttemptFilter, PushAttemptRecord, PushClaim, PushEndpointState};
use super::{PushBatch, PushBatchResult, PushStep, RedeliverWindow};
use crate::infra::pg_connect::Refusal;
use crate::mirror::Current;
use chrono::{DateTime, Utc};
use enum_dispatch::enum_dispatch;
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The storage backend in use; it does what [`Backend`] and [`Queries`] say, on the
/// backend it holds. [`Storage::open`] picks it from the database URL.
#[derive(Clone)]
#[enum_dispatch(Backend, Queries, OutboxQueries, PushQueries)]
pub enum Storage {
    /// PostgreSQL, the production backend.
    Postgres(PgStore),
    /// SQLite, one embedded database file.
    Sqlite(SqliteStore),
}

/// The task that listens for the users other processes change, for as long as it runs.
/// Boxed, once per start, so that both backends hand back the same type.
pub type ChangeWatch = BoxFuture<'static, ()>;

/// What each backend does its own way.
#[enum_dispatch]
pub trait Backend {
    /// Which database this is, for the start's log line and for the spool, which
    /// belongs to one database.
    fn about(&self) -> Database;

    /// Why the database refused the last connection, when it refused for a reason
    /// that will not pass by itself (a wrong password, an unknown database, a failed
    /// certificate check); `None` when it answered or could not be reached.
    fn refusal(&self) -> Option<Refusal>;

    /// The right to publish the outbox to NATS, once no other process holds it:
    /// PostgreSQL's session advisory lock on a connection of its own, waited for in the
    /// server and held while the lease lives (the server releases it when the
    /// connection dies); SQLite has one process. `None` when another holds it and this
    /// backend does not wait.
    async fn lead_publisher(&self) -> Result<Option<PublisherLease>, StorageError>;

    /// Applies pending migrations and returns the versions applied, oldest first;
    /// safe to run from several replicas at once.
    async fn migrate(&self) -> Result<Vec<String>, StorageError>;

    /// Reverts applied migrations as `plan` says, running their `down.sql` newest
    /// first in one transaction, and reports what each removed. When a step would
    /// drop a table or column that holds data and `drop_data` is false, nothing is
    /// changed and the report says so ([`Reverted::applied`]).
    async fn revert(&self, plan: &RevertPlan, drop_data: bool) -> Result<Reverted, StorageError>;

    /// The versions of the migrations not applied yet, oldest first; reads only, on a
    /// connection of its own, so it also answers on a database never migrated.
    async fn pending_migrations(&self) -> Result<Vec<String>, StorageError>;

    /// Tells `notice` about the users other processes change, through the task returned
    /// for the caller to run; `None` when the backend needs no task to know.
    fn watch_changes(&self, notice: Arc<dyn Fn(ChangeNotice) + Send + Sync>)
    -> Option<ChangeWatch>;

    /// Tells `notice` about the users whose token claims the application changed
    /// (`NOTIFY supahook_claims, '<user id>'`, and supahook's own profile edits), through
    /// the task returned for the caller to run; `None` when the backend needs no task.
    fn watch_claims(&self, notice: Arc<dyn Fn(ChangeNotice) + Send + Sync>) -> Option<ChangeWatch>;

    /// Runs the claims query `sql` for the user `id` (as `$1`) in a read-only
    /// transaction of at most `timeout`: the one JSON value it returns, `None` for none.
    async fn claims_query(
        &self,
        sql: &str,
        id: Uuid,
        timeout: Duration,
    ) -> Result<Option<Value>, StorageError>;

    /// Calls `schema.function(event jsonb)`, the chained access-token hook, with the
    /// event as sent, in a transaction of at most `timeout`: its JSON answer.
    async fn call_hook_function(
        &self,
        schema: &str,
        function: &str,
        event: &str,
        timeout: Duration,
    ) -> Result<Option<Value>, StorageError>;

    /// The most transactions that can apply deliveries at once.
    fn writers(&self) -> usize;

    /// The most changes a reconciliation should write in one transaction, so that
    /// deliveries arriving meanwhile still get through within their budget.
    fn reconcile_batch(&self) -> usize;

    /// The connection pool's state, for metrics.
    fn pool_status(&self) -> PoolStatus;

    /// Checks that the database answers within `within`.
    async fn ping(&self, within: Duration) -> Result<(), StorageError>;

    /// Applies `batch` in one transaction (see [`apply::batch`](super::apply::batch)).
    async fn batch(&self, batch: Batch<'_>) -> Result<Vec<Applied>, StorageError>;

    /// Each user's state as last committed, in the order of `ids`, read in one query
    /// and without the users' locks: enough to know that a change would write
    /// nothing, since a later state only ever holds more (see [`crate::mirror`]).
    /// A change that would write goes through [`batch`](Self::batch), which reads
    /// again under the locks.
    async fn read_current(&self, ids: &[Uuid]) -> Result<Vec<Current>, StorageError>;
}

/// What both backends do with the same SQL: the mirror and the ledger read, a
/// profile edited, and the ledger pruned.
#[enum_dispatch]
pub trait Queries {
    /// The mirrored user with this id.
    async fn find_user(&self, id: Uuid) -> Result<Option<StoredUser>, StorageError> {
        Ok(self.user_details(id).await?.map(StoredUser::from))
    }

    /// The user with this id, its profile and settings.
    async fn user_details(&self, id: Uuid) -> Result<Option<UserDetails>, StorageError>;

    /// At most `limit` users matching `filter`, in id order, with ids after `after`.
    /// Paging by id returns every user that exists throughout exactly once, however
    /// many users are added meanwhile.
    async fn list_users(
        &self,
        filter: &UserFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<UserDetails>, StorageError>;

    /// At most `limit` ledger rows matching `filter`, newest first, after `cursor`.
    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        cursor: Option<&DeliveryCursor>,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StorageError>;

    /// The profile facts of the user, read in one indexed query.
    async fn profile_claim(&self, id: Uuid) -> Result<Option<ProfileClaim>, StorageError>;

    /// Ids of users not marked deleted and mirrored before `created_before`, in id
    /// order, after `after`, at most `limit`.
    async fn live_user_ids(
        &self,
        after: Option<Uuid>,
        limit: usize,
        created_before: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, StorageError>;

    /// Ids of provisional users mirrored before `created_before`, in id order, after
    /// `after`, at most `limit`.
    async fn provisional_user_ids(
        &self,
        after: Option<Uuid>,
        limit: usize,
        created_before: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, StorageError>;

    /// Applies an edit of the application-owned fields in one transaction, creating
    /// the profile when the user has none; `false` when there is no such user.
    async fn edit_profile(
        &self,
        id: Uuid,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError>;

    /// [`edit_profile`](Self::edit_profile), then the user as it is after the edit;
    /// `None` when there is no such user.
    async fn update_profile(
        &self,
        id: Uuid,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> Result<Option<UserDetails>, StorageError> {
        match self.edit_profile(id, changes, now).await? {
            true => self.user_details(id).await,
            false => Ok(None),
        }
    }

    /// Where an incremental reconciliation of the source database `source` starts:
    /// the time from which its every change is mirrored, as last recorded.
    async fn reconcile_mark(&self, source: &str) -> Result<Option<DateTime<Utc>>, StorageError>;

    /// Records that every change of `source` since `changed_since` is mirrored.
    async fn set_reconcile_mark(
        &self,
        source: &str,
        changed_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// When the newest delivery through `hook` (`custom-access-token`, ...) was
    /// received, from the ledger; `None` when it holds none.
    async fn last_delivery(&self, hook: &str) -> Result<Option<DateTime<Utc>>, StorageError>;

    /// Removes ledger rows received before `received_before`; returns how many.
    /// A key only has to outlive the retries and replays of its delivery.
    async fn forget_deliveries(
        &self,
        received_before: DateTime<Utc>,
    ) -> Result<usize, StorageError>;
}

/// The outbox of lifecycle events, read and pruned with the same SQL on both backends.
#[enum_dispatch]
pub trait OutboxQueries {
    /// At most `limit` recorded events with positions after `after`, in position order:
    /// the order their transactions committed in.
    async fn list_events(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError>;

    /// Removes events recorded before `recorded_before`, except each user's last one
    /// (which carries the user's sequence on) and those an enabled push endpoint has not
    /// had yet (not queued, or waiting for a retry); returns how many.
    async fn forget_events(&self, recorded_before: DateTime<Utc>) -> Result<usize, StorageError>;

    /// The position of the last event published to the JetStream `stream` (0 before the
    /// first), from the `nats_cursor` table.
    async fn publisher_cursor(&self, stream: &str) -> Result<i64, StorageError>;

    /// Moves the cursor of `stream` on to `position`, never back.
    async fn advance_publisher_cursor(
        &self,
        stream: &str,
        position: i64,
    ) -> Result<(), StorageError>;
}

/// The delivery state of signed webhooks, kept with the same SQL on both backends.
/// On PostgreSQL several replicas share the work: a claim passes rows another holds.
#[enum_dispatch]
pub trait PushQueries {
    /// Makes `urls` the enabled endpoints: a new one starts after the newest recorded
    /// event, a known one is enabled again, and any other is disabled.
    async fn register_push_endpoints(
        &self,
        urls: &[&str],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// Leases to this process, until `lease_until`, the endpoint `url`'s next (at most
    /// `limit`) recorded events after its cursor, those of `types` (all when `None`);
    /// `None` when the endpoint is disabled or unknown, has nothing new, or another
    /// replica holds its lease.
    async fn lease_push_batch(
        &self,
        url: &str,
        types: Option<&[&str]>,
        limit: usize,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<PushBatch>, StorageError>;

    /// Records a batch's attempts, queues its undelivered events for retries, moves
    /// the endpoint's cursor past it and ends its lease, all in one transaction.
    async fn record_push_batch(&self, result: &PushBatchResult<'_>) -> Result<(), StorageError>;

    /// Claims at most `limit` due deliveries to `url`, each user's earliest pending one
    /// only, so that a user's events go out in order; they are not due again before
    /// `lease_until` unless an attempt is recorded.
    async fn claim_push_deliveries(
        &self,
        url: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PushClaim>, StorageError>;

    /// Records each attempt and does what its step says, all in one transaction.
    async fn record_push_attempts(
        &self,
        attempts: &[(PushAttempt<'_>, PushStep)],
    ) -> Result<(), StorageError>;

    /// Queues again (or for the first time) the events in `window`, due at once, with
    /// a fresh retry window; returns how many.
    async fn requeue_push_events(
        &self,
        window: &RedeliverWindow<'_>,
        now: DateTime<Utc>,
    ) -> Result<usize, StorageError>;

    /// Every endpoint known, with what waits for it.
    async fn push_endpoint_states(&self) -> Result<Vec<PushEndpointState>, StorageError>;

    /// At most `limit` recorded attempts matching `filter`, newest first.
    async fn list_push_attempts(
        &self,
        filter: &PushAttemptFilter,
        limit: usize,
    ) -> Result<Vec<PushAttemptRecord>, StorageError>;

    /// Removes attempts made, and finished deliveries, before `before`; returns how many.
    async fn forget_push_history(&self, before: DateTime<Utc>) -> Result<usize, StorageError>;
}
