//! The work that runs beside the requests, all started here.

use crate::config::Settings;
use crate::mirroring::Mirroring;
use crate::storage::{Backend, ChangeNotice, Queries, Storage};
use crate::token_claims::TokenClaims;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// Starts every background task of a serving app: the spool's drainer (in `open`
/// mode), the database check readiness reads, the listeners for other replicas'
/// changes (told to the fast path and the token claims) and for changed token claims,
/// the flushing of skipped tokens, the writers, the metrics' upkeep and the ledger's
/// pruning. They run until the returned set is dropped.
pub(super) fn start(
    mirroring: &Mirroring,
    token_claims: &Arc<TokenClaims>,
    storage: &Storage,
    settings: &Settings,
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
    mirroring.start_writers();
    tasks.spawn(crate::telemetry::upkeep());
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
