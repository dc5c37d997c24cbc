//! The check Supabase Auth makes of the claims an access-token hook answers with
//! (`MinimumViableTokenSchema` in supabase/auth): made here first, so that a broken
//! chained hook gives a clear error instead of a token Supabase then refuses.

use serde_json::{Map, Value};

/// Claims every token must hold.
const REQUIRED: [&str; 10] = [
    "aud",
    "exp",
    "iat",
    "sub",
    "email",
    "phone",
    "role",
    "aal",
    "session_id",
    "is_anonymous",
];

/// Claims that must be strings when present.
const STRINGS: [&str; 10] = [
    "iss",
    "jti",
    "sub",
    "email",
    "phone",
    "role",
    "aal",
    "session_id",
    "client_id",
    "scope",
];

/// Why `claims` would not pass Supabase Auth's check, naming every claim at fault.
pub fn check(claims: &Map<String, Value>) -> Result<(), String> {
    let mut faults: Vec<String> = REQUIRED
        .iter()
        .filter(|name| !claims.contains_key(**name))
        .map(|name| format!("`{name}` is missing"))
        .collect();
    for (name, value) in claims {
        if let Some(expected) = expected_type(name, value) {
            faults.push(format!("`{name}` must be {expected}"));
        }
    }
    match faults.is_empty() {
        true => Ok(()),
        false => Err(faults.join(", ")),
    }
}

/// What `value` should have been, when claim `name` has a type rule it breaks.
fn expected_type(name: &str, value: &Value) -> Option<&'static str> {
    let fits = match name {
        "aud" => value.is_string() || value.is_array(),
        "exp" | "iat" | "nbf" => value.is_i64() || value.is_u64(),
        "app_metadata" | "user_metadata" => value.is_object(),
        "amr" => value
            .as_array()
            .is_some_and(|entries| entries.iter().all(|e| e.is_string() || e.is_object())),
        name if STRINGS.contains(&name) => value.is_string(),
        _ => true,
    };
    match (fits, name) {
        (true, _) => None,
        (false, "aud") => Some("a string or an array"),
        (false, "exp" | "iat" | "nbf") => Some("an integer"),
        (false, "app_metadata" | "user_metadata") => Some("an object"),
        (false, "amr") => Some("an array of strings or objects"),
        (false, _) => Some("a string"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn minimal() -> Value {
        json!({"aud": "authenticated", "exp": 2, "iat": 1, "sub": "u", "email": "",
               "phone": "", "role": "authenticated", "aal": "aal1", "session_id": "s",
               "is_anonymous": false, "amr": [{"method": "password"}]})
    }

    #[test]
    fn a_complete_token_passes() {
        assert_eq!(check(&claims(minimal())), Ok(()));
    }

    #[test]
    fn every_missing_or_mistyped_claim_is_named() {
        let mut broken = minimal();
        broken.as_object_mut().unwrap().remove("session_id");
        broken["exp"] = json!("tomorrow");
        broken["role"] = json!(7);
        broken["user_metadata"] = json!([]);

        let fault = check(&claims(broken)).unwrap_err();

        for part in [
            "`session_id` is missing",
            "`exp` must be an integer",
            "`role` must be a string",
            "`user_metadata` must be an object",
        ] {
            assert!(fault.contains(part), "{fault}");
        }
    }

    #[test]
    fn an_array_audience_and_extra_claims_pass() {
        let mut token = minimal();
        token["aud"] = json!(["authenticated"]);
        token["user_role"] = json!("admin");
        assert_eq!(check(&claims(token)), Ok(()));
    }
}
