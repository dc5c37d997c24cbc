//! Drains the spool into the database, oldest first, through the same use-case as
//! every delivery: the ledger makes each spooled delivery apply exactly once, also one
//! that reached the database after all (a write that outlived its budget) or that
//! Supabase sent again once the database was back.

use super::Mirroring;
use crate::spool::{Entry, Spool};
use crate::storage::{Backend, MAX_BATCH, StorageError};
use std::time::Duration;

/// How often the drainer looks at the spool, and tries the database while it is down.
pub const DRAIN_EVERY: Duration = Duration::from_millis(250);

/// How long a drained delivery may wait for the database before the batch is tried
/// again later. Nobody waits for the answer, so it can be longer than the budget.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Drains `spool` for as long as the process runs. Each round, when deliveries wait
/// or the database was unreachable, it pings the database first: the ping, not the
/// entries' outcomes, decides whether the database is back (one user's held row
/// must not send everyone else's deliveries to the spool).
pub(super) async fn run(mirroring: Mirroring, spool: Spool) {
    loop {
        mirroring.breaker.next_check(DRAIN_EVERY).await;
        if spool.depth() == 0 && mirroring.database_up() {
            continue;
        }
        if !migrated(&mirroring).await || !mirroring.ping().await {
            continue;
        }
        loop {
            match drain_batch(&mirroring, &spool).await {
                Ok(0) => break,
                Ok(drained) => crate::telemetry::spool_drained(drained),
                Err(reason) => {
                    tracing::warn!(reason, "the spool cannot be read; retrying");
                    break;
                }
            }
        }
    }
}

/// Applies the migrations `serve` could not apply at start, once the database answers.
async fn migrated(mirroring: &Mirroring) -> bool {
    use std::sync::atomic::Ordering;
    if mirroring.migrated.load(Ordering::Relaxed) {
        return true;
    }
    match tokio::time::timeout(DRAIN_DEADLINE, mirroring.storage.migrate()).await {
        Ok(Ok(applied)) => {
            tracing::info!(
                applied = applied.len(),
                "the database answers: migrations applied, the spool drains now"
            );
            mirroring.migrated.store(true, Ordering::Relaxed);
            true
        }
        Ok(Err(error)) => {
            tracing::debug!(error = %error, "migrations still wait for the database");
            false
        }
        Err(_) => false,
    }
}

/// Applies the oldest waiting deliveries; returns how many left the spool. An entry
/// the database cannot take now (unavailable, or a held row) stays for the next round.
async fn drain_batch(mirroring: &Mirroring, spool: &Spool) -> Result<usize, String> {
    let entries = spool.oldest(MAX_BATCH).await.map_err(|e| e.to_string())?;
    if entries.is_empty() {
        return Ok(0);
    }
    let attempts = entries.iter().map(|entry| drain_one(mirroring, entry));
    let results = futures_util::future::join_all(attempts).await;
    let mut done = Vec::new();
    for (entry, result) in entries.iter().zip(results) {
        match result {
            Ok(()) => done.push(entry.seq),
            Err(StorageError::Unavailable(_)) => {}
            Err(error) => {
                let reason = crate::infra::error_chain::describe(&error);
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
    Ok(drained)
}

async fn drain_one(mirroring: &Mirroring, entry: &Entry) -> Result<(), StorageError> {
    let delivery = &entry.delivery;
    let outcome = match mirroring.answer_without_database(delivery) {
        Some(outcome) => outcome,
        None => {
            match tokio::time::timeout(DRAIN_DEADLINE, mirroring.write_to_database(delivery)).await
            {
                Ok(result) => result?,
                Err(_) => {
                    return Err(StorageError::Unavailable(
                        "the database did not answer in time".into(),
                    ));
                }
            }
        }
    };
    tracing::info!(
        hook = delivery.hook.as_str(),
        user_id = delivery.change.user_id().map(|id| id.to_string()),
        outcome = outcome.as_str(),
        spooled_ms = (chrono::Utc::now() - entry.received_at).num_milliseconds(),
        "spooled delivery applied"
    );
    Ok(())
}
