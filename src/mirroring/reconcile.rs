//! Reconciliation's changes, applied many at once through the rule every delivery
//! goes through.
//!
//! A batch costs one unlocked read of its users' state, and the pure rule decides
//! each change against it. A change that would write nothing (the mirror already
//! holds it, or something newer) is answered from that read alone: the mirror's
//! state only ever grows (see [`crate::mirror`]), so whatever a delivery commits
//! meanwhile, the change would still write nothing. The others are applied in
//! transactions of up to [`Backend::reconcile_batch`] changes, where storage takes
//! the users' locks, reads them again, decides again with the same rule and writes
//! each kind of row in one statement (PostgreSQL), exactly as a batch of deliveries.

use super::{Mirroring, now};
use crate::events::UserChange;
use crate::mirror::{Current, Outcome, plan};
use crate::storage::{Backend, Batch, Request, StorageError};
use std::collections::HashMap;

impl Mirroring {
    /// Applies changes found by reconciliation, and returns each one's outcome, in
    /// order. With `dry_run` nothing is written, and the outcomes are those the
    /// mirror's current state implies.
    pub async fn reconcile(
        &self,
        changes: &[UserChange],
        dry_run: bool,
    ) -> Result<Vec<Outcome>, StorageError> {
        let now = now();
        let mut ids: Vec<_> = changes.iter().filter_map(UserChange::user_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let read = self.storage.read_current(&ids).await?;
        let mut states: HashMap<_, Current> = ids.into_iter().zip(read).collect();

        let mut outcomes = Vec::with_capacity(changes.len());
        let mut writing = Vec::new();
        for (n, change) in changes.iter().enumerate() {
            let state = change.user_id().and_then(|id| states.get_mut(&id));
            let Some(state) = state else {
                outcomes.push(Outcome::Skipped);
                continue;
            };
            let decision = plan(state, change, self.on_delete, &self.policy, now);
            outcomes.push(decision.outcome);
            if !decision.writes_nothing() {
                *state = state.after(&decision);
                writing.push(n);
            }
        }
        if dry_run {
            return Ok(outcomes);
        }
        for chunk in writing.chunks(self.storage.reconcile_batch().max(1)) {
            let applied = self.write(changes, chunk).await?;
            for (&n, outcome) in chunk.iter().zip(applied) {
                outcomes[n] = outcome;
            }
        }
        Ok(outcomes)
    }

    /// Applies `changes[n]` for each `n` of `which` in one transaction. When a lock on
    /// one of the users was held elsewhere past the lock timeout, each change is
    /// applied again on its own, so that one held user does not fail the others.
    async fn write(
        &self,
        changes: &[UserChange],
        which: &[usize],
    ) -> Result<Vec<Outcome>, StorageError> {
        let requests: Vec<Request<'_>> = which
            .iter()
            .map(|&n| Request {
                change: &changes[n],
                ledger: None,
            })
            .collect();
        let batch = |requests| Batch {
            requests,
            mode: self.on_delete,
            policy: &self.policy,
            now: now(),
            commit: true,
            events: self.events,
        };
        let outcomes = |applied: Vec<crate::storage::Applied>| {
            self.bell.recorded(&applied);
            applied
                .iter()
                .for_each(|a| super::report_flagged("reconcile", a));
            applied.into_iter().map(|a| a.outcome).collect::<Vec<_>>()
        };
        match self.storage.batch(batch(&requests)).await {
            Ok(applied) => Ok(outcomes(applied)),
            Err(error) if requests.len() > 1 && error.is_lock_conflict() => {
                let mut each = Vec::with_capacity(requests.len());
                for request in &requests {
                    let applied = self.storage.batch(batch(std::slice::from_ref(request)));
                    each.extend(outcomes(applied.await?));
                }
                Ok(each)
            }
            Err(error) => Err(error),
        }
    }
}
