//! Signed webhooks: each recorded lifecycle event posted to every configured endpoint
//! (`SUPAHOOK_EVENTS_ENDPOINTS`) that takes its type, at least once and in order per
//! user, signed per Standard Webhooks with supahook's own secrets.
//!
//! The worker wakes at every commit that records events (the event bell, which on
//! PostgreSQL also hears other replicas' commits) and at a short tick for retries.
//! For each enabled endpoint it first sends the events recorded after the endpoint's
//! cursor, a batch at a time under a lease on the endpoint (one replica per endpoint
//! at once): one chain per user side by side ([`batch`]), then records every attempt
//! in one multi-row insert, leaves only what was not delivered to the retry queue, and
//! moves the cursor past the batch, in one transaction. Then it claims the due retries
//! (each user's earliest pending one only, so one user's events never overtake each
//! other; on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so that replicas share the work
//! without sending an event twice), posts them side by side, and records every attempt
//! with what it decided ([`schedule`]). Leases and claims run out: a batch or an
//! attempt cut short by a crash is sent again.

mod batch;
mod message;
mod new_events;
pub mod schedule;

use crate::config::{PushEndpoint, PushSettings};
use crate::signature::SigningKey;
use crate::storage::RecordedEvent;
use crate::storage::StorageError;
use crate::storage::{EventBell, PushAttempt, PushQueries, PushStep, Storage};
use chrono::{DateTime, TimeDelta, Utc};
use schedule::{Answer, RetryPolicy};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// New events taken per endpoint in one batch.
const NEW_BATCH: usize = 500;

/// Deliveries claimed, and posts made side by side, per endpoint in one step.
const CLAIM_BATCH: usize = 64;

/// How long a claim outlives the attempt's own timeout.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// The most of an endpoint's answer read (and dropped), so that its connection can
/// be used again.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How often recording an attempt is tried again while the database is out of reach.
const RECORD_TRIES: u32 = 10;

/// How often the endpoints' state is read for the metrics.
const GAUGES_EVERY: Duration = Duration::from_secs(10);

/// Posts recorded events to the configured endpoints.
pub struct Pusher {
    storage: Storage,
    endpoints: Vec<PushEndpoint>,
    secrets: Vec<SigningKey>,
    policy: RetryPolicy,
    timeout: Duration,
    client: reqwest::Client,
}

