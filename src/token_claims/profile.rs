//! The profile claim (`SUPAHOOK_TOKEN_PROFILE_CLAIM`): the application's own facts
//! about the user, so that Row Level Security and the frontend read them without a
//! round trip. One of supahook's own claims, computed and kept like the others.

use crate::storage::ProfileClaim;
use serde_json::{Value, json};

/// `{is_onboarded, display_name, profile_updated_at}`; `profile_updated_at` is in
/// Unix seconds, like the token's own times.
pub fn value(profile: &ProfileClaim) -> Value {
    json!({
        "is_onboarded": profile.is_onboarded,
        "display_name": profile.display_name,
        "profile_updated_at": profile.profile_updated_at.map(|t| t.timestamp()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_facts_are_given_in_unix_seconds() {
        let profile = ProfileClaim {
            is_onboarded: true,
            display_name: Some("Ada".into()),
            profile_updated_at: chrono::DateTime::from_timestamp(1_790_000_000, 0),
        };

        assert_eq!(
            value(&profile),
            json!({"is_onboarded": true, "display_name": "Ada", "profile_updated_at": 1_790_000_000})
        );
    }
}
