//! `supahook doctor`: checks the Supabase side and the path to supahook end to end,
//! one line per check (ok, or the problem and how to fix it); exits 0 only when no
//! check finds a problem. A check whose input is not given is skipped, and says which
//! option runs it.

mod mirror;
mod probe;
mod report;
mod supabase_config;
mod supabase_db;

use crate::config::{SecretString, Settings};
use crate::signature::SigningKey;
use report::Check;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of `supahook doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Supabase CLI project's config.toml (supabase/config.toml): its
    /// [auth.hook.custom_access_token] and [auth.hook.before_user_created] entries and
    /// their secrets. `env(NAME)` is read from the environment, else from the .env
    /// file beside it.
    #[arg(long, value_name = "PATH")]
    supabase_config: Option<PathBuf>,
    /// Base URL of the running supahook, as Supabase reaches it: a signed test event
    /// (an external-provider sign-up, which supahook verifies and skips, writing
    /// nothing) is sent to it with each secret found, and its spool depth is read.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// PostgreSQL URL of the Supabase database: supahook's trigger and its Vault
    /// secrets, and the other triggers on auth.users (tried with a sign-up that is
    /// rolled back); default: SUPAHOOK_SOURCE_DATABASE_URL.
    #[arg(long, value_name = "URL")]
    source_url: Option<String>,
    /// Seconds to wait for each answer from the running supahook.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

pub async fn run(config: Option<&Path>, args: Args) -> anyhow::Result<()> {
    let settings = Settings::load(config)?;
    let accepted = accepted_keys(&settings)?;
    let mut checks = Vec::new();
    // The secrets to send the test event with, by where they come from.
    let mut secrets = vec![("SUPAHOOK_HOOK_SECRETS".to_owned(), accepted.clone())];

    match &args.supabase_config {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => {
                let env = project_env(path);
                let found =
                    supabase_config::check(&text, &|name| env.get(name).cloned(), &accepted);
                checks.extend(found.checks);
                secrets.extend(found.secrets);
            }
            Err(error) => checks.push(Check::problem(
                "config.toml",
                format!("cannot read {}: {error}", path.display()),
                "pass the Supabase CLI project's supabase/config.toml",
            )),
        },
        None => checks.push(Check::skipped("config.toml", "pass --supabase-config PATH")),
    }

    let source_url = args
        .source_url
        .map(SecretString::from)
        .or_else(|| settings.source_database_url.clone());
    match source_url {
        Some(url) => {
            let found = supabase_db::check(url.expose_secret(), &accepted).await;
            checks.extend(found.checks);
            if let Some(keys) = found.secrets {
                secrets.push(("Vault supahook_webhook_secret".to_owned(), keys));
            }
        }
        None => checks.push(Check::skipped(
            "Supabase database",
            "pass --source-url (or set SUPAHOOK_SOURCE_DATABASE_URL)",
        )),
    }

    let client = probe::client(Duration::from_secs(args.timeout))?;
    match &args.url {
        Some(base) => {
            for (source, keys) in &secrets {
                checks.push(probe::check(&client, base, source, keys).await);
            }
        }
        None => checks.push(Check::skipped(
            "test event",
            "pass --url of the running supahook",
        )),
    }

    checks.extend(mirror::database(&settings).await);
    let service = args.url.as_deref().map(|base| (&client, base));
    checks.push(mirror::spool(&settings, service).await);

    for check in &checks {
        println!("{check}");
    }
    let failed = checks.iter().filter(|c| c.failed()).count();
    match failed {
        0 => Ok(()),
        n => anyhow::bail!("{n} of {} checks found a problem", checks.len()),
    }
}

/// The keys supahook accepts: SUPAHOOK_HOOK_SECRETS, else the one `serve` generated.
fn accepted_keys(settings: &Settings) -> anyhow::Result<Vec<SigningKey>> {
    if !settings.hook_secrets.is_empty() {
        return Ok(settings.hook_secrets.clone());
    }
    match crate::infra::local_secrets::hook_secret(&settings.data_dir, false)? {
        Some(local) => Ok(vec![local.value]),
        None => anyhow::bail!(
            "supahook has no hook secret to check against: set SUPAHOOK_HOOK_SECRETS as \
             supahook runs with it, or run doctor where `serve` generated one in {}",
            settings.data_dir.display()
        ),
    }
}

/// What `env(NAME)` in `config.toml` reads, as the Supabase CLI reads it: the
/// environment, over the `.env` file beside the file.
fn project_env(config_toml: &Path) -> HashMap<String, String> {
    let dot_env = config_toml.parent().unwrap_or(Path::new(".")).join(".env");
    let mut env: HashMap<String, String> = dotenvy::from_path_iter(dot_env)
        .map(|entries| entries.filter_map(Result::ok).collect())
        .unwrap_or_default();
    env.extend(crate::config::environment());
    env
}
