//! Where settings come from: the environment, over an optional TOML file whose keys
//! are the variables' names, lower-case and without the `SUPAHOOK_` prefix.
//!
//! Every component reads its own settings through [`Sources`]; each read names the
//! setting in its error and is remembered, so that a name nobody reads can be refused.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

/// The prefix of supahook's own environment variables.
pub const PREFIX: &str = "SUPAHOOK_";

/// A setting could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{setting} is not set")]
    Missing { setting: &'static str },
    #[error("{setting} is invalid: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
    #[error("cannot read the config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error(
        "{name} ({what}) is not a setting supahook knows{}",
        .closest.as_ref().map(|c| format!("; did you mean {c}?")).unwrap_or_default()
    )]
    Unknown {
        what: String,
        name: String,
        closest: Option<String>,
    },
}

/// The error of a `setting` whose value cannot be used, for `reason`.
pub fn invalid(setting: &'static str, reason: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.to_string(),
    }
}

/// The environment and the config file, and the names read from them so far.
pub struct Sources<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: Option<(String, toml::Table)>,
    asked: RefCell<BTreeSet<String>>,
}

impl<'a> Sources<'a> {
    /// `env` (a lookup by variable name) over the TOML file at `path`, when given.
    pub fn new(
        path: Option<&Path>,
        env: &'a dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file = match path {
            Some(path) => {
                let path = path.display().to_string();
                let table = read_file(&path).map_err(|reason| ConfigError::File {
                    path: path.clone(),
                    reason,
                })?;
                Some((path, table))
            }
            None => None,
        };
        Ok(Self {
            env,
            file,
            asked: RefCell::default(),
        })
    }

    /// A setting written in the file as `form`, parsed by `parse` from its text (a
    /// number's digits, `true` or `false`) as the environment's text is.
    pub fn read<T, E: fmt::Display>(
        &self,
        name: &'static str,
        form: Form,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ConfigError> {
        self.layered(
            name,
            |text| text,
            |value| form.text(value),
            |text| parse(&text),
        )
    }

    /// A list: comma-separated in the environment (items trimmed, empty ones
    /// dropped), an array of strings in the file; parsed by `parse`.
    pub fn list<T, E: fmt::Display>(
        &self,
        name: &'static str,
        parse: impl FnOnce(Vec<String>) -> Result<T, E>,
    ) -> Result<Option<T>, ConfigError> {
        self.layered(name, |csv| comma_separated(&csv), strings, parse)
    }

    /// A list whose file form may also hold tables: comma-separated strings in the
    /// environment (each a [`toml::Value::String`]), an array in the file; parsed by
    /// `parse`, item by item as it likes.
    pub fn items<T, E: fmt::Display>(
        &self,
        name: &'static str,
        parse: impl FnOnce(Vec<toml::Value>) -> Result<T, E>,
    ) -> Result<Option<T>, ConfigError> {
        let from_env = |csv: String| {
            comma_separated(&csv)
                .into_iter()
                .map(toml::Value::String)
                .collect()
        };
        let from_file = |value: &toml::Value| match value {
            toml::Value::Array(items) => Ok(items.clone()),
            _ => Err("an array"),
        };
        self.layered(name, from_env, from_file, parse)
    }

    /// The one reader. `name` from the environment (trimmed; blank counts as unset),
    /// else its key in the file; brought to one form by `from_env` or `from_file`,
    /// then parsed, any refusal naming the setting. A file value of the wrong type is
    /// refused even when the environment sets the same setting.
    fn layered<V, T, E: fmt::Display>(
        &self,
        name: &'static str,
        from_env: impl FnOnce(String) -> V,
        from_file: impl FnOnce(&toml::Value) -> Result<V, &'static str>,
        parse: impl FnOnce(V) -> Result<T, E>,
    ) -> Result<Option<T>, ConfigError> {
        self.asked.borrow_mut().insert(name.to_owned());
        let in_file = match self.file_value(name) {
            Some((path, key, value)) => {
                Some(from_file(value).map_err(|expected| ConfigError::File {
                    path: path.to_owned(),
                    reason: format!("`{key}` is not {expected}"),
                })?)
            }
            None => None,
        };
        let env = (self.env)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty());
        let value = match (env, in_file) {
            (Some(text), _) => from_env(text),
            (None, Some(value)) => value,
            (None, None) => return Ok(None),
        };
        parse(value).map(Some).map_err(|e| invalid(name, e))
    }

    /// The file's path, and the key and value of the setting `name` in it.
    fn file_value(&self, name: &str) -> Option<(&str, String, &toml::Value)> {
        let (path, table) = self.file.as_ref()?;
        let key = file_key(name);
        let value = table.get(&key)?;
        Some((path, key, value))
    }

    /// Every variable name read so far.
    pub fn asked(&self) -> BTreeSet<String> {
        self.asked.borrow().clone()
    }

    /// The config file's path and its keys, when there is a file.
    pub fn file_keys(&self) -> Option<(&str, impl Iterator<Item = &String>)> {
        self.file
            .as_ref()
            .map(|(path, table)| (path.as_str(), table.keys()))
    }
}

/// How a setting is written in the config file; the environment always gives text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A string.
    Text,
    /// A whole number.
    Number,
    /// `true` or `false`.
    Switch,
}

impl Form {
    /// The text of a file `value` of this form, or what was expected instead.
    fn text(self, value: &toml::Value) -> Result<String, &'static str> {
        match (self, value) {
            (Self::Text, toml::Value::String(text)) => Ok(text.clone()),
            (Self::Number, toml::Value::Integer(n)) if *n >= 0 => Ok(n.to_string()),
            (Self::Switch, toml::Value::Boolean(b)) => Ok(b.to_string()),
            (Self::Text, _) => Err("a string"),
            (Self::Number, _) => Err("a whole number"),
            (Self::Switch, _) => Err("true or false"),
        }
    }
}

/// The items of a file array of strings.
fn strings(value: &toml::Value) -> Result<Vec<String>, &'static str> {
    let items = value.as_array().ok_or("an array of strings")?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or("an array of strings")
        })
        .collect()
}

/// The value `text` names among `choices`, for a setting that is one of a few words.
pub fn one_of<T: Copy>(text: &str, choices: &[(&str, T)]) -> Result<T, String> {
    match choices.iter().find(|(word, _)| *word == text) {
        Some((_, value)) => Ok(*value),
        None => {
            let words: Vec<String> = choices
                .iter()
                .map(|(word, _)| format!("`{word}`"))
                .collect();
            Err(format!("`{text}` is not {}", words.join(" or ")))
        }
    }
}

/// The config-file key of the variable `name`.
pub fn file_key(name: &str) -> String {
    name.strip_prefix(PREFIX)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

fn read_file(path: &str) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    toml::from_str(&text).map_err(|e| e.to_string())
}

/// The non-empty items of a comma-separated list, trimmed.
fn comma_separated(csv: &str) -> Vec<String> {
    csv.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}
