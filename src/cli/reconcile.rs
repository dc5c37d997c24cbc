//! `supahook reconcile`: repair the mirror from the Supabase database's `auth.users`.

pub mod auth_users;
pub mod repair;

use crate::config::SecretString;
use crate::mirroring::Mirroring;
use anyhow::Context;
use auth_users::{AuthUsersSource, SourceError};
use indicatif::{ProgressBar, ProgressStyle};
use repair::{Options, Summary};
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
    /// Users applied at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
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
    let total = source.count().await?;

    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} users  {per_sec}  eta {eta}")
            .expect("a valid template"),
    );
    let options = Options {
        dry_run: args.dry_run,
        prune: args.prune,
        prune_grace: std::time::Duration::from_secs(args.prune_grace * 60),
        concurrency: usize::from(args.concurrency),
    };
    let started = Instant::now();
    let summary = repair::run(
        &mut source,
        &Mirroring::new(storage)
            .with_delete_mode(settings.on_delete)
            .with_policy(settings.sign_up_policy()),
        options,
        |done| bar.set_position(done),
    )
    .await;
    bar.finish_and_clear();
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
        "reconciled {read} users from auth.users in {seconds:.1} s{dry}\n\
         \x20 created           {created}\n\
         \x20 updated           {updated}\n\
         \x20 unchanged         {unchanged}\n\
         \x20 skipped stale     {stale}\n\
         \x20 skipped invalid   {skipped}\n\
         \x20 deleted upstream  {deleted} ({pruned})\n",
        read = s.read,
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
