//! Events recorded after an endpoint's cursor, sent a batch at a time under the
//! endpoint's lease: one chain per user side by side, then one transaction records
//! every attempt, queues what was not delivered for retries and moves the cursor.

use super::{CLAIM_BATCH, LEASE_MARGIN, NEW_BATCH, Pusher, Tried, batch, persist};
use crate::config::PushEndpoint;
use crate::storage::{PushBatchResult, PushQueries, PushStep, RecordedEvent, StorageError};
use chrono::{TimeDelta, Utc};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

impl Pusher {
    /// Sends the next batch of events recorded after `endpoint`'s cursor, if this
    /// process gets its lease, and records what became of it; whether a full batch
    /// was taken (more may follow).
    pub(super) async fn deliver_new(&self, endpoint: &PushEndpoint) -> Result<bool, StorageError> {
        let url = endpoint.url.as_str();
        let now = Utc::now();
        let hold = self.timeout * 2 + LEASE_MARGIN;
        let lease = now + TimeDelta::from_std(hold).unwrap_or_default();
        let types = endpoint.types.as_deref();
        let Some(taken) = self
            .storage
            .lease_push_batch(url, types, NEW_BATCH, now, lease)
            .await?
        else {
            return Ok(false);
        };
        let full = taken.events.len() >= NEW_BATCH;
        let plan = batch::plan(taken.events);
        // No attempt starts that could outlast the lease.
        let send_by = Instant::now() + hold - self.timeout;
        let disabled = AtomicBool::new(false);
        let chains: Vec<Vec<(RecordedEvent, Option<Tried>)>> =
            futures_util::stream::iter(plan.chains)
                .map(|chain| self.send_chain(endpoint, chain, send_by, &disabled))
                .buffer_unordered(CLAIM_BATCH)
                .collect()
                .await;
        let sent: Vec<(&RecordedEvent, Option<&PushStep>)> = chains
            .iter()
            .flatten()
            .map(|(event, tried)| (event, tried.as_ref().map(|t| &t.step)))
            .chain(plan.waiting.iter().map(|event| (event, None)))
            .collect();
        let queued_at = Utc::now();
        let (queued, disable) = batch::settle(&sent, queued_at);
        let result = PushBatchResult {
            url,
            from: taken.from,
            through: taken.through,
            queued_at,
            attempts: chains
                .iter()
                .flatten()
                .filter_map(|(_, tried)| tried.as_ref().map(|t| t.record(url)))
                .collect(),
            queued,
            disable,
        };
        persist(|| self.storage.record_push_batch(&result)).await?;
        Ok(full && result.disable.is_none())
    }

    /// Sends a user's events one after the other, stopping at the first not delivered,
    /// or once `send_by` passed or the endpoint asked to be disabled: each event with
    /// its attempt, `None` when it was not sent.
    async fn send_chain(
        &self,
        endpoint: &PushEndpoint,
        chain: Vec<RecordedEvent>,
        send_by: Instant,
        disabled: &AtomicBool,
    ) -> Vec<(RecordedEvent, Option<Tried>)> {
        let mut sent = Vec::with_capacity(chain.len());
        let mut going = true;
        for event in chain {
            let tried = match going && Instant::now() < send_by && !disabled.load(Ordering::Relaxed)
            {
                true => {
                    let position = event.position;
                    Some(
                        self.attempt(endpoint, position, Some(&event), 0, Utc::now())
                            .await,
                    )
                }
                false => None,
            };
            let step = tried.as_ref().map(|t| &t.step);
            going = matches!(step, Some(PushStep::Delivered));
            if matches!(step, Some(PushStep::Disable(_))) {
                disabled.store(true, Ordering::Relaxed);
            }
            sent.push((event, tried));
        }
        sent
    }
}
