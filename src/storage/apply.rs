//! How deliveries are applied, written once for every backend.
//!
//! A backend offers two steps inside one transaction ([`MirrorTx`]): *load* takes the
//! users' locks and reads their state and the ledger, *write* runs a list of row
//! operations and commits. Everything between them is decided here, with the pure
//! [`mirror::plan`]: which deliveries are duplicates, what each change writes, and the
//! ledger row that makes each delivery apply exactly once.

use super::StorageError;
use crate::events::UserChange;
use crate::mirror::{
    self, Current, Decision, DeleteMode, EventTypes, MirrorUser, Outcome, Profile, ProfileWrite,
    SignUpPolicy, Tombstone, UserWrite,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
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
    /// The user concerned.
    pub user_id: Option<Uuid>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// One change to apply, with its ledger row (none for reconciliation, which is
/// idempotent by itself).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The change; never [`UserChange::Skip`], which needs no storage.
    pub change: &'a UserChange,
    /// The delivery's ledger row.
    pub ledger: Option<LedgerEntry<'a>>,
}

/// Requests to apply in one transaction, and how.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The requests, applied in order.
    pub requests: &'a [Request<'a>],
    /// What a deletion does to the user's row.
    pub mode: DeleteMode,
    /// The sign-up policy: a user given an email it refuses is flagged.
    pub policy: &'a SignUpPolicy,
    /// The time the transaction writes.
    pub now: DateTime<Utc>,
    /// Whether it commits; `false` rolls it back, reporting the outcomes only.
    pub commit: bool,
    /// The lifecycle event types recorded in the outbox with the changes.
    pub events: EventTypes,
}

/// What applying one request did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The outcome reported to the sender.
    pub outcome: Outcome,
    /// The user's row after the transaction, `None` when it has none.
    pub user: Option<MirrorUser>,
    /// The change gave the user an email the sign-up policy refuses.
    pub flagged: bool,
    /// How many lifecycle events the change recorded.
    pub events: usize,
}

/// A lifecycle event to record in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// The event id, the same wherever and however often its change is applied.
    pub id: Uuid,
    /// The event type, e.g. `user.created`.
    pub kind: &'static str,
    /// The user concerned.
    pub user_id: Uuid,
    /// Its place among the user's events of this transaction, from 1: its sequence is
    /// the user's last recorded sequence plus this.
    pub offset: i64,
    /// When it was recorded (the transaction's time).
    pub recorded_at: DateTime<Utc>,
    /// The event's `data`: `{"user": …, "changed": […]}`.
    pub data: Value,
}

/// The users' state and the ledger, as read by [`MirrorTx::lock_and_read`].
#[derive(Debug, Default)]
pub struct Loaded {
    /// Each requested user's state, in the order of the ids.
    pub users: Vec<Current>,
    /// The requested ledger keys that are already recorded.
    pub recorded: HashSet<String>,
}

