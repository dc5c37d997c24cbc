//! Refuses a `SUPAHOOK_*` variable or config-file key that no setting reads, naming
//! the closest one that does: a typo must not leave its default quietly in force.
//!
//! The known names are the ones the settings were just read under (the reader
//! records every name it is asked for), so a new setting is known as soon as it is
//! read; there is no list to keep.

use crate::config_sources::{ConfigError, PREFIX, file_key};
use std::collections::BTreeSet;

/// Refuses the first `SUPAHOOK_*` variable in `present` that was not `asked` for.
pub(super) fn check_environment<'a>(
    present: impl IntoIterator<Item = &'a str>,
    asked: &BTreeSet<String>,
) -> Result<(), ConfigError> {
    let mut unknown: Vec<&str> = present
        .into_iter()
        .filter(|name| name.starts_with(PREFIX) && !asked.contains(*name))
        .collect();
    unknown.sort_unstable();
    match unknown.first() {
        None => Ok(()),
        Some(name) => Err(ConfigError::Unknown {
            what: "an environment variable".to_owned(),
            name: (*name).to_owned(),
            closest: closest(name, asked.iter().map(String::as_str)),
        }),
    }
}

/// Refuses the first of the `keys` of the config file at `path` that no setting has:
/// a file key is a variable's name, lower-case, without the `SUPAHOOK_` prefix.
pub(super) fn check_file<'a>(
    path: &str,
    keys: impl IntoIterator<Item = &'a String>,
    asked: &BTreeSet<String>,
) -> Result<(), ConfigError> {
    let known: Vec<String> = asked.iter().map(|name| file_key(name)).collect();
    let mut unknown: Vec<&String> = keys
        .into_iter()
        .filter(|key| !known.contains(key))
        .collect();
    unknown.sort_unstable();
    match unknown.first() {
        None => Ok(()),
        Some(key) => Err(ConfigError::Unknown {
            what: format!("a key in the config file {path}"),
            name: (*key).clone(),
            closest: closest(key, known.iter().map(String::as_str)),
        }),
    }
}

/// The known name nearest to `name` in edit distance.
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    known
        .min_by_key(|candidate| strsim::levenshtein(name, candidate))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked() -> BTreeSet<String> {
        [
            "DATABASE_URL",
            "SUPAHOOK_LISTEN_ADDR",
            "SUPAHOOK_STORE_BUDGET_MS",
            "RUST_LOG",
        ]
        .map(str::to_owned)
        .into()
    }

    #[test]
    fn an_unknown_variable_is_refused_naming_the_closest_setting() {
        let error = check_environment(["SUPAHOOK_LISTEN_ADRR", "PATH"], &asked()).unwrap_err();

        let message = error.to_string();
        assert!(message.contains("SUPAHOOK_LISTEN_ADRR"), "{message}");
        assert!(
            message.contains("did you mean SUPAHOOK_LISTEN_ADDR"),
            "{message}"
        );
    }

    #[test]
    fn known_and_foreign_variables_pass() {
        check_environment(
            ["SUPAHOOK_LISTEN_ADDR", "HOME", "DATABASE_URL", "SUPAHOOKED"],
            &asked(),
        )
        .unwrap();
    }

    #[test]
    fn an_unknown_file_key_is_refused_naming_the_closest_key() {
        let keys = ["store_budget".to_owned()];

        let message = check_file("app.toml", &keys, &asked())
            .unwrap_err()
            .to_string();

        assert!(
            message.contains("app.toml") && message.contains("store_budget"),
            "{message}"
        );
        assert!(
            message.contains("did you mean store_budget_ms"),
            "{message}"
        );
    }
}
