//! How a change is applied, written once for every backend.
//!
//! A backend opens a transaction and hands this module a [`MirrorTx`]: the
//! handful of row operations it knows how to run. This module claims the
//! delivery, loads the user's state, asks [`mirror::plan`] what to write and
//! writes it: the order that makes deliveries exactly-once and order-safe.

use super::StorageError;
use crate::events::{Delivery, UserChange};
use crate::mirror::{
    self, Current, Decision, DeleteMode, MirrorUser, Outcome, Profile, ProfileWrite, Tombstone,
    UserWrite,
};
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
    /// while no row exists yet, and reads the user's row, profile and tombstone.
    fn load(&mut self, id: Uuid) -> impl Future<Output = Result<Current, StorageError>> + Send;
    /// Inserts a new user; `false` when a row with its id already exists.
    fn insert_user(
        &mut self,
        user: &MirrorUser,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Writes every synced column of `user`; never `is_onboarded` or `created_at`.
    fn update_user(
        &mut self,
        user: &MirrorUser,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Removes the user row; its profile goes with it.
    fn delete_user(&mut self, id: Uuid) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Inserts a profile unless the user already has one.
    fn insert_profile(
        &mut self,
        id: Uuid,
        profile: &Profile,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Sets the profile's name, avatar and `updated_at` to `to`'s, only while its
    /// name and avatar are still `from`'s (the application may have just changed them).
    fn follow_profile(
        &mut self,
        id: Uuid,
        from: &Profile,
        to: &Profile,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Stores the user's tombstone with these values.
    fn put_tombstone(
        &mut self,
        id: Uuid,
        tombstone: Tombstone,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}

/// Claims the delivery in the ledger, then applies its change, in the caller's transaction.
pub async fn delivery<T: MirrorTx>(
    tx: &mut T,
    delivery: &Delivery,
    mode: DeleteMode,
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
    let outcome = change(tx, &delivery.change, mode, now).await?;
    tx.settle(&delivery.idempotency_key, outcome).await?;
    Ok(outcome)
}

/// Applies one change without a ledger row (reconciliation is idempotent by itself).
pub async fn change<T: MirrorTx>(
    tx: &mut T,
    change: &UserChange,
    mode: DeleteMode,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    let Some(id) = change.user_id() else {
        return Ok(Outcome::Skipped);
    };
    let current = tx.load(id).await?;
    let decision = mirror::plan(&current, change, mode, now);
    write(tx, id, &decision).await?;
    Ok(decision.outcome)
}

async fn write<T: MirrorTx>(tx: &mut T, id: Uuid, decision: &Decision) -> Result<(), StorageError> {
    match &decision.user {
        UserWrite::Keep => {}
        UserWrite::Insert(user) => {
            // The id is locked and was read as absent, so only a row written around
            // supahook can be in the way; the retry will see it.
            if !tx.insert_user(user).await? {
                return Err(StorageError::Unavailable(
                    "a user row appeared mid-transaction; retry".into(),
                ));
            }
        }
        UserWrite::Update(user) => tx.update_user(user).await?,
        UserWrite::Remove => tx.delete_user(id).await?,
    }
    match &decision.profile {
        None => {}
        Some(ProfileWrite::Create(profile)) => tx.insert_profile(id, profile).await?,
        Some(ProfileWrite::Follow { from, to }) => tx.follow_profile(id, from, to).await?,
    }
    if let Some(tombstone) = decision.tombstone {
        tx.put_tombstone(id, tombstone).await?;
    }
    Ok(())
}
