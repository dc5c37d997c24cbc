//! Length limits of the fields Supabase Auth bounds itself.

use serde::de::Error;
use serde::{Deserialize, Deserializer};

/// The longest email or phone, in characters. Supabase's own `auth.users.email` and
/// `auth.users.phone` are `varchar(255)`, so a longer one cannot describe a real user.
pub const MAX_CONTACT_CHARS: usize = 255;

/// Reads an optional email or phone, refusing one longer than [`MAX_CONTACT_CHARS`].
/// The error is raised while deserializing, so it carries the field's path
/// (`user.email: longer than 255 characters`).
pub(super) fn contact<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?;
    match &value {
        Some(text) if text.chars().count() > MAX_CONTACT_CHARS => Err(D::Error::custom(format!(
            "longer than {MAX_CONTACT_CHARS} characters"
        ))),
        _ => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[derive(Deserialize, Debug)]
    struct Row {
        #[serde(default, deserialize_with = "contact")]
        email: Option<String>,
    }

    fn email_of(row: Value) -> Result<Option<String>, String> {
        serde_json::from_value::<Row>(row)
            .map(|row| row.email)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_email_of_255_characters_is_kept_whatever_their_width() {
        let widest = "𝟙".repeat(MAX_CONTACT_CHARS);

        assert_eq!(email_of(json!({ "email": widest })), Ok(Some(widest)));
    }

    #[test]
    fn an_email_of_256_characters_is_refused() {
        let long = "a".repeat(MAX_CONTACT_CHARS + 1);

        assert_eq!(
            email_of(json!({ "email": long })),
            Err("longer than 255 characters".to_owned())
        );
    }

    #[test]
    fn an_absent_or_null_email_is_none() {
        assert_eq!(email_of(json!({})), Ok(None));
        assert_eq!(email_of(json!({ "email": null })), Ok(None));
    }
}
