//! Command-line interface: one file per subcommand.

mod doctor;
mod events;
mod healthcheck;
mod migrate;
mod openapi;
pub mod reconcile;
mod replay;
mod serve;
mod sign;
mod spool;

use crate::app::database::{open_storage, refused};
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

/// What `serve --help` says of the settings: the ones a first run sets, and where
/// the rest are.
const SERVE_SETTINGS: &str = "\
Settings come from the environment, or from the --config TOML file (the same names in
lower case, without SUPAHOOK_); the environment wins. The ones most often set, with
their defaults:
  DATABASE_URL                sqlite://$SUPAHOOK_DATA_DIR/supahook.db
                              (postgres://user:password@host:5432/db in production)
  SUPAHOOK_DB_SCHEMA          public (PostgreSQL: the schema of supahook's tables)
  SUPAHOOK_LISTEN_ADDR        127.0.0.1:8080
  SUPAHOOK_DATA_DIR           ./data
  SUPAHOOK_HOOK_SECRETS       generated in $SUPAHOOK_DATA_DIR/hook-secret
                              (Supabase's v1,whsec_... secrets, |-separated)
  SUPAHOOK_ADMIN_TOKEN        generated in $SUPAHOOK_DATA_DIR/admin-token
  SUPAHOOK_ADMIN_LISTEN_ADDR  unset (the admin API, /metrics and /docs on the listen address)
  RUST_LOG                    info
Every setting, with its default and meaning: the README's \"Settings\" section.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve the hooks, the read API and /docs.
    #[command(after_help = SERVE_SETTINGS)]
    Serve,
    /// Apply pending database migrations and exit; or revert applied ones with
    /// --down N or --to VERSION.
    Migrate(migrate::Args),
    /// Print the OpenAPI spec as YAML.
    Openapi(openapi::Args),
    /// Bring the mirror in line with auth.users in the Supabase database.
    Reconcile(reconcile::Args),
    /// Sign and send JSONL events to a running supahook (replay, smoke and load tests).
    Replay(replay::Args),
    /// Print the Standard Webhooks headers for one body, for curl.
    Sign(sign::Args),
    /// List, retry or discard the deliveries set aside in the spool (with `serve` stopped).
    Spool(spool::Args),
    /// Exit 0 when the local supahook answers ready, 1 otherwise (container health checks).
    Healthcheck(healthcheck::Args),
    /// Check the Supabase side and the path to supahook end to end, one line per check.
    Doctor(doctor::Args),
    /// Send recorded lifecycle events again to the webhook endpoints.
    Events(events::Args),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Some(Command::Openapi(args)) => openapi::run(args),
            Some(Command::Replay(args)) => replay::run(self.config.as_deref(), args).await,
            Some(Command::Sign(args)) => sign::run(self.config.as_deref(), args),
            Some(Command::Reconcile(args)) => reconcile::run(self.config.as_deref(), args).await,
            Some(Command::Healthcheck(args)) => {
                healthcheck::run(self.config.as_deref(), args).await
            }
            Some(Command::Doctor(args)) => doctor::run(self.config.as_deref(), args).await,
            Some(Command::Migrate(args)) => migrate::run(self.config.as_deref(), args).await,
            Some(Command::Spool(args)) => spool::run(self.config.as_deref(), args).await,
            Some(Command::Events(args)) => events::run(self.config.as_deref(), args).await,
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

/// The key to sign with: `--secret`, else the first configured secret, else the
/// one `serve` generated in the data directory.
fn signing_key(
    settings: &crate::config::Settings,
    explicit: Option<&str>,
) -> anyhow::Result<crate::signature::SigningKey> {
    use anyhow::Context;
    if let Some(secret) = explicit {
        return crate::signature::SigningKey::parse(secret).context("--secret");
    }
    if let Some(key) = settings.hook_secrets.first() {
        return Ok(key.clone());
    }
    match crate::infra::local_secrets::hook_secret(&settings.data_dir, false)? {
        Some(local) => Ok(local.value),
        None => anyhow::bail!(
            "no secret to sign with: pass --secret, set SUPAHOOK_HOOK_SECRETS, \
             or start `supahook serve` once to generate one in {}",
            settings.data_dir.display()
        ),
    }
}

/// The contents of FILE, or of standard input for `-`.
fn read_input(file: &str) -> anyhow::Result<String> {
    use anyhow::Context;
    use std::io::Read;
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))
}
