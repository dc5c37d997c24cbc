//! Repairs the mirror from `auth.users` itself, for the events pg_net dropped.
//!
//! Every row goes through the same use-case as a webhook, so reconciling an
//! up-to-date mirror changes nothing.

use super::auth_users::{AuthUsersSource, SourceError, SourceUser};
use crate::events::{UserChange, row_change, to_micros};
use crate::mirror::Outcome;
use crate::mirroring::Mirroring;
use crate::storage::{Queries, StorageError};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

/// Rows read from the source per query.
pub const PAGE_SIZE: usize = 1000;

/// How a reconciliation runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Report what would change, write nothing.
    pub dry_run: bool,
    /// Treat mirror users that no longer exist upstream as deleted there
    /// (kept marked deleted, or removed with `SUPAHOOK_ON_DELETE=hard`).
    pub prune: bool,
    /// Mirror users younger than this are never taken for deleted: they may still be
    /// signing up (before-user-created mirrors them before `auth.users` has the row).
    pub prune_grace: Duration,
    /// Rows applied at once.
    pub concurrency: usize,
}

/// What a reconciliation found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows read from `auth.users`.
    pub read: u64,
    /// Users the mirror did not have.
    pub created: u64,
    /// Users whose mirrored columns changed.
    pub updated: u64,
    /// Users already up to date.
    pub unchanged: u64,
    /// Rows older than what the mirror holds (a webhook was faster); not applied.
    pub stale: u64,
    /// Mirror users that no longer exist upstream.
    pub deleted_upstream: u64,
    /// Of those, how many were marked deleted (only with `prune`).
    pub pruned: u64,
    /// Rows that could not be used (for example no `updated_at` and no `created_at`).
    pub skipped: u64,
}

/// A reconciliation failed part-way.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Reading the source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Writing the mirror failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Summary {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated | Outcome::Deleted => self.updated += 1,
            Outcome::Unchanged | Outcome::Duplicate => self.unchanged += 1,
            Outcome::Stale => self.stale += 1,
            Outcome::Skipped => self.skipped += 1,
        }
    }
}

/// Applies every row of `auth.users` to the mirror; `progress` is called with the
/// number of rows done after each page.
pub async fn run(
    source: &mut AuthUsersSource,
    mirroring: &Mirroring,
    options: Options,
    progress: impl Fn(u64),
) -> Result<Summary, ReconcileError> {
    let mut summary = Summary::default();
    let mut upstream: HashSet<Uuid> = HashSet::new();
    let mut after = None;
    loop {
        let page = source.page(after, PAGE_SIZE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.row.id);
        summary.read += page.len() as u64;
        upstream.extend(page.iter().map(|user| user.row.id));
        let changes: Vec<Option<UserChange>> = page.iter().map(source_change).collect();
        let outcomes: Vec<Result<Outcome, StorageError>> =
            futures_util::stream::iter(changes.iter())
                .map(|change| async move {
                    match change {
                        Some(change) => mirroring.reconcile(change, options.dry_run).await,
                        None => Ok(Outcome::Skipped),
                    }
                })
                .buffer_unordered(options.concurrency.max(1))
                .collect()
                .await;
        for outcome in outcomes {
            summary.count(outcome?);
        }
        progress(summary.read);
    }
    prune(source, mirroring, &upstream, options, &mut summary).await?;
    Ok(summary)
}

/// What a row read from `auth.users` asks of the mirror. Its version is the time of
/// its last change when the signed trigger recorded one, which orders it after every
/// token issued before a direct SQL edit; otherwise the row's `updated_at`. `None`
/// for a row with neither `updated_at` nor `created_at`.
fn source_change(user: &SourceUser) -> Option<UserChange> {
    let version = match user.changed_at {
        Some(changed_at) => changed_at,
        None => user.row.auth_version().ok()?,
    };
    Some(row_change(&user.row, to_micros(version)))
}

/// Finds mirror users missing upstream. Users mirrored within the grace period are
/// left alone, and each candidate is looked up once more, so a user created upstream
/// after its page was read is not taken for a deleted one.
async fn prune(
    source: &mut AuthUsersSource,
    mirroring: &Mirroring,
    upstream: &HashSet<Uuid>,
    options: Options,
    summary: &mut Summary,
) -> Result<(), ReconcileError> {
    let grace = chrono::TimeDelta::from_std(options.prune_grace).unwrap_or(chrono::TimeDelta::MAX);
    let mirrored_before = Utc::now()
        .checked_sub_signed(grace)
        .unwrap_or(DateTime::UNIX_EPOCH);
    let mut after = None;
    loop {
        let ids = mirroring
            .storage()
            .live_user_ids(after, PAGE_SIZE, mirrored_before)
            .await?;
        let Some(last) = ids.last() else {
            return Ok(());
        };
        after = Some(*last);
        for id in ids.into_iter().filter(|id| !upstream.contains(id)) {
            if source.contains(id).await? {
                continue;
            }
            summary.deleted_upstream += 1;
            if options.prune {
                // A provisional user goes; a confirmed one is marked deleted.
                let change = UserChange::Missing(id);
                if mirroring.reconcile(&change, options.dry_run).await? == Outcome::Deleted {
                    summary.pruned += 1;
                }
            }
        }
    }
}
