//! Emails and phones one character longer than Supabase's own `varchar(255)`
//! columns, on every endpoint that takes one.

use super::Case;
use super::api::sync_with_claim;
use super::bodies::{id, invalid_payload};
use super::requests::*;
use crate::support::fixture_json;
use serde_json::{Value, json};
use supahook::events::MAX_CONTACT_CHARS;

/// An email one character longer than Supabase stores.
fn long_email() -> Value {
    let at = "@example.com";
    json!(format!(
        "{}{at}",
        "a".repeat(MAX_CONTACT_CHARS + 1 - at.len())
    ))
}

/// A phone one character longer than Supabase stores, in 4-byte characters, so that
/// the limit is seen to count characters.
fn long_phone() -> Value {
    json!("𝟙".repeat(MAX_CONTACT_CHARS + 1))
}

pub fn cases() -> Vec<Case> {
    // Where each endpoint carries a user's email and phone.
    let places = [
        (CUSTOM_ACCESS_TOKEN, custom_access_token(&id()), "claims"),
        (BEFORE_USER_CREATED, before_user_created(&id()), "user"),
        (AFTER_USER_CREATED, after_user_created(&id()), "user"),
        (AUTH_USERS, auth_users_insert(&id()), "record"),
        (
            AUTH_USERS,
            fixture_json("db-delete-auth-users.json"),
            "old_record",
        ),
    ];
    let mut cases = Vec::new();
    for (path, body, at) in places {
        for (field, value) in [("email", long_email()), ("phone", long_phone())] {
            let body = set(body.clone(), &format!("/{at}/{field}"), value);
            let name = format!("{at}.{field} of 256 characters to {path}");
            let names = format!("{at}.{field}: longer than 255 characters");
            cases.push(invalid_payload(name, path, body, names));
        }
    }
    for (field, value) in [("email", long_email()), ("phone", long_phone())] {
        let name = format!("a token whose {field} has 256 characters");
        let names = format!("token claim {field}: longer than 255 characters");
        cases.push(sync_with_claim(name, &format!("/{field}"), value, names));
    }
    cases
}