impl Pusher {
    /// The pusher of `settings`; `None` when no endpoint is configured.
    pub fn new(settings: &PushSettings, storage: Storage) -> Result<Option<Self>, String> {
        if settings.endpoints.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            storage,
            endpoints: settings.endpoints.clone(),
            secrets: settings.secrets.clone(),
            policy: RetryPolicy {
                first_backoff: settings.first_backoff,
                retry_window: settings.retry_window,
            },
            timeout: settings.attempt_timeout,
            client: crate::infra::urls::client(settings.attempt_timeout)?,
        }))
    }

    /// Runs until the process ends: registers the endpoints, then delivers whenever
    /// `bell` rings and at every tick.
    pub async fn run(self, bell: EventBell) {
        let urls: Vec<&str> = self.endpoints.iter().map(|e| e.url.as_str()).collect();
        let tick = self
            .policy
            .first_backoff
            .clamp(Duration::from_millis(50), Duration::from_secs(1));
        while let Err(error) = self
            .storage
            .register_push_endpoints(&urls, Utc::now())
            .await
        {
            tracing::warn!(error = %error, "cannot register the event endpoints; trying again");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let mut gauges_read = Instant::now() - GAUGES_EVERY;
        loop {
            // Listening before working: a commit during the pass still wakes the next.
            let mut rung = bell.listen();
            for endpoint in &self.endpoints {
                if let Err(error) = self.pass(endpoint).await {
                    tracing::warn!(endpoint = %label(&endpoint.url), error = %error,
                        "cannot deliver events now; trying again");
                }
            }
            if gauges_read.elapsed() >= GAUGES_EVERY {
                gauges_read = Instant::now();
                self.read_gauges().await;
            }
            let _ = tokio::time::timeout(tick, rung.changed()).await;
        }
    }

    /// Sends what was recorded for `endpoint` since its cursor, then the due retries.
    async fn pass(&self, endpoint: &PushEndpoint) -> Result<(), StorageError> {
        while self.deliver_new(endpoint).await? {}
        let url = endpoint.url.as_str();
        loop {
            let now = Utc::now();
            let lease = now + TimeDelta::from_std(self.timeout + LEASE_MARGIN).unwrap_or_default();
            let claims = self
                .storage
                .claim_push_deliveries(url, now, lease, CLAIM_BATCH)
                .await?;
            let attempts = claims.iter().map(|claim| {
                let event = claim.event.as_ref();
                self.attempt(
                    endpoint,
                    claim.position,
                    event,
                    claim.attempts,
                    claim.queued_at,
                )
            });
            let tried = futures_util::future::join_all(attempts).await;
            // One transaction records the whole batch: one commit, not one per event.
            let records: Vec<(PushAttempt<'_>, PushStep)> = tried
                .iter()
                .map(|t| (t.record(url), t.step.clone()))
                .collect();
            self.record(&records).await?;
            let disabled = tried.iter().any(|t| matches!(t.step, PushStep::Disable(_)));
            if claims.len() < CLAIM_BATCH || disabled {
                return Ok(());
            }
        }
    }

    /// Posts the event at `position` (`None` when the outbox no longer holds it), tried
    /// `attempts` times since `queued_at`: how the attempt went and what it decided.
    async fn attempt(
        &self,
        endpoint: &PushEndpoint,
        position: i64,
        event: Option<&RecordedEvent>,
        attempts: i32,
        queued_at: DateTime<Utc>,
    ) -> Tried {
        let attempted_at = Utc::now();
        let started = Instant::now();
        let (answer, error) = match event {
            Some(event) => self.post(endpoint, event, attempted_at.timestamp()).await,
            None => (Answer::None, Some("the event is no longer kept".to_owned())),
        };
        let latency_ms = started.elapsed().as_millis() as i64;
        let step = match event {
            Some(_) => self
                .policy
                .step(answer, attempts, queued_at, Utc::now(), jitter()),
            None => PushStep::Dead,
        };
        let status = match answer {
            Answer::Status { code, .. } => Some(code),
            Answer::None => None,
        };
        report(
            &endpoint.url,
            position,
            attempts + 1,
            status,
            error.as_deref(),
            &step,
        );
        Tried {
            position,
            event_id: event.map(|e| e.id),
            attempted_at,
            status,
            latency_ms,
            error,
            step,
        }
    }

    /// Records attempts, trying again while the database is briefly out of reach
    /// (the pool busy, say): an attempt left unrecorded is made again only when its
    /// claim runs out.
    async fn record(&self, attempts: &[(PushAttempt<'_>, PushStep)]) -> Result<(), StorageError> {
        persist(|| self.storage.record_push_attempts(attempts)).await
    }

    /// Posts `event`, signed at `timestamp`: the answer, and what went wrong if anything.
    async fn post(
        &self,
        endpoint: &PushEndpoint,
        event: &crate::storage::RecordedEvent,
        timestamp: i64,
    ) -> (Answer, Option<String>) {
        let message = message::sign(event, &self.secrets, timestamp);
        let sent = self
            .client
            .post(endpoint.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", message.id)
            .header("webhook-timestamp", message.timestamp.to_string())
            .header("webhook-signature", message.signature)
            .body(message.body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) if error.is_timeout() => {
                let error = format!("no answer within {} ms", self.timeout.as_millis());
                return (Answer::None, Some(error));
            }
            Err(error) => {
                let error = crate::infra::error_chain::describe(&error.without_url());
                return (Answer::None, Some(error));
            }
        };
        let code = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| schedule::retry_after(v, Utc::now()));
        let _ = crate::infra::urls::read_body(response, MAX_ANSWER_BYTES).await;
        let error = (!(200..300).contains(&code)).then(|| format!("answered HTTP {code}"));
        (Answer::Status { code, retry_after }, error)
    }

    /// Sets the gauges of what waits for each endpoint.
    async fn read_gauges(&self) {
        match self.storage.push_endpoint_states().await {
            Ok(states) => {
                for state in states {
                    if let Some(endpoint) =
                        self.endpoints.iter().find(|e| e.url.as_str() == state.url)
                    {
                        crate::telemetry::push_endpoint_state(&label(&endpoint.url), &state);
                    }
                }
            }
            Err(error) => tracing::debug!(error = %error, "cannot read the event endpoints' state"),
        }
    }
}

/// Runs `write`, again while the database is briefly out of reach (the pool busy,
/// say): what is left unrecorded is sent again only once its lease runs out.
async fn persist<F, W>(write: W) -> Result<(), StorageError>
where
    W: Fn() -> F,
    F: Future<Output = Result<(), StorageError>>,
{
    let mut tries = 0;
    loop {
        match write().await {
            Err(StorageError::Unavailable(_)) if tries < RECORD_TRIES => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100) * tries).await;
            }
            done => return done,
        }
    }
}

/// One attempt made, to record.
struct Tried {
    position: i64,
    event_id: Option<Uuid>,
    attempted_at: chrono::DateTime<Utc>,
    status: Option<u16>,
    latency_ms: i64,
    error: Option<String>,
    step: PushStep,
}

impl Tried {
    /// The attempt to `url` as storage records it.
    fn record<'a>(&'a self, url: &'a str) -> PushAttempt<'a> {
        PushAttempt {
            url,
            position: self.position,
            event_id: self.event_id,
            attempted_at: self.attempted_at,
            status: self.status,
            latency_ms: self.latency_ms,
            error: self.error.as_deref(),
        }
    }
}

/// Logs and counts what an attempt decided.
fn report(
    url: &reqwest::Url,
    position: i64,
    attempts: i32,
    status: Option<u16>,
    error: Option<&str>,
    step: &PushStep,
) {
    let endpoint = label(url);
    match step {
        PushStep::Delivered => {
            tracing::debug!(%endpoint, position, attempts, "event delivered");
        }
        PushStep::RetryAt(next) => tracing::info!(%endpoint, position, attempts, ?status, error,
            next_attempt_at = %next, "event not delivered; it will be tried again"),
        PushStep::Dead => tracing::warn!(%endpoint, position, attempts, ?status, error,
            "event dead-lettered: its retry window ran out (`supahook events redeliver` sends it again)"),
        PushStep::Disable(reason) => tracing::warn!(%endpoint, position, reason,
            "event endpoint disabled until supahook starts again with it configured"),
    }
    crate::telemetry::push_attempted(&endpoint, step);
}

/// An endpoint as logs and metrics name it: without its query, which may hold a token.
pub fn label(url: &reqwest::Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port().map(|p| format!(":{p}")).unwrap_or_default()
    ) + url.path()
}

/// A number in [0, 1) for the backoff's jitter.
fn jitter() -> f64 {
    f64::from(getrandom::u32().unwrap_or(0)) / (f64::from(u32::MAX) + 1.0)
}
