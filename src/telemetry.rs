//! What supahook tells its operators: logs (pretty for terminals, JSON for log
//! pipelines) and Prometheus metrics.

mod prometheus;

pub use prometheus::{AnswerTimer, Gauges, render, upkeep};

use crate::config::LogFormat;
use crate::events::Delivery;
use crate::storage::StorageError;
use crate::sync::Handled;
use std::io::IsTerminal;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

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

/// Logs and counts what became of one delivery.
pub fn delivery_handled(
    delivery: &Delivery,
    handled: Result<&Handled, &StorageError>,
    took: Duration,
) {
    let hook = delivery.hook.as_str();
    // Formatted only when a log line is written.
    let user_id = delivery.change.user_id().map(tracing::field::display);
    let duration_ms = took.as_millis() as u64;
    match handled {
        // At debug: during an outage this is every delivery. The breaker logs the
        // outage's start and end once each.
        Ok(Handled::Spooled) => tracing::debug!(hook, user_id, duration_ms, "delivery spooled"),
        Ok(Handled::Applied(outcome)) => {
            let outcome = outcome.as_str();
            tracing::info!(hook, user_id, outcome, duration_ms, "delivery applied");
        }
        Err(_) => tracing::debug!(hook, user_id, duration_ms, "delivery failed"),
    }
    let outcome = handled.map_or("failed", |handled| handled.as_str());
    prometheus::delivery(hook, outcome);
}

/// Counts a database failure by kind.
pub fn database_error(error: &StorageError) {
    prometheus::database_error(error);
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
