//! The use-case as the settings configure it, with its spool in `open` mode.

use crate::config::{OnStoreFailure, Settings};
use crate::mirroring::Mirroring;
use crate::spool::Spool;
use crate::storage::{Database, Storage};
use anyhow::Context;

/// The use-case with the configured delete mode, budget and, in `open` mode, the
/// spool in the data directory (what a crash left there drains once serving starts,
/// if it was written for this database).
pub(super) fn from_settings(
    storage: Storage,
    settings: &Settings,
    database: &Database,
) -> anyhow::Result<Mirroring> {
    let mirroring = Mirroring::new(storage)
        .with_delete_mode(settings.on_delete)
        .with_policy(settings.sign_up_policy())
        .with_writers(settings.db_writers)
        .with_events(settings.events.types)
        .with_budget(settings.store_budget);
    if settings.on_store_failure == OnStoreFailure::Closed {
        return Ok(mirroring);
    }
    let foreign = crate::spool::claim(&settings.data_dir, &database.identity)
        .context("cannot claim the spool in the data directory (SUPAHOOK_DATA_DIR)")?;
    if let Some(foreign) = foreign {
        tracing::warn!(
            spool_database = %foreign.database,
            database = %database.identity,
            kept = %foreign.kept.display(),
            "the spool in the data directory was written for another database than this \
             DATABASE_URL names: it is not drained into this one. It is kept where `kept` \
             says, its database named beside it (.database); to apply it, serve that \
             database with the file as spool.sqlite and its .database as spool.database"
        );
    }
    let (spool, recovery) = Spool::open(&settings.data_dir)
        .context("cannot open the spool in the data directory (SUPAHOOK_DATA_DIR)")?;
    if recovery.torn_bytes > 0 {
        tracing::warn!(
            torn_bytes = recovery.torn_bytes,
            "the spool's last write was cut short on disk by a crash: that write was never \
             acknowledged and is discarded; every earlier delivery is kept"
        );
    }
    if recovery.waiting > 0 {
        tracing::info!(
            waiting = recovery.waiting,
            "deliveries spooled before the restart will be applied as the database answers"
        );
    }
    Ok(mirroring.with_spool(spool.with_max_bytes(settings.spool_max_bytes)))
}
