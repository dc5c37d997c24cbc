//! Repairs the mirror from `auth.users` itself, for the events pg_net dropped.
//!
//! Rows are read in pages in id order (keyset), and each page goes to the use-case
//! as one batch ([`Mirroring::reconcile`]): one read of the page's mirror rows, the
//! rule that every delivery goes through, and transactions that write each kind of
//! row in one statement, for the rows that changed only. Up to `concurrency` pages
//! are applied while the next one is read. Reconciling an up-to-date mirror writes
//! nothing.

use super::auth_users::{AuthUsersSource, SourceError, SourceUser};
use super::prune;
use crate::events::{UserChange, row_change, to_micros};
use crate::mirror::Outcome;
use crate::mirroring::Mirroring;
use crate::storage::{Queries, StorageError};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{HashSet, VecDeque};
use std::time::Duration;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Rows read from the source per query, and applied as one batch.
pub const PAGE_SIZE: usize = 1000;

/// How many times a page is tried while the database is unavailable.
const ATTEMPTS: u32 = 5;

/// How far before the last complete run an incremental run starts reading: a row
/// written by a transaction that began before that run but committed after it read
/// the row's page carries an `updated_at` from before the run, and Auth's clock may
/// be a little behind the database's.
pub const OVERLAP: TimeDelta = TimeDelta::minutes(10);

/// Which rows of `auth.users` a run reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// Every row.
    Everything,
    /// Rows changed at or after this time.
    Time(DateTime<Utc>),
    /// Rows changed since the last complete run, less [`OVERLAP`]; every row when
    /// no run was recorded for this source.
    LastRun,
}

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
    /// Pages applied at once.
    pub concurrency: usize,
    /// Which rows to read.
    pub since: Since,
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
    /// The rows read were those changed since this time; `None` when every row was read.
    pub changed_since: Option<DateTime<Utc>>,
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

type Applying = JoinHandle<Result<Vec<Outcome>, StorageError>>;

/// Applies the rows of `auth.users` that `options.since` selects to the mirror;
/// `progress` is called with the number of rows done, and of rows to do, after
/// each page. A run that
/// read every change since the last recorded one (and wrote) is recorded, for
/// [`Since::LastRun`].
pub async fn run(
    source: &mut AuthUsersSource,
    mirroring: &Mirroring,
    options: Options,
    progress: impl Fn(u64, u64),
) -> Result<Summary, ReconcileError> {
    let storage = mirroring.storage();
    let mark = patiently(|| storage.reconcile_mark(source.identity())).await?;
    let since = match options.since {
        Since::Everything => None,
        Since::Time(time) => Some(time),
        Since::LastRun => mark.map(|mark| mark - OVERLAP),
    };
    let started = source.now().await?;
    let total = source.count(since).await?;
    progress(0, total);
    let mut summary = Summary {
        changed_since: since,
        ..Summary::default()
    };
    let mut upstream: HashSet<Uuid> = HashSet::new();
    let mut applying: VecDeque<Applying> = VecDeque::new();
    let mut after = None;
    loop {
        let page = source.page(after, PAGE_SIZE, since).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.row.id);
        summary.read += page.len() as u64;
        if since.is_none() {
            upstream.extend(page.iter().map(|user| user.row.id));
        }
        let changes: Vec<UserChange> = page.iter().filter_map(source_change).collect();
        summary.skipped += (page.len() - changes.len()) as u64;
        while applying.len() >= options.concurrency.max(1) {
            tally(applying.pop_front(), &mut summary).await?;
            progress(done(&summary), total);
        }
        let mirroring = mirroring.clone();
        applying.push_back(tokio::spawn(async move {
            patiently(|| mirroring.reconcile(&changes, options.dry_run)).await
        }));
    }
    while !applying.is_empty() {
        tally(applying.pop_front(), &mut summary).await?;
        progress(done(&summary), total);
    }
    if since.is_some() {
        upstream = prune::upstream_ids(source).await?;
    }
    prune::run(source, mirroring, &upstream, options, &mut summary).await?;
    let complete = since.is_none_or(|since| mark.is_some_and(|mark| since <= mark));
    if complete && !options.dry_run {
        let identity = source.identity();
        patiently(|| storage.set_reconcile_mark(identity, started, Utc::now())).await?;
    }
    Ok(summary)
}

/// Runs `operation` until it succeeds or fails otherwise than with the database
/// unavailable (a timeout under load, a restart), at most [`ATTEMPTS`] times, waiting
/// a little longer each time: a long run need not fail for a moment's trouble, and
/// applying the same changes again is harmless.
pub(super) async fn patiently<T, F: Future<Output = Result<T, StorageError>>>(
    mut operation: impl FnMut() -> F,
) -> Result<T, StorageError> {
    let mut attempt = 1;
    loop {
        match operation().await {
            Err(StorageError::Unavailable(reason)) if attempt < ATTEMPTS => {
                tracing::warn!(reason, attempt, "the mirror database failed; trying again");
                tokio::time::sleep(Duration::from_secs(attempt.into())).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Rows whose batch is done, and rows that could not be used.
fn done(summary: &Summary) -> u64 {
    summary.created + summary.updated + summary.unchanged + summary.stale + summary.skipped
}

/// Waits for one page's batch and counts its outcomes.
async fn tally(batch: Option<Applying>, summary: &mut Summary) -> Result<(), ReconcileError> {
    let Some(batch) = batch else { return Ok(()) };
    let outcomes = batch
        .await
        .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))?;
    for outcome in outcomes {
        summary.count(outcome);
    }
    Ok(())
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
