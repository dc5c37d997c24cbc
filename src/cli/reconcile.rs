//! `supahook reconcile`: repair the mirror from the Supabase database's `auth.users`.

pub mod auth_users;
mod progress;
mod prune;
pub mod repair;

use crate::config::SecretString;
use crate::mirroring::Mirroring;
use anyhow::Context;
use auth_users::{AuthUsersSource, SourceError};
use chrono::{DateTime, Utc};
use progress::Progress;
use repair::{Options, Since, Summary};
use secrecy::ExposeSecret;
use std::path::Path;
use std::time::Instant;

/// Options of `supahook reconcile`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// PostgreSQL URL of the Supabase database (the one holding auth.users);
    /// default: SUPAHOOK_SOURCE_DATABASE_URL.
    #[arg(long, value_name = "URL")]
    source_url: Option<String>,
    /// Report what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Treat mirror users that no longer exist in auth.users as deleted there
    /// (marked deleted, or removed with SUPAHOOK_ON_DELETE=hard); provisional users
    /// that auth.users never had are removed.
    #[arg(long)]
    prune: bool,
    /// With --prune: leave alone mirror users mirrored less than this many minutes ago
    /// (they may still be signing up).
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    prune_grace: u64,
    /// Pages of 1,000 users applied at once, each in transactions of its own.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Read only the auth.users rows changed at or after this time (RFC 3339, e.g.
    /// 2026-12-01T00:00:00Z): updated_at, or the signed trigger's time of change.
    /// Deletes are still found, by comparing the two sets of ids.
    #[arg(long, value_name = "TIME", value_parser = rfc3339, conflicts_with = "incremental")]
    changed_since: Option<DateTime<Utc>>,
    /// Read only the rows changed since the last complete run against this source
    /// database (remembered in the mirror database), less 10 minutes; every row
    /// when there was none.
    #[arg(long)]
    incremental: bool,
}

fn rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|e| format!("{e}: give an RFC 3339 time such as 2026-12-01T00:00:00Z"))
}

pub async fn run(config: Option<&Path>, args: Args) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let storage = super::open_storage(&settings)?;
    crate::app::database::migrate(&storage).await?;
    let (source_url, setting) = match args.source_url {
        Some(url) => (SecretString::from(url), "--source-url"),
        None => (
            settings.source_database_url.clone().context(
                "no source database: pass --source-url or set SUPAHOOK_SOURCE_DATABASE_URL",
            )?,
            "SUPAHOOK_SOURCE_DATABASE_URL",
        ),
    };
    let mut source = match AuthUsersSource::connect(source_url.expose_secret()).await {
        Ok(source) => source,
        Err(SourceError::Refused(reason)) => {
            return Err(super::refused(setting, "the source database", &reason));
        }
        Err(error) => return Err(error.into()),
    };
    let options = Options {
        dry_run: args.dry_run,
        prune: args.prune,
        prune_grace: std::time::Duration::from_secs(args.prune_grace * 60),
        concurrency: usize::from(args.concurrency),
        since: match (args.changed_since, args.incremental) {
            (Some(time), _) => Since::Time(time),
            (None, true) => Since::LastRun,
            (None, false) => Since::Everything,
        },
    };
    let mirroring = Mirroring::new(storage)
        .with_delete_mode(settings.on_delete)
        .with_policy(settings.sign_up_policy());
    let progress = Progress::new();
    let started = Instant::now();
    let summary = repair::run(&mut source, &mirroring, options, |done, total| {
        progress.set(done, total)
    })
    .await;
    progress.finish();
    print!(
        "{}",
        report(&summary?, options, started.elapsed().as_secs_f64())
    );
    Ok(())
}

fn report(s: &Summary, options: Options, seconds: f64) -> String {
    let pruned = match (options.prune, options.dry_run) {
        (false, _) => "not pruned (use --prune)".to_owned(),
        (true, true) => format!("{} would be marked deleted", s.pruned),
        (true, false) => format!("{} marked deleted", s.pruned),
    };
    format!(
        "reconciled {read} users{which} from auth.users in {seconds:.1} s{dry}\n\
         \x20 created           {created}\n\
         \x20 updated           {updated}\n\
         \x20 unchanged         {unchanged}\n\
         \x20 skipped stale     {stale}\n\
         \x20 skipped invalid   {skipped}\n\
         \x20 deleted upstream  {deleted} ({pruned})\n",
        read = s.read,
        which = match s.changed_since {
            Some(since) => format!(" changed since {}", since.to_rfc3339()),
            None => String::new(),
        },
        dry = if options.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
        created = s.created,
        updated = s.updated,
        unchanged = s.unchanged,
        stale = s.stale,
        skipped = s.skipped,
        deleted = s.deleted_upstream,
    )
}
