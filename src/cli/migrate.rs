//! `supahook migrate`: apply pending migrations, or revert applied ones with their
//! shipped `down.sql` (`--down N`, `--to VERSION`), and exit.

use crate::storage::{Backend as _, RevertPlan, Reverted};
use std::path::Path;

/// Options of `supahook migrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Revert the last N applied migrations, newest first, with their down.sql,
    /// instead of applying pending ones.
    #[arg(long, value_name = "N", conflicts_with = "to",
          value_parser = clap::value_parser!(u32).range(1..))]
    down: Option<u32>,
    /// Revert every applied migration newer than VERSION, which stays applied
    /// (`2026-11-21-000001`, or the migration's directory name); 0 reverts them all.
    #[arg(long, value_name = "VERSION")]
    to: Option<String>,
    /// Let a revert drop tables or columns that hold data. Without it, such a revert
    /// changes nothing and lists what it would drop.
    #[arg(long)]
    yes_drop_data: bool,
}

pub async fn run(config: Option<&Path>, args: Args) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let storage = super::open_storage(&settings)?;
    let plan = match (args.down, args.to) {
        (Some(count), _) => RevertPlan::Last(count as usize),
        (None, Some(version)) => RevertPlan::To(version),
        (None, None) if args.yes_drop_data => {
            anyhow::bail!("--yes-drop-data only goes with --down N or --to VERSION")
        }
        (None, None) => return crate::app::database::migrate(&storage).await,
    };
    let reverted = storage.revert(&plan, args.yes_drop_data).await?;
    print!("{}", report(&reverted));
    match reverted.applied {
        true => Ok(()),
        false => anyhow::bail!(
            "nothing was reverted: the revert would drop data (above). Back the mirror up \
             first (docs/operations.md), then pass --yes-drop-data to drop it"
        ),
    }
}

/// One line per migration, newest first, then what to run next.
fn report(reverted: &Reverted) -> String {
    let verb = match reverted.applied {
        true => "reverted",
        false => "would revert",
    };
    let mut text = String::new();
    for step in &reverted.steps {
        text.push_str(&format!("{verb} {step}\n"));
    }
    match (reverted.applied, reverted.steps.len()) {
        (_, 0) => text.push_str("nothing to revert\n"),
        (true, count) => text.push_str(&format!(
            "reverted {count} migration{s}. Run the supahook version that matches the schema \
             now: this version's serve and migrate apply them again\n",
            s = if count == 1 { "" } else { "s" }
        )),
        (false, _) => {}
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Removed, RevertStep};

    #[test]
    fn the_report_says_what_each_step_reverts_and_what_comes_next() {
        let step = RevertStep {
            name: "2026-11-21-000002_deleted_users".into(),
            removed: vec![Removed::Table {
                table: "deleted_users".into(),
                rows: 2,
            }],
        };
        let done = Reverted {
            steps: vec![step.clone()],
            applied: true,
        };
        let refused = Reverted {
            steps: vec![step],
            applied: false,
        };

        let text = report(&done);
        assert!(
            text.starts_with(
                "reverted 2026-11-21-000002_deleted_users: drops table deleted_users (2 rows)\n"
            ),
            "{text}"
        );
        assert!(text.contains("apply them again"), "{text}");
        assert!(report(&refused).starts_with("would revert 2026-11-21-000002"));
        let nothing = Reverted {
            steps: Vec::new(),
            applied: true,
        };
        assert_eq!(report(&nothing), "nothing to revert\n");
    }
}
