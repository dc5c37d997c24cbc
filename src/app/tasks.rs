//! The work that runs beside the requests, all started here.

use crate::config::Settings;
use crate::events_out::webhooks::Pusher;
use crate::mirroring::Mirroring;
use crate::storage::StorageError;
use crate::storage::{Backend, ChangeNotice, OutboxQueries, PushQueries, Queries, Storage};
use crate::token_claims::TokenClaims;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// Starts every background task of a serving app: the spool's drainer (in `open`
/// mode), the database check readiness reads, the listeners for other replicas'
/// changes (told to the fast path and the token claims) and for changed token claims,
/// the flushing of skipped tokens, the pushing of events to their endpoints, the
/// writers, the metrics' upkeep, the pruning of the ledger and of the lifecycle events,
/// their publishing to NATS when set, and the removal of provisional users nothing
/// confirmed. They run until the returned set is dropped.
pub(super) fn start(
    mirroring: &Mirroring,
    token_claims: &Arc<TokenClaims>,
    storage: &Storage,
    settings: &Settings,
    pusher: Option<Pusher>,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    if let Some(drainer) = mirroring.spool_drainer() {
        tasks.spawn(drainer);
    }
    tasks.spawn(mirroring.database_check());
    let (fast_path, claims) = (mirroring.change_listener(), token_claims.listener());
    let both = claims.clone();
    let changes = move |notice: ChangeNotice| {
        both(notice);
        fast_path(notice);
    };
    if let Some(listener) = storage.watch_changes(Arc::new(changes)) {
        tasks.spawn(listener);
    }
    if let Some(listener) = storage.watch_claims(claims) {
        tasks.spawn(listener);
    }
    tasks.spawn(mirroring.skipped_token_flusher());
    if let Some(pusher) = pusher {
        tasks.spawn(pusher.run(mirroring.event_bell()));
    }
    mirroring.start_writers();
    tasks.spawn(crate::telemetry::upkeep());
    tasks.spawn(forget_unconfirmed(
        mirroring.clone(),
        settings.provisional_grace,
    ));
    if settings.ledger_retention_days > 0 {
        // A delivery key only has to outlive Supabase's retries (seconds) and deliberate replays.
        let storage = storage.clone();
        tasks.spawn(prune_hourly(
            settings.ledger_retention_days,
            "delivery records",
            move |before| {
                let storage = storage.clone();
                async move { storage.forget_deliveries(before).await }
            },
        ));
    }
    if let Some(nats) = &settings.events_nats {
        let publisher = crate::events_out::nats::NatsPublisher::new(
            storage.clone(),
            mirroring.event_bell(),
            nats.clone(),
        );
        tasks.spawn(publisher.run());
    }
    if settings.events.retention_days > 0 {
        // Each user's last event is kept, to carry its sequence on.
        let storage = storage.clone();
        tasks.spawn(prune_hourly(
            settings.events.retention_days,
            "lifecycle events",
            move |before| {
                let storage = storage.clone();
                async move {
                    let history = storage.forget_push_history(before).await?;
                    Ok(history + storage.forget_events(before).await?)
                }
            },
        ));
    }
    tasks
}

/// Once an hour, removes the rows (`what`) older than `days` with `forget`, which is
/// given the cutoff time and returns how many it removed.
async fn prune_hourly<F, Fut>(days: u32, what: &'static str, forget: F)
where
    F: Fn(DateTime<Utc>) -> Fut,
    Fut: Future<Output = Result<usize, StorageError>>,
{
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        let before = Utc::now() - chrono::TimeDelta::days(i64::from(days));
        match forget(before).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, days, "old {what} removed"),
            Err(error) => tracing::warn!(error = %error, "could not remove old {what}"),
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
