//! Prometheus metrics, served at `/metrics` in the text exposition format.
//!
//! Counters and the answer-time histogram are recorded as things happen; the gauges
//! (pool, spool, database) are read when Prometheus scrapes.

use metrics::{Counter, counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Answer-time buckets in seconds: Supabase waits 5 s for a hook, retries included.
const ANSWER_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 5.0,
];

/// Deliveries per write transaction: group commit at work; the cap is 64.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// The process-wide recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(ANSWER_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(BATCH_SIZE.into()), BATCH_BUCKETS))
            .map_or_else(
                |_| PrometheusBuilder::new().build_recorder(),
                |b| b.build_recorder(),
            );
        let handle = recorder.handle();
        // Another recorder may already be installed (an embedding application's);
        // then this one stays empty rather than taking over.
        let _ = metrics::set_global_recorder(recorder);
        export_counters_at_zero();
        handle
    })
}

/// The counters of rare events, exported at 0 from the start: Prometheus's
/// `increase()` can only see an increase from a value it has seen, so a counter that
/// first appeared at 1 would hide the first event from every alert on it.
fn export_counters_at_zero() {
    for name in [
        "supahook_spool_set_aside_total",
        "supahook_spool_full_total",
        "supahook_spool_drained_total",
        "supahook_database_refusals_total",
    ] {
        counter!(name).increment(0);
    }
    for kind in ["unavailable", "query", "migration", "config"] {
        counter!("supahook_database_errors_total", "kind" => kind).increment(0);
    }
}

/// How often recorded answer times are folded into the histograms between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The task that folds recorded answer times into the histograms every
/// [`UPKEEP_EVERY`]. Until that is done, each sample is kept on its own: a service
/// nobody scrapes would grow by 8 bytes for every hook request.
pub fn upkeep() -> impl Future<Output = ()> + Send + 'static {
    let handle = handle();
    async move {
        loop {
            tokio::time::sleep(UPKEEP_EVERY).await;
            handle.run_upkeep();
        }
    }
}

/// Readings taken at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Pooled connections running a query.
    pub pool_in_use: usize,
    /// Pooled connections open and idle.
    pub pool_idle: usize,
    /// Requests waiting for a pooled connection.
    pub pool_waiters: usize,
    /// `true` unless the last attempt to reach the database failed.
    pub database_up: bool,
    /// Deliveries waiting in the spool (`None` in `closed` mode).
    pub spool_depth: Option<u64>,
    /// Age in seconds of the oldest spooled delivery; 0 when the spool is empty.
    pub spool_oldest_age: f64,
}

/// The metrics in the Prometheus text format, with the gauges set to `gauges`.
pub fn render(gauges: Gauges) -> String {
    let handle = handle();
    gauge!("supahook_pool_connections", "state" => "in_use").set(gauges.pool_in_use as f64);
    gauge!("supahook_pool_connections", "state" => "idle").set(gauges.pool_idle as f64);
    gauge!("supahook_pool_waiters").set(gauges.pool_waiters as f64);
    gauge!("supahook_database_up").set(if gauges.database_up { 1.0 } else { 0.0 });
    if let Some(depth) = gauges.spool_depth {
        gauge!("supahook_spool_depth").set(depth as f64);
        gauge!("supahook_spool_oldest_age_seconds").set(gauges.spool_oldest_age);
    }
    handle.run_upkeep();
    handle.render()
}

pub(super) fn delivery(hook: &'static str, outcome: &'static str) {
    handle();
    counter!("supahook_deliveries_total", "hook" => hook, "outcome" => outcome).increment(1);
}

/// Sets `supahook_last_delivery_timestamp_seconds{source}` to now: a delivery from
/// `source` (the `hook` label of `supahook_deliveries_total`) was answered, applied or
/// spooled. An alert on its age finds a source that went silent.
pub(super) fn last_delivery(source: &'static str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    gauge!("supahook_last_delivery_timestamp_seconds", "source" => source).set(now);
}

pub(super) fn database_error(kind: &'static str) {
    counter!("supahook_database_errors_total", "kind" => kind).increment(1);
}

pub(super) fn spool_drained(count: usize) {
    counter!("supahook_spool_drained_total").increment(count as u64);
}

const BATCH_SIZE: &str = "supahook_write_batch_deliveries";

pub(super) fn write_batch(deliveries: usize, took: Duration) {
    histogram!(BATCH_SIZE).record(deliveries as f64);
    histogram!("supahook_write_batch_seconds").record(took.as_secs_f64());
}

