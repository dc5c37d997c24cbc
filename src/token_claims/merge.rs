//! What supahook adds to a token's claims, and how: pure. The chained hook's answer is
//! kept as its difference from the claims it was given, so that it applies to the
//! user's next token, whose times and session differ; supahook's own claims (the
//! profile, the claims query) come last, under names Supabase does not use, so they
//! never override a Supabase claim.

use serde_json::{Map, Value};

/// Claims that differ from one token of a user to the next. A chained hook's change
/// to one of them holds for that token alone, so such an answer is not kept.
const PER_TOKEN: [&str; 9] = [
    "iat",
    "exp",
    "nbf",
    "jti",
    "session_id",
    "aal",
    "amr",
    "client_id",
    "scope",
];

/// What the chained hook changed in the claims it was given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChainDelta {
    set: Vec<(String, Value)>,
    removed: Vec<String>,
}

impl ChainDelta {
    /// The claims `output` adds or changes over `input`, and those it removes.
    pub fn between(input: &Map<String, Value>, output: &Map<String, Value>) -> Self {
        Self {
            set: output
                .iter()
                .filter(|(name, value)| input.get(*name) != Some(*value))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            removed: input
                .keys()
                .filter(|name| !output.contains_key(*name))
                .cloned()
                .collect(),
        }
    }

    /// Whether it touches a claim that differs from token to token (see [`PER_TOKEN`]).
    pub fn per_token(&self) -> bool {
        let names = self.set.iter().map(|(name, _)| name).chain(&self.removed);
        names
            .into_iter()
            .any(|name| PER_TOKEN.contains(&name.as_str()))
    }

    fn apply(&self, claims: &mut Map<String, Value>) {
        for name in &self.removed {
            claims.remove(name);
        }
        for (name, value) in &self.set {
            claims.insert(name.clone(), value.clone());
        }
    }
}

/// Everything supahook adds to one user's tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Additions {
    /// The chained hook's changes, when one is set and it answered with claims.
    pub chain: Option<ChainDelta>,
    /// supahook's own claims, by name: the profile claim, the claims query's.
    pub own: Vec<(String, Value)>,
}

impl Additions {
    /// `claims` with the chained hook's changes, then supahook's own claims.
    pub fn apply(&self, mut claims: Map<String, Value>) -> Map<String, Value> {
        if let Some(chain) = &self.chain {
            chain.apply(&mut claims);
        }
        for (name, value) in &self.own {
            claims.insert(name.clone(), value.clone());
        }
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_hooks_change_carries_over_to_the_next_token() {
        let first = map(json!({"sub": "u", "iat": 1, "exp": 2, "role": "authenticated"}));
        let answered = map(
            json!({"sub": "u", "iat": 1, "exp": 2, "role": "authenticated",
                                  "user_role": "admin"}),
        );
        let delta = ChainDelta::between(&first, &answered);
        let next = map(json!({"sub": "u", "iat": 5, "exp": 6, "role": "authenticated"}));

        let additions = Additions {
            chain: Some(delta.clone()),
            own: vec![],
        };

        assert!(!delta.per_token());
        assert_eq!(
            Value::Object(additions.apply(next)),
            json!({"sub": "u", "iat": 5, "exp": 6, "role": "authenticated", "user_role": "admin"})
        );
    }

    #[test]
    fn a_change_to_a_tokens_times_is_per_token() {
        let first = map(json!({"iat": 1, "exp": 2, "extra": 1}));
        let shortened = map(json!({"iat": 1, "exp": 1}));

        let delta = ChainDelta::between(&first, &shortened);

        assert!(delta.per_token());
        assert_eq!(
            Value::Object(
                Additions {
                    chain: Some(delta),
                    own: vec![]
                }
                .apply(first)
            ),
            json!({"iat": 1, "exp": 1})
        );
    }

    #[test]
    fn own_claims_come_last_under_their_names() {
        let additions = Additions {
            chain: None,
            own: vec![("app".into(), json!({"sub": "x", "role": "admin"}))],
        };

        let claims = additions.apply(map(json!({"sub": "u", "role": "authenticated"})));

        assert_eq!(claims["sub"], "u");
        assert_eq!(claims["role"], "authenticated");
        assert_eq!(claims["app"], json!({"sub": "x", "role": "admin"}));
    }
}
