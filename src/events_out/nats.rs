//! Publishes the outbox to NATS JetStream: each event to `<prefix>.<type>` (e.g.
//! `supahook.user.created`), in `position` order, once.
//!
//! The publisher follows the outbox from its cursor (`nats_cursor`, one row per
//! stream), sends each event once JetStream acknowledged the one before (so a message
//! lost with a connection is never overtaken), and moves the cursor on over what was
//! acknowledged. Each message carries the event id as `Nats-Msg-Id`, so events
//! published again (a crash between the acks and the cursor's write) are dropped by
//! the stream's duplicate window: JetStream stores each once.
//!
//! One process publishes at a time (the storage's [`PublisherLease`]); the others wait
//! for the lease and take over when it stops. The publisher wakes at each commit that
//! records events (the event bell, rung by `NOTIFY supahook_changes` from other
//! replicas). While NATS is down it retries with a growing pause and holds no database
//! connection but its lease's: hooks are never held up by it.

use crate::config::NatsSettings;
use crate::storage::{
    Backend, EventBell, OutboxQueries, PublisherLease, RecordedEvent, Storage, StorageError,
};
use crate::telemetry;
use async_nats::jetstream::{self, message::PublishMessage};
use chrono::Utc;
use secrecy::ExposeSecret;
use std::time::Duration;

/// Events published between two moves of the cursor.
const BATCH: usize = 100;

/// How long a process waits before asking for the lease again after it could not.
pub const STANDBY_RETRY: Duration = Duration::from_secs(5);

/// How long the publisher waits for the bell before it looks again by itself.
const IDLE_LOOK: Duration = Duration::from_secs(5);

/// The longest pause between two attempts while NATS or the database fails.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// Why a round of publishing stopped.
#[derive(Debug, thiserror::Error)]
enum PublishFailure {
    /// NATS did not take or acknowledge a message, or the stream could not be set up.
    #[error("NATS: {0}")]
    Nats(String),
    /// The outbox or the cursor could not be read or written.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Publishes recorded lifecycle events to NATS JetStream.
pub struct NatsPublisher {
    storage: Storage,
    bell: EventBell,
    settings: NatsSettings,
}

impl NatsPublisher {
    /// A publisher of `storage`'s outbox, woken by `bell`, to where `settings` say.
    pub fn new(storage: Storage, bell: EventBell, settings: NatsSettings) -> Self {
        Self {
            storage,
            bell,
            settings,
        }
    }

    /// Publishes for as long as it runs: connects (retrying in the background while
    /// NATS is unreachable), waits for the lease, and publishes while it holds it.
    pub async fn run(self) {
        telemetry::nats_publisher_started();
        let connected = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(self.settings.url.expose_secret())
            .await;
        let client = match connected {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(error = %error, "cannot publish events to NATS");
                return;
            }
        };
        let jetstream = jetstream::new(client);
        let mut failures: u32 = 0;
        loop {
            let mut lease = self.lease().await;
            match self.publish_while_leading(&jetstream, &mut lease).await {
                Ok(()) => {
                    failures = 0;
                    tracing::warn!("the NATS publisher lost its database lease; standing by");
                }
                Err(error) => {
                    drop(lease);
                    failures = failures.saturating_add(1);
                    telemetry::nats_failed();
                    let pause = pause_after(failures);
                    tracing::warn!(
                        error = %error,
                        retry_in_ms = pause.as_millis() as u64,
                        "publishing events to NATS failed"
                    );
                    self.pause(pause).await;
                }
            }
        }
    }

