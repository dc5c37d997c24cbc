//! The database every command starts from: opened from `DATABASE_URL`, migrated, and
//! named plainly when it refuses supahook.

use crate::config::{OnStoreFailure, Settings};
use crate::storage::{Backend, Storage, StorageError};
use secrecy::ExposeSecret;

/// Opens the storage `DATABASE_URL` names and logs which one it is (never a password).
pub fn open_storage(settings: &Settings) -> anyhow::Result<Storage> {
    let url = settings.database_url();
    let storage = Storage::open_in(
        url.expose_secret(),
        settings.db_pool_size,
        &settings.db_schema,
    )?;
    let database = storage.about();
    tracing::info!(
        backend = database.backend,
        database = %database.shown,
        "using this database (DATABASE_URL)"
    );
    Ok(storage)
}

/// Applies pending migrations and logs what was applied. A database that refuses
/// supahook for good is reported as such, naming `DATABASE_URL`.
pub async fn migrate(storage: &Storage) -> anyhow::Result<()> {
    let applied = storage
        .migrate()
        .await
        .map_err(|error| refused_or(storage, error.into()))?;
    match applied.as_slice() {
        [] => tracing::info!("the database schema is up to date; no migration to apply"),
        versions => tracing::info!(
            count = versions.len(),
            versions = %versions.join(", "),
            "applied migrations; the database schema is up to date"
        ),
    }
    Ok(())
}

/// Migrates before serving: `true` once applied, `false` when, in `open` mode, the
/// database cannot be reached and the migrations wait for it.
pub(super) async fn migrate_to_serve(
    storage: &Storage,
    settings: &Settings,
) -> anyhow::Result<bool> {
    match migrate(storage).await {
        Ok(()) => Ok(true),
        // In open mode an outage must not keep a restarted replica from answering.
        // A database that refuses supahook (a wrong password, an unknown database, a
        // failed certificate check) stopped the start in `migrate`: only what can pass
        // is served degraded.
        Err(error) if settings.on_store_failure == OnStoreFailure::Open && unavailable(&error) => {
            tracing::warn!(
                error = %error,
                "the database is unreachable, so migrations wait: hooks are answered and \
                 spooled meanwhile, and the spool drains once the migrations are applied"
            );
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// Whether `error` says the database could not be reached.
fn unavailable(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<StorageError>(),
        Some(StorageError::Unavailable(_))
    )
}

/// The message for a database that refuses supahook for a reason that will not pass
/// by itself: the command stops rather than serve (or retry) against it.
pub fn refused(setting: &str, database: &str, reason: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{setting}: {database} refuses supahook: {reason}. This will not pass by itself, \
         so supahook stops: correct {setting} (or the database's roles, pg_hba.conf or \
         certificates)"
    )
}

/// `error`, or the refusal behind it when the database refused the last connection
/// for a reason that will not pass by itself.
fn refused_or(storage: &Storage, error: anyhow::Error) -> anyhow::Error {
    match storage.refusal() {
        Some(refusal) => refused("DATABASE_URL", "the database", &refusal.to_string()),
        None => error,
    }
}
