//! What a revert of migrations does, decided without a database: which migrations
//! it reverts, what each removes, and whether that loses data.

use std::collections::BTreeSet;
use std::fmt;

/// Which applied migrations to revert, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertPlan {
    /// The last N applied (`migrate --down N`).
    Last(usize),
    /// Every applied migration newer than this version, which stays applied
    /// (`migrate --to VERSION`); `0` reverts them all.
    To(String),
}

/// A table or a column a step removes, with how much data it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// A whole table, holding `rows` rows.
    Table { table: String, rows: i64 },
    /// A column of a table that stays, holding `values` values that are not null.
    Column {
        table: String,
        column: String,
        values: i64,
    },
}

impl Removed {
    /// Whether removing it loses data.
    pub fn holds_data(&self) -> bool {
        match self {
            Self::Table { rows, .. } => *rows > 0,
            Self::Column { values, .. } => *values > 0,
        }
    }
}

impl fmt::Display for Removed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Table { table, rows } => write!(f, "drops table {table} ({rows} rows)"),
            Self::Column {
                table,
                column,
                values,
            } => write!(f, "drops column {table}.{column} ({values} values)"),
        }
    }
}

/// One reverted migration and what its `down.sql` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevertStep {
    /// The migration, as its directory is named: `2026-11-21-000001_create_mirror`.
    pub name: String,
    /// The tables and columns it removes.
    pub removed: Vec<Removed>,
}

impl fmt::Display for RevertStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let removed: Vec<String> = self.removed.iter().map(ToString::to_string).collect();
        match removed.is_empty() {
            true => write!(f, "{}: removes no table or column", self.name),
            false => write!(f, "{}: {}", self.name, removed.join(", ")),
        }
    }
}

/// What a revert did, or would have done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reverted {
    /// Each migration reverted, newest first.
    pub steps: Vec<RevertStep>,
    /// `false` when nothing was changed because a step would drop data and that
    /// was not allowed.
    pub applied: bool,
}

impl Reverted {
    /// Whether some step drops a table or column that holds data.
    pub fn drops_data(&self) -> bool {
        self.steps
            .iter()
            .any(|step| step.removed.iter().any(Removed::holds_data))
    }
}

/// The version diesel records for a migration name or version as written:
/// `2026-11-21-000001_create_mirror`, `2026-11-21-000001` and `20261121000001` alike.
pub fn version_of(text: &str) -> String {
    let head = text.split('_').next().unwrap_or_default();
    head.replace('-', "")
}

/// The versions `plan` reverts, newest first, out of `applied` (newest first).
/// Each must be `known` to this build, which holds its `down.sql`.
pub fn choose(
    applied: &[String],
    known: &[String],
    plan: &RevertPlan,
) -> Result<Vec<String>, String> {
    let chosen: Vec<String> = match plan {
        RevertPlan::Last(0) => return Err("--down takes a count of at least 1".to_owned()),
        RevertPlan::Last(count) if *count > applied.len() => {
            return Err(format!(
                "--down {count}: only {} migrations are applied",
                applied.len()
            ));
        }
        RevertPlan::Last(count) => applied[..*count].to_vec(),
        RevertPlan::To(target) if version_of(target) == "0" => applied.to_vec(),
        RevertPlan::To(target) => {
            let version = version_of(target);
            if !applied.contains(&version) {
                return Err(format!(
                    "--to {target}: no applied migration has that version (applied, newest \
                     first: {}); 0 reverts them all",
                    applied.join(", ")
                ));
            }
            applied
                .iter()
                .take_while(|v| **v != version)
                .cloned()
                .collect()
        }
    };
    if let Some(unknown) = chosen.iter().find(|v| !known.contains(v)) {
        return Err(format!(
            "migration {unknown} was applied by another version of supahook, which holds its \
             down.sql: revert it with that version's `supahook migrate --down`"
        ));
    }
    Ok(chosen)
}