    /// Waits `pause` after a failure, keeping `supahook_events_nats_behind_seconds`
    /// current meanwhile: the events keep waiting while NATS is down.
    async fn pause(&self, pause: Duration) {
        let until = tokio::time::Instant::now() + pause;
        loop {
            let cursor = self.storage.publisher_cursor(&self.settings.stream).await;
            if let Ok(cursor) = cursor
                && let Ok(oldest) = self.storage.list_events(cursor, 1).await
            {
                set_behind(oldest.first());
            }
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(IDLE_LOOK)).await;
        }
    }

    /// The lease, once no other process holds it.
    async fn lease(&self) -> PublisherLease {
        // Until it leads, this process is behind nothing: another one publishes.
        set_behind(None);
        loop {
            match self.storage.lead_publisher().await {
                Ok(Some(lease)) => return lease,
                Ok(None) => tracing::debug!("another process publishes events to NATS"),
                Err(error) => tracing::debug!(error = %error, "cannot ask for the NATS lease"),
            }
            tokio::time::sleep(STANDBY_RETRY).await;
        }
    }

    /// Publishes batch after batch while `lease` holds; `Ok` when it no longer does.
    async fn publish_while_leading(
        &self,
        jetstream: &jetstream::Context,
        lease: &mut PublisherLease,
    ) -> Result<(), PublishFailure> {
        self.ensure_stream(jetstream).await?;
        let stream = &self.settings.stream;
        let mut cursor = self.storage.publisher_cursor(stream).await?;
        tracing::info!(stream, after = cursor, "publishing events to NATS");
        loop {
            // Listening before reading: a commit between the read and the wait still wakes.
            let mut bell = self.bell.listen();
            if !lease.still_held().await {
                return Ok(());
            }
            let events = self.storage.list_events(cursor, BATCH).await?;
            set_behind(events.first());
            if events.is_empty() {
                let _ = tokio::time::timeout(IDLE_LOOK, bell.changed()).await;
                continue;
            }
            let (acknowledged, published) = self.publish(jetstream, &events).await;
            if let Some(done) = acknowledged.checked_sub(1).map(|n| &events[n]) {
                self.storage
                    .advance_publisher_cursor(stream, done.position)
                    .await?;
                telemetry::nats_published(acknowledged);
                cursor = done.position;
            }
            published?;
        }
    }

    /// Creates the stream, capturing `<prefix>.>`, when it does not exist; an existing
    /// one is used as it is.
    async fn ensure_stream(&self, jetstream: &jetstream::Context) -> Result<(), PublishFailure> {
        let config = jetstream::stream::Config {
            name: self.settings.stream.clone(),
            subjects: vec![format!("{}.>", self.settings.subject_prefix)],
            ..Default::default()
        };
        jetstream
            .get_or_create_stream(config)
            .await
            .map_err(|e| PublishFailure::Nats(format!("stream {}: {e}", self.settings.stream)))?;
        Ok(())
    }

    /// Publishes the batch one event at a time, each sent once JetStream acknowledged
    /// the one before: a message lost with a broken connection is never overtaken by a
    /// later one, so the stream keeps the outbox's order. Returns how many were
    /// acknowledged, and the failure that stopped the rest.
    async fn publish(
        &self,
        jetstream: &jetstream::Context,
        events: &[RecordedEvent],
    ) -> (usize, Result<(), PublishFailure>) {
        for (done, event) in events.iter().enumerate() {
            if let Err(failure) = self.publish_one(jetstream, event).await {
                return (done, Err(failure));
            }
        }
        (events.len(), Ok(()))
    }

    /// Publishes `event` to `<prefix>.<type>` and waits for JetStream's acknowledgement.
    async fn publish_one(
        &self,
        jetstream: &jetstream::Context,
        event: &RecordedEvent,
    ) -> Result<(), PublishFailure> {
        let nats = |e: &dyn std::fmt::Display| PublishFailure::Nats(e.to_string());
        let subject = format!("{}.{}", self.settings.subject_prefix, event.kind);
        let body = serde_json::to_vec(&event.payload()).map_err(|e| nats(&e))?;
        let message = PublishMessage::build()
            .payload(body.into())
            .message_id(event.id.to_string());
        let ack = jetstream
            .send_publish(subject, message)
            .await
            .map_err(|e| nats(&e))?;
        ack.await.map_err(|e| nats(&e))?;
        Ok(())
    }
}

/// Sets `supahook_events_nats_behind_seconds` to the age of `oldest`, the oldest event
/// not yet published; 0 when there is none.
fn set_behind(oldest: Option<&RecordedEvent>) {
    let behind = oldest.map_or(0.0, |e| {
        (Utc::now() - e.recorded_at).num_milliseconds().max(0) as f64 / 1000.0
    });
    telemetry::nats_behind(behind);
}

/// The pause after `failures` failures in a row: 1 s, doubling, at most [`MAX_PAUSE`].
fn pause_after(failures: u32) -> Duration {
    let doubled = Duration::from_secs(1).saturating_mul(1 << failures.saturating_sub(1).min(6));
    doubled.min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_from_a_second_up_to_its_cap() {
        let pauses: Vec<u64> = (1..=8).map(|n| pause_after(n).as_secs()).collect();

        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
