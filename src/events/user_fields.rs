//! Profile fields derived from `user_metadata` and `app_metadata`.
//!
//! Identity providers disagree on claim names; these rules pick the first
//! one present, in the order the README documents.

use serde_json::Value;

/// A first and last name, either of which may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PersonName {
    /// Given name.
    pub first: Option<String>,
    /// Family name.
    pub last: Option<String>,
}

fn text<'a>(metadata: &'a Value, key: &str) -> Option<&'a str> {
    metadata
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `first_name`/`last_name`, else `given_name`/`family_name`, else `full_name`
/// or `name` split at the first space.
pub fn person_name(user_metadata: &Value) -> PersonName {
    for (first, last) in [("first_name", "last_name"), ("given_name", "family_name")] {
        let name = PersonName {
            first: text(user_metadata, first).map(str::to_owned),
            last: text(user_metadata, last).map(str::to_owned),
        };
        if name.first.is_some() || name.last.is_some() {
            return name;
        }
    }
    let Some(full) = text(user_metadata, "full_name").or_else(|| text(user_metadata, "name"))
    else {
        return PersonName::default();
    };
    match full.split_once(char::is_whitespace) {
        Some((first, rest)) => PersonName {
            first: Some(first.to_owned()),
            last: Some(rest.trim().to_owned()).filter(|s| !s.is_empty()),
        },
        None => PersonName {
            first: Some(full.to_owned()),
            last: None,
        },
    }
}

/// `avatar_url`, else `picture`.
pub fn avatar_url(user_metadata: &Value) -> Option<String> {
    text(user_metadata, "avatar_url")
        .or_else(|| text(user_metadata, "picture"))
        .map(str::to_owned)
}

/// `app_metadata.provider`.
pub fn provider(app_metadata: &Value) -> Option<String> {
    text(app_metadata, "provider").map(str::to_owned)
}

/// `app_metadata.providers`, keeping only strings.
pub fn providers(app_metadata: &Value) -> Vec<String> {
    app_metadata
        .get("providers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A metadata value, or an empty object when it is absent or not an object.
pub fn object_or_empty(value: Option<&Value>) -> Value {
    match value {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => Value::Object(Default::default()),
    }
}
