//! Drains the spool into the database, oldest first, through the same use-case as
//! every delivery: the ledger makes each spooled delivery apply exactly once, also one
//! that reached the database after all (a write that outlived its budget) or that
//! Supabase sent again once the database was back.

use super::Sync;
use crate::spool::{Entry, Spool};
use crate::storage::{MAX_BATCH, StorageError};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often the drainer looks at the spool, and tries the database while it is down.
pub const DRAIN_EVERY: Duration = Duration::from_millis(250);

/// How long a drained delivery may wait for the database before the batch is tried
/// again later. Nobody waits for the answer, so it can be longer than the budget.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Drains `spool` for as long as the process runs.
pub(super) async fn run(sync: Sync, spool: Spool) {
    loop {
        tokio::time::sleep(DRAIN_EVERY).await;
        if spool.depth() == 0 {
            if !sync.database_up() && sync.storage.ping().await.is_ok() {
                sync.database_down.store(false, Ordering::Relaxed);
            }
            continue;
        }
        loop {
            match drain_batch(&sync, &spool).await {
                Ok(0) => break,
                Ok(drained) => {
                    crate::telemetry::spool_drained(drained);
                    sync.database_down.store(false, Ordering::Relaxed);
                }
                Err(reason) => {
                    tracing::debug!(reason, "the spool waits for the database");
                    break;
                }
            }
        }
    }
}

/// Applies the oldest waiting deliveries; returns how many left the spool. Stops at
/// the first sign that the database is still unavailable.
async fn drain_batch(sync: &Sync, spool: &Spool) -> Result<usize, String> {
    let entries = spool.oldest(MAX_BATCH).await.map_err(|e| e.to_string())?;
    if entries.is_empty() {
        return Ok(0);
    }
    let attempts = entries.iter().map(|entry| drain_one(sync, entry));
    let results = futures_util::future::join_all(attempts).await;
    let mut done = Vec::new();
    let mut unavailable = None;
    for (entry, result) in entries.iter().zip(results) {
        match result {
            Ok(()) => done.push(entry.seq),
            Err(StorageError::Unavailable(reason)) => unavailable = Some(reason),
            Err(error) => {
                let reason = crate::error_chain::describe(&error);
                tracing::error!(
                    seq = entry.seq,
                    hook = entry.delivery.hook.as_str(),
                    reason,
                    "the database refused a spooled delivery; it is set aside in the spool"
                );
                spool
                    .set_aside(entry.seq, reason)
                    .await
                    .map_err(|e| e.to_string())?;
                crate::telemetry::spool_set_aside();
            }
        }
    }
    let drained = done.len();
    spool.remove(done).await.map_err(|e| e.to_string())?;
    match unavailable {
        Some(reason) if drained == 0 => {
            sync.database_down.store(true, Ordering::Relaxed);
            Err(reason)
        }
        _ => Ok(drained),
    }
}

async fn drain_one(sync: &Sync, entry: &Entry) -> Result<(), StorageError> {
    let write = sync.write(&entry.delivery, false);
    match tokio::time::timeout(DRAIN_DEADLINE, write).await {
        Ok(Ok(outcome)) => {
            tracing::info!(
                hook = entry.delivery.hook.as_str(),
                user_id = entry.delivery.change.user_id().map(|id| id.to_string()),
                outcome = outcome.as_str(),
                spooled_ms = (chrono::Utc::now() - entry.received_at).num_milliseconds(),
                "spooled delivery applied"
            );
            Ok(())
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Err(StorageError::Unavailable(
            "the database did not answer in time".into(),
        )),
    }
}
