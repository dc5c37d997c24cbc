//! How a change is applied, written once for every backend.
//!
//! A backend opens a transaction and hands this module a [`MirrorTx`]: the
//! handful of row operations it knows how to run. The order of those
//! operations, which is what makes deliveries exactly-once and order-safe,
//! lives here.

use super::StorageError;
use crate::events::{DeleteMode, Delivery, UserChange, UserRecord};
use crate::mirror::{self, MirrorUser, Outcome, Plan, Profile};
use chrono::{DateTime, Utc};
use std::future::Future;
use uuid::Uuid;

/// A ledger row for one delivery.
#[derive(Debug, Clone, Copy)]
pub struct LedgerEntry<'a> {
    /// The idempotency key.
    pub key: &'a str,
    /// The endpoint name.
    pub hook: &'a str,
    /// The `webhook-id` of the attempt.
    pub webhook_id: &'a str,
    /// The user concerned, if any.
    pub user_id: Option<Uuid>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// Row operations inside one open transaction.
pub trait MirrorTx: Send {
    /// Inserts the ledger row with outcome `pending`; `false` when the key exists.
    /// A concurrent transaction claiming the same key waits until this one ends
    /// (PostgreSQL: the primary key's row lock; SQLite: the single write lock).
    fn claim(
        &mut self,
        entry: LedgerEntry<'_>,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Records the outcome of a claimed delivery.
    fn settle(
        &mut self,
        key: &str,
        outcome: Outcome,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Serialises every change to this user id until the transaction ends, even
    /// while no row exists yet (a delete racing the first insert).
    fn lock_id(&mut self, id: Uuid) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Reads the user and locks its row until the transaction ends.
    fn lock_user(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<MirrorUser>, StorageError>> + Send;
    /// Inserts a new user; `false` when a row with its id already exists.
    fn insert_user(
        &mut self,
        user: &MirrorUser,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Inserts a profile unless the user already has one.
    fn insert_profile(
        &mut self,
        id: Uuid,
        profile: &Profile,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Writes every synced column of `user`; never `is_onboarded` or `created_at`.
    fn update_user(
        &mut self,
        user: &MirrorUser,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Removes the user row; its profile goes with it.
    fn delete_user(&mut self, id: Uuid) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Remembers that the user was deleted upstream.
    fn bury(
        &mut self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Whether the user was deleted upstream.
    fn is_buried(&mut self, id: Uuid) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Moves the two versions forward and nothing else.
    fn touch_user(
        &mut self,
        id: Uuid,
        source_updated_at: DateTime<Utc>,
        activity_updated_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}

/// Claims the delivery in the ledger, then applies its change, in the caller's transaction.
pub async fn delivery<T: MirrorTx>(
    tx: &mut T,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    if let UserChange::Skip(_) = delivery.change {
        return Ok(Outcome::Skipped);
    }
    let entry = LedgerEntry {
        key: &delivery.idempotency_key,
        hook: delivery.hook.as_str(),
        webhook_id: &delivery.webhook_id,
        user_id: delivery.change.user_id(),
        received_at: now,
    };
    // The ledger row goes first: a concurrent copy of this delivery blocks on
    // its key until we commit, then finds it and changes nothing.
    if !tx.claim(entry).await? {
        return Ok(Outcome::Duplicate);
    }
    let outcome = change(tx, &delivery.change, now).await?;
    tx.settle(&delivery.idempotency_key, outcome).await?;
    Ok(outcome)
}

/// Applies one change without a ledger row (reconciliation is idempotent by itself).
pub async fn change<T: MirrorTx>(
    tx: &mut T,
    change: &UserChange,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    if let Some(id) = change.user_id() {
        tx.lock_id(id).await?;
    }
    match change {
        UserChange::Upsert(incoming) => upsert(tx, incoming, now).await,
        UserChange::Delete { id, version, mode } => delete(tx, *id, *version, *mode, now).await,
        UserChange::Skip(_) => Ok(Outcome::Skipped),
    }
}

async fn delete<T: MirrorTx>(
    tx: &mut T,
    id: Uuid,
    version: DateTime<Utc>,
    mode: DeleteMode,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    tx.bury(id, now).await?;
    let Some(stored) = tx.lock_user(id).await? else {
        return Ok(Outcome::Deleted);
    };
    match mode {
        DeleteMode::Hard => tx.delete_user(id).await?,
        DeleteMode::Soft if stored.deleted_at.is_some() => return Ok(Outcome::Unchanged),
        DeleteMode::Soft => {
            tx.update_user(&mirror::mark_deleted(&stored, version, now))
                .await?
        }
    }
    Ok(Outcome::Deleted)
}

async fn upsert<T: MirrorTx>(
    tx: &mut T,
    incoming: &UserRecord,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    let stored = match tx.lock_user(incoming.id).await? {
        Some(stored) => stored,
        None if tx.is_buried(incoming.id).await? => return Ok(Outcome::Stale),
        None => {
            let user = mirror::new_user(incoming, now);
            if tx.insert_user(&user).await? {
                tx.insert_profile(user.id, &Profile::seed(&user)).await?;
                return Ok(Outcome::Created);
            }
            // Another transaction created the user between our read and our insert.
            tx.lock_user(incoming.id).await?.ok_or_else(|| {
                StorageError::Unavailable("a user row vanished mid-transaction".into())
            })?
        }
    };
    match mirror::plan(&stored, incoming, now) {
        Plan::Update(next) => {
            tx.update_user(&next).await?;
            Ok(Outcome::Updated)
        }
        Plan::Touch {
            source_updated_at,
            activity_updated_at,
        } => {
            tx.touch_user(stored.id, source_updated_at, activity_updated_at)
                .await?;
            Ok(Outcome::Unchanged)
        }
        Plan::Unchanged => Ok(Outcome::Unchanged),
        Plan::Stale => Ok(Outcome::Stale),
    }
}
