//! Group commit: deliveries that wait at the same time share one transaction.
//!
//! Deliveries queue up; whenever one of the writers is free, it takes everything
//! waiting (up to [`MAX_BATCH`]) and applies it in one transaction, so the batch
//! shares its round trips, its commit and the commit's fsync. Under light load a
//! batch is one delivery and goes at once; under heavy load batches grow by
//! themselves while the writers are busy. Each delivery keeps its own outcome and is
//! answered only after the commit that holds its change. A batch that fails for a
//! reason other than the database being unavailable, or because a lock on one of its
//! users was held elsewhere past the lock timeout, is applied again one delivery at a
//! time, so one bad delivery, or one held user, fails alone.

use super::apply::{Applied, Batch, LedgerEntry, Request};
use super::{Backend, EventBell, Storage, StorageError};
use crate::events::Delivery;
use crate::mirror::{DeleteMode, EventTypes, SignUpPolicy};

/// What a delete does to a row, which emails are flagged, which lifecycle events are
/// recorded, and the bell rung after they are.
struct Rules {
    mode: DeleteMode,
    policy: Arc<SignUpPolicy>,
    events: EventTypes,
    bell: EventBell,
}
use chrono::Utc;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// The most deliveries one transaction applies.
pub const MAX_BATCH: usize = 64;

/// How many deliveries may wait for a writer before senders wait too.
const QUEUE: usize = 4096;

struct Job {
    delivery: Delivery,
    reply: oneshot::Sender<Result<Applied, StorageError>>,
}

/// The queue in front of the writers.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts `writers` writers over `storage`, deleting per `mode` and flagging the
    /// emails `policy` refuses; needs a Tokio runtime. Each transaction records
    /// lifecycle events of the types in `events`, and rings `bell` after a commit that
    /// recorded some.
    pub fn start(
        storage: Storage,
        mode: DeleteMode,
        policy: Arc<SignUpPolicy>,
        writers: usize,
        events: (EventTypes, EventBell),
    ) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let rules = Rules {
            mode,
            policy,
            events: events.0,
            bell: events.1,
        };
        tokio::spawn(dispatch(jobs, storage, Arc::new(rules), writers.max(1)));
        Self { queue }
    }

    /// Applies one delivery (never a skip) in the next batch; returns after its commit.
    pub async fn apply(&self, delivery: Delivery) -> Result<Applied, StorageError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StorageError::Unavailable("the writer has stopped".into());
        self.queue
            .send(Job { delivery, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn dispatch(
    mut jobs: mpsc::Receiver<Job>,
    storage: Storage,
    rules: Arc<Rules>,
    writers: usize,
) {
    let free = Arc::new(Semaphore::new(writers));
    while let Some(first) = jobs.recv().await {
        // While every writer is busy, deliveries keep arriving and join the next batch.
        let Ok(writer) = free.clone().acquire_owned().await else {
            return;
        };
        let batch = gather(first, &mut jobs);
        let storage = storage.clone();
        let rules = rules.clone();
        tokio::spawn(async move {
            run(&storage, &rules, batch).await;
            drop(writer);
        });
    }
}

/// `first` and whatever else is waiting, up to [`MAX_BATCH`].
fn gather<T>(first: T, waiting: &mut mpsc::Receiver<T>) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match waiting.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    batch
}

async fn run(storage: &Storage, rules: &Rules, batch: Vec<Job>) {
    let started = std::time::Instant::now();
    let applied = apply(storage, rules, &batch).await;
    crate::telemetry::write_batch(batch.len(), started.elapsed());
    match applied {
        Ok(results) => {
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.reply.send(Ok(result));
            }
        }
        // A lock held elsewhere concerns one user: the others need not fail with it.
        Err(error) if batch.len() > 1 && error.is_lock_conflict() => {
            one_at_a_time(storage, rules, batch, &error).await;
        }
        Err(StorageError::Unavailable(reason)) => {
            for job in batch {
                let _ = job
                    .reply
                    .send(Err(StorageError::Unavailable(reason.clone())));
            }
        }
        Err(error) if batch.len() == 1 => {
            if let Some(job) = batch.into_iter().next() {
                let _ = job.reply.send(Err(error));
            }
        }
        Err(error) => one_at_a_time(storage, rules, batch, &error).await,
    }
}

/// Applies each delivery of a batch that failed with `error` in a transaction of its
/// own, so that whatever failed it fails alone.
async fn one_at_a_time(storage: &Storage, rules: &Rules, batch: Vec<Job>, error: &StorageError) {
    tracing::warn!(
        deliveries = batch.len(),
        reason = crate::infra::error_chain::describe(error),
        "a write transaction failed; applying its deliveries one at a time"
    );
    for job in batch {
        let result = apply(storage, rules, std::slice::from_ref(&job)).await;
        let _ = job.reply.send(result.map(|mut r| r.remove(0)));
    }
}

async fn apply(
    storage: &Storage,
    rules: &Rules,
    batch: &[Job],
) -> Result<Vec<Applied>, StorageError> {
    let now = crate::events::to_micros(Utc::now());
    let requests: Vec<Request<'_>> = batch
        .iter()
        .map(|job| {
            let d = &job.delivery;
            Request {
                change: &d.change,
                ledger: Some(LedgerEntry {
                    key: &d.idempotency_key,
                    hook: d.hook.as_str(),
                    webhook_id: &d.webhook_id,
                    user_id: d.change.user_id(),
                    received_at: now,
                }),
            }
        })
        .collect();
    let batch = Batch {
        requests: &requests,
        mode: rules.mode,
        policy: &rules.policy,
        now,
        commit: true,
        events: rules.events,
    };
    let applied = storage.batch(batch).await;
    if let Ok(applied) = &applied {
        rules.bell.recorded(applied);
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_takes_what_is_waiting_up_to_the_cap() {
        let (queue, mut waiting) = mpsc::channel(QUEUE);
        for n in 0..150 {
            queue.send(n).await.unwrap();
        }

        let mut sizes = Vec::new();
        while let Ok(first) = waiting.try_recv() {
            sizes.push(gather(first, &mut waiting).len());
        }

        assert_eq!(sizes, [MAX_BATCH, MAX_BATCH, 150 - 2 * MAX_BATCH]);
    }
}
