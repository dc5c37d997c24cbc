//! The work that runs beside the requests, all started here.

use crate::config::Settings;
use crate::mirroring::Mirroring;
use crate::storage::{Backend, Queries, Storage, StorageError};
use std::time::Duration;
use tokio::task::JoinSet;

/// Starts every background task of a serving app: the spool's drainer (in `open`
/// mode), the database check readiness reads, the listener for other replicas'
/// changes, the flushing of skipped tokens, the writers, the metrics' upkeep, the
/// ledger's pruning and the removal of provisional users nothing confirmed. They run until the returned set is dropped.
pub(super) fn start(mirroring: &Mirroring, storage: &Storage, settings: &Settings) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    if let Some(drainer) = mirroring.spool_drainer() {
        tasks.spawn(drainer);
    }
    tasks.spawn(mirroring.database_check());
    if let Some(listener) = storage.watch_changes(mirroring.change_listener()) {
        tasks.spawn(listener);
    }
    tasks.spawn(mirroring.skipped_token_flusher());
    mirroring.start_writers();
    tasks.spawn(crate::telemetry::upkeep());
    tasks.spawn(forget_unconfirmed(
        mirroring.clone(),
        settings.provisional_grace,
    ));
    if settings.ledger_retention_days > 0 {
        let days = settings.ledger_retention_days;
        tasks.spawn(forget_old_deliveries(storage.clone(), days));
    }
    tasks
}

/// Once an hour, removes ledger rows older than `days`: a delivery key only has to
/// outlive Supabase's retries (seconds) and deliberate replays.
async fn forget_old_deliveries(storage: Storage, days: u32) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        let before = chrono::Utc::now() - chrono::TimeDelta::days(i64::from(days));
        match storage.forget_deliveries(before).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, days, "old delivery records removed"),
            Err(error) => tracing::warn!(error = %error, "could not remove old delivery records"),
        }
    }
}

/// Every minute, or every half grace period when that is shorter, removes the
/// provisional users nothing confirmed within `grace`: sign-ups that failed after
/// before-user-created, whose users Supabase never kept.
async fn forget_unconfirmed(mirroring: Mirroring, grace: Duration) {
    let every = (grace / 2).clamp(Duration::from_millis(100), Duration::from_secs(60));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match mirroring.forget_unconfirmed(grace).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(
                removed,
                grace_seconds = grace.as_secs(),
                "provisional users that nothing confirmed within the grace period removed"
            ),
            Err(StorageError::Unavailable(reason)) => {
                tracing::debug!(
                    reason,
                    "provisional users not looked at: database unavailable"
                )
            }
            Err(error) => {
                tracing::warn!(error = %error, "could not remove unconfirmed provisional users")
            }
        }
    }
}
