//! Command-line interface: one file per subcommand.

mod migrate;
mod openapi;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// supahook mirrors Supabase Auth users into your own database.
#[derive(Debug, Parser)]
#[command(name = "supahook", version, about)]
pub struct Cli {
    /// A TOML file of settings; environment variables take precedence over it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve the hooks, the read API and /docs.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI spec as YAML.
    Openapi(openapi::Args),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Some(Command::Openapi(args)) => openapi::run(args),
            Some(Command::Migrate) => migrate::run(self.config.as_deref()).await,
            Some(Command::Serve) | None => serve::run(self.config.as_deref()).await,
        }
    }
}

/// Loads settings and starts logging; the error names the bad setting.
fn load_settings(config: Option<&std::path::Path>) -> anyhow::Result<crate::config::Settings> {
    let settings = crate::config::Settings::load(config)?;
    crate::telemetry::init(settings.log_format, &settings.log_filter);
    Ok(settings)
}

fn open_storage(settings: &crate::config::Settings) -> anyhow::Result<crate::storage::Storage> {
    let url = settings.require_database_url()?;
    Ok(crate::storage::Storage::open(
        url.expose(),
        settings.db_pool_size,
    )?)
}
