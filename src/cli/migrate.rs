//! `supahook migrate`: apply pending migrations and exit.

use crate::storage::{Backend, Storage};
use std::path::Path;

pub async fn run(config: Option<&Path>) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let storage = super::open_storage(&settings)?;
    apply(&storage).await
}

/// Applies pending migrations and logs what was applied. A database that refuses
/// supahook for good is reported as such, naming `DATABASE_URL`.
pub(super) async fn apply(storage: &Storage) -> anyhow::Result<()> {
    let applied = storage
        .migrate()
        .await
        .map_err(|error| super::refused_or(storage, error.into()))?;
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