/// One row operation of the write step.
#[derive(Debug, Clone, Copy)]
pub enum Op<'a> {
    /// Insert a new user row.
    InsertUser(&'a MirrorUser),
    /// Write every synced column of the row; never `is_onboarded` or `created_at`.
    UpdateUser(&'a MirrorUser),
    /// Remove the user row; its profile goes with it.
    DeleteUser(Uuid),
    /// Insert the first profile of a user.
    InsertProfile(Uuid, &'a Profile),
    /// Set the profile's name, avatar and `updated_at` to `to`'s, only while its name
    /// and avatar are still `from`'s (the application may have just changed them).
    FollowProfile {
        /// The user.
        id: Uuid,
        /// The profile as it was read.
        from: &'a Profile,
        /// The profile to write.
        to: &'a Profile,
    },
    /// Insert the user's tombstone.
    InsertTombstone(Uuid, Tombstone),
    /// Replace the user's tombstone.
    UpdateTombstone(Uuid, Tombstone),
    /// Record a delivery in the ledger with its outcome.
    Record(LedgerEntry<'a>, Outcome),
    /// Tell other processes, at commit, that this user's identity changed or that it
    /// is gone, so that they forget what they remember of it.
    Announce(Uuid),
    /// Record a lifecycle event in the outbox, and tell listeners at commit.
    Event(&'a OutboxEvent),
}

/// The two steps of one transaction on a backend.
pub trait MirrorTx: Send {
    /// Begins the transaction, takes each user's lock in the order given (ascending,
    /// so that concurrent transactions never deadlock) until it ends, even for users
    /// without a row, then reads their state and which of `keys` the ledger holds.
    fn lock_and_read(
        &mut self,
        ids: &[Uuid],
        keys: &[&str],
    ) -> impl Future<Output = Result<Loaded, StorageError>> + Send;
    /// Runs `ops` in order, then commits; with `commit == false` (a dry run) rolls back.
    fn write_and_commit(
        &mut self,
        ops: &[Op<'_>],
        commit: bool,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}

/// Applies the batch's requests in one transaction, in order, deletes per its `mode`. A
/// request whose ledger key is recorded (or appears earlier in the batch) is a duplicate
/// and changes nothing; later requests for a user see what earlier ones did.
pub async fn batch<T: MirrorTx>(
    tx: &mut T,
    batch: Batch<'_>,
) -> Result<Vec<Applied>, StorageError> {
    let Batch {
        requests,
        mode,
        policy,
        now,
        commit,
        events: recorded,
    } = batch;
    let mut ids: Vec<Uuid> = requests.iter().filter_map(|r| r.change.user_id()).collect();
    ids.sort_unstable();
    ids.dedup();
    let keys: Vec<&str> = requests
        .iter()
        .filter_map(|r| r.ledger.map(|l| l.key))
        .collect();
    let loaded = tx.lock_and_read(&ids, &keys).await?;
    let mut states: HashMap<Uuid, Current> = ids.iter().copied().zip(loaded.users).collect();

    let mut seen = HashSet::new();
    let mut applied = Vec::with_capacity(requests.len());
    let mut decisions: Vec<Option<(Uuid, Decision, bool, bool)>> =
        Vec::with_capacity(requests.len());
    let mut outbox: Vec<Vec<OutboxEvent>> = Vec::with_capacity(requests.len());
    let mut offsets: HashMap<Uuid, i64> = HashMap::new();
    for request in requests {
        let duplicate = request
            .ledger
            .is_some_and(|l| loaded.recorded.contains(l.key) || !seen.insert(l.key));
        let state = request
            .change
            .user_id()
            .and_then(|id| Some((id, states.get_mut(&id)?)));
        let Some((id, current)) = state.filter(|_| !duplicate) else {
            let outcome = if duplicate {
                Outcome::Duplicate
            } else {
                Outcome::Skipped
            };
            applied.push(Applied {
                outcome,
                user: None,
                flagged: false,
                events: 0,
            });
            decisions.push(None);
            outbox.push(Vec::new());
            continue;
        };
        let decision = mirror::plan(current, request.change, mode, policy, now);
        let had_tombstone = current.tombstone.is_some();
        let before = current.user.as_ref().map(identity);
        let next = current.after(&decision);
        let announce = before.is_some() && before != next.user.as_ref().map(identity);
        let made = if recorded.is_empty() {
            Vec::new()
        } else {
            let origin = request.ledger.map(|l| l.key);
            let offset = offsets.entry(id).or_default();
            outbox_events(current, &next, recorded, origin, now, offset)
        };
        *current = next;
        applied.push(Applied {
            outcome: decision.outcome,
            user: current.user.clone(),
            flagged: decision.flagged,
            events: made.len(),
        });
        outbox.push(made);
        decisions.push(Some((id, decision, had_tombstone, announce)));
    }

    let mut ops = Vec::new();
    let mut announced = HashSet::new();
    let done = requests.iter().zip(&decisions).zip(&applied).zip(&outbox);
    for (((request, decided), done), events) in done {
        let Some((id, decision, had_tombstone, announce)) = decided else {
            continue;
        };
        push_ops(&mut ops, *id, decision, *had_tombstone);
        if *announce && announced.insert(*id) {
            ops.push(Op::Announce(*id));
        }
        if let Some(ledger) = request.ledger {
            ops.push(Op::Record(ledger, done.outcome));
        }
        ops.extend(events.iter().map(Op::Event));
    }
    tx.write_and_commit(&ops, commit).await?;
    Ok(applied)
}

/// The outbox rows of the step from `before` to `after` (see [`mirror::lifecycle`]);
/// `origin` is the delivery's idempotency key, `offset` counts the user's events of the
/// transaction so far.
fn outbox_events(
    before: &Current,
    after: &Current,
    recorded: EventTypes,
    origin: Option<&str>,
    now: DateTime<Utc>,
    offset: &mut i64,
) -> Vec<OutboxEvent> {
    let events = mirror::lifecycle(before, after, recorded);
    let Some(first) = events.first() else {
        return Vec::new();
    };
    let origin = match origin {
        Some(key) => key.to_owned(),
        None => mirror::keyless_origin(first.user_id, after),
    };
    events
        .into_iter()
        .map(|event| {
            *offset += 1;
            OutboxEvent {
                id: mirror::event_id(&origin, event.kind),
                kind: event.kind.as_str(),
                user_id: event.user_id,
                offset: *offset,
                recorded_at: now,
                data: json!({ "user": event.user, "changed": event.changed }),
            }
        })
        .collect()
}

/// What other processes may remember of a user: its identity, while it is not deleted.
/// Only a change to it is announced (an announcement serialises commits on PostgreSQL).
fn identity(user: &MirrorUser) -> Option<[u8; 32]> {
    user.deleted_at
        .is_none()
        .then(|| mirror::stored_identity_fingerprint(user))
}

/// The row operations that carry out `decision` for user `id`.
fn push_ops<'a>(ops: &mut Vec<Op<'a>>, id: Uuid, decision: &'a Decision, had_tombstone: bool) {
    match &decision.user {
        UserWrite::Keep => {}
        UserWrite::Insert(user) => ops.push(Op::InsertUser(user)),
        UserWrite::Update(user) => ops.push(Op::UpdateUser(user)),
        UserWrite::Remove => ops.push(Op::DeleteUser(id)),
    }
    match &decision.profile {
        None => {}
        Some(ProfileWrite::Create(profile)) => ops.push(Op::InsertProfile(id, profile)),
        Some(ProfileWrite::Follow { from, to }) => ops.push(Op::FollowProfile { id, from, to }),
    }
    match decision.tombstone {
        None => {}
        Some(t) if had_tombstone => ops.push(Op::UpdateTombstone(id, t)),
        Some(t) => ops.push(Op::InsertTombstone(id, t)),
    }
}
