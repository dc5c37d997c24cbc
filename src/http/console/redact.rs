//! A kept body as the console shows it: indented JSON with every credential replaced.
//!
//! A Database Webhook's `record` and `old_record` carry `encrypted_password` and the
//! `*_token` columns; supahook never stores them, and the console never shows them.

use serde_json::Value;

/// What stands in for a hidden value.
const HIDDEN: &str = "(hidden)";

/// Whether a key names a credential: a password, a secret, a token or a token hash.
fn is_credential(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key == "token"
        || key.ends_with("_token")
        || key.contains("token_")
}

fn hide(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                match is_credential(key) {
                    true => *field = Value::String(HIDDEN.into()),
                    false => hide(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(hide),
        _ => {}
    }
}

/// The body as indented JSON without credentials; `None` when it is not JSON (a
/// delivery's body always is: it was verified and parsed before it was kept).
pub fn shown_body(body: &[u8]) -> Option<String> {
    let mut value: Value = serde_json::from_slice(body).ok()?;
    hide(&mut value);
    serde_json::to_string_pretty(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::shown_body;

    #[test]
    fn passwords_and_tokens_are_hidden_at_any_depth() {
        let body = br#"{"type":"UPDATE","record":{"id":"u1","email":"a@example.com",
            "encrypted_password":"$2a$10$hash","confirmation_token":"abc",
            "email_change_token_new":"def","raw_user_meta_data":{"name":"Ada"}},
            "old_record":[{"recovery_token":"ghi"}]}"#;

        let shown = shown_body(body).unwrap();

        for secret in ["$2a$10$hash", "abc", "def", "ghi"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("a@example.com"));
        assert!(shown.contains("\"name\": \"Ada\""));
    }

    #[test]
    fn a_body_that_is_not_json_is_not_shown() {
        assert_eq!(shown_body(b"not json"), None);
    }
}