/// The tables and columns in `before` that are gone from `after`, each `(table,
/// None)` for a whole table or `(table, Some(column))` for a column of a table that
/// stays. Both are `(table, column)` pairs, one per column.
pub fn vanished(
    before: &BTreeSet<(String, String)>,
    after: &BTreeSet<(String, String)>,
) -> Vec<(String, Option<String>)> {
    let tables_after: BTreeSet<&String> = after.iter().map(|(table, _)| table).collect();
    let mut gone: Vec<(String, Option<String>)> = Vec::new();
    for (table, column) in before.difference(after) {
        match tables_after.contains(table) {
            true => gone.push((table.clone(), Some(column.clone()))),
            false if !gone.contains(&(table.clone(), None)) => gone.push((table.clone(), None)),
            false => {}
        }
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_migration_is_named_by_its_directory_or_its_version() {
        for text in [
            "2026-11-21-000001_create_mirror",
            "2026-11-21-000001",
            "20261121000001",
        ] {
            assert_eq!(version_of(text), "20261121000001", "{text}");
        }
    }

    #[test]
    fn down_takes_the_newest_and_to_stops_at_the_version_named() {
        let applied = strings(&["5", "4", "3", "2", "1"]);
        let known = applied.clone();

        assert_eq!(
            choose(&applied, &known, &RevertPlan::Last(2)).unwrap(),
            ["5", "4"]
        );
        assert_eq!(
            choose(&applied, &known, &RevertPlan::Last(5)).unwrap(),
            applied
        );
        assert_eq!(
            choose(&applied, &known, &RevertPlan::To("3".into())).unwrap(),
            ["5", "4"]
        );
        assert!(
            choose(&applied, &known, &RevertPlan::To("5".into()))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            choose(&applied, &known, &RevertPlan::To("0".into())).unwrap(),
            applied
        );
    }

    #[test]
    fn impossible_plans_are_refused_saying_why() {
        let applied = strings(&["5", "4"]);
        let known = strings(&["4"]);

        let error = choose(&applied, &applied, &RevertPlan::Last(3)).unwrap_err();
        assert!(error.contains("only 2 migrations are applied"), "{error}");
        assert!(choose(&applied, &applied, &RevertPlan::Last(0)).is_err());
        let error = choose(&applied, &applied, &RevertPlan::To("7".into())).unwrap_err();
        assert!(
            error.contains("no applied migration has that version"),
            "{error}"
        );
        let error = choose(&applied, &known, &RevertPlan::Last(1)).unwrap_err();
        assert!(error.contains("another version of supahook"), "{error}");
    }

    #[test]
    fn a_dropped_table_is_one_item_and_a_dropped_column_names_its_table() {
        let set = |pairs: &[(&str, &str)]| -> BTreeSet<(String, String)> {
            pairs
                .iter()
                .map(|(t, c)| ((*t).to_owned(), (*c).to_owned()))
                .collect()
        };
        let before = set(&[
            ("profiles", "settings"),
            ("profiles", "user_id"),
            ("users", "id"),
            ("tombs", "id"),
            ("tombs", "removed"),
        ]);
        let after = set(&[("profiles", "user_id"), ("users", "id")]);

        assert_eq!(
            vanished(&before, &after),
            [
                ("profiles".to_owned(), Some("settings".to_owned())),
                ("tombs".to_owned(), None)
            ]
        );
        assert!(vanished(&before, &before).is_empty());
    }

    #[test]
    fn only_a_table_or_column_that_holds_something_is_data_lost() {
        let step = |removed| RevertStep {
            name: "2026-11-28-100000_profile_settings".into(),
            removed,
        };
        let empty = Reverted {
            steps: vec![step(vec![Removed::Table {
                table: "deleted_users".into(),
                rows: 0,
            }])],
            applied: true,
        };
        let full = Reverted {
            steps: vec![step(vec![Removed::Column {
                table: "profiles".into(),
                column: "settings".into(),
                values: 3,
            }])],
            applied: false,
        };

        assert!(!empty.drops_data());
        assert!(full.drops_data());
        assert_eq!(
            full.steps[0].to_string(),
            "2026-11-28-100000_profile_settings: drops column profiles.settings (3 values)"
        );
        assert_eq!(
            step(Vec::new()).to_string(),
            "2026-11-28-100000_profile_settings: removes no table or column"
        );
    }
}
