//! `supahook migrate`: apply pending migrations and exit.

use std::path::Path;

pub async fn run(config: Option<&Path>) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let storage = super::open_storage(&settings)?;
    storage.migrate().await?;
    tracing::info!("migrations are up to date");
    Ok(())
}
