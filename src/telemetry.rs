//! What supahook tells its operators: logs (pretty for terminals, JSON for log
//! pipelines) and Prometheus metrics.

mod prometheus;

pub use prometheus::{AnswerTimer, Gauges, render, upkeep};

use std::io::IsTerminal;
use std::str::FromStr;
use std::time::Duration;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::ParseError;
use uuid::Uuid;

/// How log lines are written (`SUPAHOOK_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for a log pipeline.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    /// `pretty` or `json`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            other => Err(format!("`{other}` is not `pretty` or `json`")),
        }
    }
}

/// Checks a `RUST_LOG` filter, so that a wrong one stops the start instead of
/// leaving the logs silent.
pub fn log_filter(text: &str) -> Result<String, ParseError> {
    EnvFilter::try_new(text).map(|_| text.to_owned())
}

/// Installs the global subscriber. `filter` uses `RUST_LOG` syntax and has been
/// validated with the other settings. Colours only when standard error is a
/// terminal, so a log file or pipe gets plain text.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// What became of one delivery, as logs and metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// It reached the mirror with this outcome (`created`, `unchanged`, ...).
    Applied(&'static str),
    /// It waits in the spool for the database.
    Spooled,
    /// Neither: the caller was answered with an error.
    Failed,
}

impl Delivered {
    /// The `outcome` label of `supahook_deliveries_total`.
    fn label(self) -> &'static str {
        match self {
            Self::Applied(outcome) => outcome,
            Self::Spooled => "spooled",
            Self::Failed => "failed",
        }
    }
}

/// Logs and counts what became of one delivery to `hook` about `user_id`.
pub fn delivery_handled(
    hook: &'static str,
    user_id: Option<Uuid>,
    delivered: Delivered,
    took: Duration,
) {
    // Formatted only when a log line is written.
    let user_id = user_id.map(tracing::field::display);
    let duration_ms = took.as_millis() as u64;
    match delivered {
        // At debug: during an outage this is every delivery. The breaker logs the
        // outage's start and end once each.
        Delivered::Spooled => tracing::debug!(hook, user_id, duration_ms, "delivery spooled"),
        Delivered::Applied(outcome) => {
            tracing::info!(hook, user_id, outcome, duration_ms, "delivery applied");
        }
        Delivered::Failed => tracing::debug!(hook, user_id, duration_ms, "delivery failed"),
    }
    prometheus::delivery(hook, delivered.label());
    if delivered != Delivered::Failed {
        prometheus::last_delivery(hook);
    }
}

/// Counts a database failure by `kind`: `unavailable`, `query`, `migration` or `config`.
pub fn database_error(kind: &'static str) {
    prometheus::database_error(kind);
}

/// Counts deliveries drained from the spool into the database.
pub fn spool_drained(count: usize) {
    prometheus::spool_drained(count);
}

/// Records one group-commit transaction: how many deliveries it held and how long it took.
pub fn write_batch(deliveries: usize, took: Duration) {
    prometheus::write_batch(deliveries, took);
}

/// Counts deliveries refused because the spool was full.
pub fn spool_full(count: usize) {
    prometheus::spool_full(count);
}

/// Counts a spooled delivery the database refused for good, set aside in the spool.
pub fn spool_set_aside() {
    prometheus::spool_set_aside();
}

/// Counts a connection attempt the database refused for a reason that will not pass
/// by itself (a wrong password, an unknown database, a failed certificate check).
pub fn database_refused() {
    prometheus::database_refused();
}

/// Counts a chained access-token hook or claims query (`source`: `chain`, `query`)
/// that failed, under the policy that decided the token (`closed`, `open`).
pub fn token_claims_failed(source: &'static str, policy: &'static str) {
    prometheus::token_claims_failed(source, policy);
}

/// Exports the NATS publisher's counters at 0: it has started.
pub fn nats_publisher_started() {
    prometheus::nats_published(0);
    prometheus::nats_failures(0);
}

/// Counts lifecycle events JetStream acknowledged.
pub fn nats_published(count: usize) {
    prometheus::nats_published(count);
}

/// Counts a round of publishing to NATS that failed.
pub fn nats_failed() {
    prometheus::nats_failures(1);
}

/// Sets how far, in seconds, the NATS publisher is behind the outbox.
pub fn nats_behind(seconds: f64) {
    prometheus::nats_behind(seconds);
}

/// Counts a token's claims found kept (`true`) or computed anew.
pub fn token_claims_cache(hit: bool) {
    prometheus::token_claims_cache(hit);
}

/// Logs and counts a user that reached the mirror through `hook` with an email the
/// sign-up policy refuses: it came by a path that never asks before-user-created.
/// The log names the user, never the email.
pub fn policy_violation(hook: &'static str, user_id: Uuid) {
    tracing::warn!(
        hook,
        user_id = %user_id,
        "a user has an email the sign-up policy refuses: Supabase created or changed it \
         without calling before-user-created (an admin, an email change); it is mirrored \
         and flagged policy_violation, not removed"
    );
    prometheus::policy_violation(hook);
}

/// Counts one attempt to push an event to `endpoint` by what it decided.
pub fn push_attempted(endpoint: &str, step: &crate::storage::PushStep) {
    prometheus::push_attempted(endpoint, step);
}

/// Sets the gauges of what waits for `endpoint`.
pub fn push_endpoint_state(endpoint: &str, state: &crate::storage::PushEndpointState) {
    prometheus::push_endpoint_state(endpoint, state);
}

/// Counts lifecycle events recorded in the outbox by this process.
pub fn events_recorded(count: usize) {
    prometheus::events_recorded(count);
}
