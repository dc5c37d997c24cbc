//! The profile claim custom-access-token adds to the access token
//! (`SUPAHOOK_TOKEN_PROFILE_CLAIM`), so that Row Level Security and the frontend
//! can read the application's own facts about the user without a round trip.

use crate::events::ParseError;
use crate::storage::ProfileClaim;
use serde_json::{Value, json};

/// `claims` (JSON text) with `name: {is_onboarded, display_name, profile_updated_at}`
/// added. Every other claim is left as it is; `profile_updated_at` is in Unix seconds,
/// like the token's own times.
pub fn add(claims: &str, name: &str, profile: &ProfileClaim) -> Result<String, ParseError> {
    let mut claims: Value =
        serde_json::from_str(claims).map_err(|e| ParseError::Syntax(e.to_string()))?;
    if let Value::Object(claims) = &mut claims {
        claims.insert(
            name.to_owned(),
            json!({
                "is_onboarded": profile.is_onboarded,
                "display_name": profile.display_name,
                "profile_updated_at": profile.profile_updated_at.map(|t| t.timestamp()),
            }),
        );
    }
    Ok(claims.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claim_is_added_and_nothing_else_changes() {
        let before = json!({"sub": "u", "aud": "authenticated", "role": "authenticated"});
        let profile = ProfileClaim {
            is_onboarded: true,
            display_name: Some("Ada".into()),
            profile_updated_at: chrono::DateTime::from_timestamp(1_790_000_000, 0),
        };

        let text = add(&before.to_string(), "app_profile", &profile).unwrap();

        let mut claims: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            claims["app_profile"],
            json!({"is_onboarded": true, "display_name": "Ada", "profile_updated_at": 1_790_000_000})
        );
        claims.as_object_mut().unwrap().remove("app_profile");
        assert_eq!(claims, before);
    }
}
