//! `supahook spool list | retry | discard`: the deliveries set aside in the spool, which
//! the database refused for a reason other than an outage and nothing re-drives by
//! itself. A retry puts a delivery back into the spool's queue, which `serve` drains
//! (exactly once, through the ledger); a discard removes it. The console's Health page
//! does the same through the same functions while `serve` runs.

use crate::spool::{SetAside, Spool};
use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use std::path::Path;

/// What to do with the set-aside deliveries.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

/// The spool's subcommands.
#[derive(Debug, Subcommand)]
enum Action {
    /// List the set-aside deliveries, oldest first.
    List,
    /// Put set-aside deliveries back into the queue; `serve` applies them exactly once.
    Retry(Which),
    /// Remove set-aside deliveries for good (`reconcile` repairs what they held).
    Discard(Which),
}

/// Which set-aside deliveries an action takes.
#[derive(Debug, ClapArgs)]
struct Which {
    /// Their numbers, as `spool list` shows them.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    seq: Vec<i64>,
    /// Every set-aside delivery.
    #[arg(long)]
    all: bool,
}

pub async fn run(config: Option<&Path>, args: Args) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let spool = open(&settings.data_dir)?;
    let entries = spool.set_aside_entries().await?;
    match args.action {
        Action::List => {
            print!("{}", listing(&entries));
            Ok(())
        }
        Action::Retry(which) => {
            let done = act(&spool, &entries, &which, Spool::retry_set_aside).await?;
            println!(
                "{done} put back into the queue; `supahook serve` applies them (the spool \
                 now holds {} waiting)",
                spool.depth()
            );
            Ok(())
        }
        Action::Discard(which) => {
            let done = act(&spool, &entries, &which, Spool::discard_set_aside).await?;
            println!("{done} discarded");
            Ok(())
        }
    }
}

/// Opens the spool of `dir`; a running `serve` holds it, so this fails while one does.
fn open(dir: &Path) -> anyhow::Result<Spool> {
    let file = dir.join(crate::spool::FILE_NAME);
    anyhow::ensure!(
        file.exists(),
        "there is no spool at {}: it is made by `supahook serve` in open mode \
         (check SUPAHOOK_DATA_DIR)",
        file.display()
    );
    let (spool, _) = Spool::open(dir).with_context(|| {
        "while `supahook serve` runs it holds the spool: stop it, or use the console's \
         Health page (/console/health), which retries and discards the same way"
    })?;
    Ok(spool)
}

/// Applies `action` to the chosen entries; an unknown number is an error and,
/// like every number after it, left alone.
async fn act<'s, F, Fut>(
    spool: &'s Spool,
    entries: &[SetAside],
    which: &Which,
    action: F,
) -> anyhow::Result<usize>
where
    F: Fn(&'s Spool, i64) -> Fut,
    Fut: std::future::Future<Output = Result<bool, crate::spool::SpoolError>>,
{
    let seqs: Vec<i64> = match which.all {
        true => entries.iter().map(|e| e.seq).collect(),
        false => which.seq.clone(),
    };
    let mut done = 0;
    for seq in seqs {
        anyhow::ensure!(
            action(spool, seq).await?,
            "no delivery is set aside at {seq} ({done} done before it); `supahook spool list` \
             shows those that are"
        );
        done += 1;
    }
    Ok(done)
}

/// The entries as a table, one line each; a line saying so when there are none.
fn listing(entries: &[SetAside]) -> String {
    if entries.is_empty() {
        return "no deliveries are set aside\n".into();
    }
    let mut text = String::from("seq\tset aside at\thook\tidempotency key\treason\n");
    for e in entries {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            e.seq,
            e.set_aside_at.format("%Y-%m-%dT%H:%M:%SZ"),
            e.hook,
            e.idempotency_key,
            e.reason.replace(['\n', '\t'], " ")
        ));
    }
    text
}