pub(super) fn spool_full(count: usize) {
    counter!("supahook_spool_full_total").increment(count as u64);
}

pub(super) fn spool_set_aside() {
    counter!("supahook_spool_set_aside_total").increment(1);
}

/// The hook a path belongs to, for the answer-time histogram; other paths are not timed.
fn hook_of(path: &str) -> Option<&'static str> {
    Some(match path {
        "/hooks/custom-access-token" => "custom-access-token",
        "/hooks/before-user-created" => "before-user-created",
        "/hooks/after-user-created" => "after-user-created",
        "/hooks/auth-users" => "auth-users",
        "/api/auth/users/sync" => "users-sync",
        _ => return None,
    })
}

/// Records `supahook_answer_seconds` for every hook request, whatever its answer.
pub struct AnswerTimer;

impl<E: Endpoint> Middleware<E> for AnswerTimer {
    type Output = AnswerTimerEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        handle();
        AnswerTimerEndpoint(inner)
    }
}

/// The endpoint [`AnswerTimer`] wraps.
pub struct AnswerTimerEndpoint<E>(E);

impl<E: Endpoint> Endpoint for AnswerTimerEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Self::Output> {
        let hook = hook_of(req.uri().path());
        let started = Instant::now();
        let result = self.0.call(req).await.map(IntoResponse::into_response);
        if let Some(hook) = hook {
            histogram!("supahook_answer_seconds", "hook" => hook)
                .record(started.elapsed().as_secs_f64());
        }
        result
    }
}

pub(super) fn nats_published(count: usize) {
    counter!("supahook_events_nats_published_total").increment(count as u64);
}

pub(super) fn nats_failures(count: u64) {
    counter!("supahook_events_nats_failures_total").increment(count);
}

pub(super) fn nats_behind(seconds: f64) {
    gauge!("supahook_events_nats_behind_seconds").set(seconds);
}

pub(super) fn database_refused() {
    counter!("supahook_database_refusals_total").increment(1);
}

pub(super) fn token_claims_failed(source: &'static str, policy: &'static str) {
    counter!("supahook_token_claims_failures_total", "source" => source, "policy" => policy)
        .increment(1);
}

/// Counted on every token: the two counters are looked up once, not per token.
pub(super) fn token_claims_cache(hit: bool) {
    static COUNTERS: OnceLock<[Counter; 2]> = OnceLock::new();
    let [hits, misses] = COUNTERS.get_or_init(|| {
        handle();
        ["hit", "miss"]
            .map(|result| counter!("supahook_token_claims_cache_total", "result" => result))
    });
    match hit {
        true => hits.increment(1),
        false => misses.increment(1),
    }
}

pub(super) fn policy_violation(hook: &'static str) {
    counter!("supahook_policy_violations_total", "hook" => hook).increment(1);
}

pub(super) fn push_attempted(endpoint: &str, step: &crate::storage::PushStep) {
    use crate::storage::PushStep;
    handle();
    let endpoint = endpoint.to_owned();
    match step {
        PushStep::Delivered => {
            counter!("supahook_events_delivered_total", "endpoint" => endpoint).increment(1)
        }
        PushStep::Dead => {
            counter!("supahook_events_delivery_failures_total", "endpoint" => endpoint.clone())
                .increment(1);
            counter!("supahook_events_dead_lettered_total", "endpoint" => endpoint).increment(1)
        }
        PushStep::RetryAt(_) | PushStep::Disable(_) => {
            counter!("supahook_events_delivery_failures_total", "endpoint" => endpoint).increment(1)
        }
    }
}

/// The outstanding events of an endpoint, the age of the oldest (0 when none) and
/// whether it is disabled: the age is the alert that matters, since a stuck endpoint
/// or a stopped worker shows there first.
pub(super) fn push_endpoint_state(endpoint: &str, state: &crate::storage::PushEndpointState) {
    handle();
    let age = state.oldest_outstanding.map_or(0.0, |queued| {
        (chrono::Utc::now() - queued).num_milliseconds().max(0) as f64 / 1000.0
    });
    let label = endpoint.to_owned();
    gauge!("supahook_events_outstanding", "endpoint" => label.clone())
        .set(state.outstanding as f64);
    gauge!("supahook_events_oldest_undelivered_age_seconds", "endpoint" => label.clone()).set(age);
    let disabled = if state.disabled.is_some() { 1.0 } else { 0.0 };
    gauge!("supahook_events_endpoint_disabled", "endpoint" => label).set(disabled);
}

pub(super) fn events_recorded(count: usize) {
    counter!("supahook_events_recorded_total").increment(count as u64);
}
