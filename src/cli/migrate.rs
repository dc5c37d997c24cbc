//! `supahook migrate`: apply pending migrations and exit.

use std::path::Path;

pub async fn run(config: Option<&Path>) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let storage = super::open_storage(&settings)?;
    crate::app::database::migrate(&storage).await
}
