use super::*;
use crate::events::properties::json;
use crate::token_claims::merge::ChainDelta;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::json;

/// The answer through the values, as the claims were merged before any splicing.
fn merged(additions: &Additions, claims: &str) -> Value {
    let claims: Map<String, Value> = serde_json::from_str(claims).unwrap();
    Value::Object(additions.apply(claims))
}

/// Asserts that the answer for `claims` is valid JSON equal to the merged values.
fn answers_as_merged(additions: Additions, claims: &str) -> String {
    let expected = merged(&additions, claims);
    let answer = Prepared::new(additions).apply(claims).unwrap();
    let read: Value =
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("not JSON ({e}): {answer}"));
    assert_eq!(read, expected, "for {claims}");
    answer
}

fn own(claims: &[(&str, Value)]) -> Additions {
    Additions {
        chain: None,
        own: claims
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect(),
    }
}

/// Claims names: Supabase's, the own claims' (so some claims already hold them), and
/// any text, escapes included.
fn claim_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["sub", "role", "aud", "iat", "app", "app_profile"])
            .prop_map(str::to_owned),
        ".{0,8}",
        "[\"\\\\/\\x00-\\x1fa-c\u{e9}\u{1f600}]{0,6}",
    ]
}

proptest! {
    #[test]
    fn the_answer_is_the_merged_claims_for_any_claims_and_own_claims(
        claims in btree_map(claim_name(), json(), 0..12),
        own_claims in vec((prop::sample::select(vec!["app", "app_profile", "x\"y\\z"]), json()), 0..3),
        pretty in any::<bool>(),
    ) {
        let claims = Value::Object(claims.into_iter().collect());
        let text = match pretty {
            true => serde_json::to_string_pretty(&claims).unwrap() + "\n ",
            false => claims.to_string(),
        };
        let own_claims: Vec<(&str, Value)> = own_claims.into_iter().collect();
        answers_as_merged(own(&own_claims), &text);
    }
}

#[test]
fn own_claims_are_added_to_the_text_as_it_came() {
    let claims = r#"{"sub":"u","role":"authenticated","n":1.50,"s":"a\"b\\c\u00e9"}"#;

    let answer = answers_as_merged(own(&[("app", json!({"role": "editor"}))]), claims);

    assert_eq!(
        answer,
        r#"{"sub":"u","role":"authenticated","n":1.50,"s":"a\"b\\c\u00e9","app":{"role":"editor"}}"#
    );
}

#[test]
fn claims_that_already_hold_an_own_claims_name_get_the_own_value() {
    let additions = || own(&[("app", json!({"role": "editor"}))]);

    for claims in [
        r#"{"sub":"u","app":{"role":"admin"}}"#,
        r#"{"app":1,"sub":"u","app":2}"#,
        r#"{"sub":"u","\u0061pp":{"role":"admin"}}"#,
    ] {
        let answer = answers_as_merged(additions(), claims);
        let read: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(read["app"], json!({"role": "editor"}), "{claims}");
        assert_eq!(answer.matches("editor").count(), 1, "one `app`: {answer}");
    }
}

#[test]
fn empty_claims_and_no_own_claims_stay_valid() {
    answers_as_merged(own(&[("app", json!(null))]), "{}");
    answers_as_merged(own(&[("app", json!([]))]), " { } ");
    assert_eq!(
        answers_as_merged(own(&[]), r#"{"sub":"u"}"#),
        r#"{"sub":"u"}"#
    );
    answers_as_merged(own(&[]), "{}");
}

#[test]
fn a_chained_hooks_changes_go_through_the_values() {
    let given = json!({"sub": "u", "role": "authenticated", "drop": 1});
    let answered = json!({"sub": "u", "role": "authenticated", "user_role": "admin"});
    let additions = Additions {
        chain: Some(ChainDelta::between(
            given.as_object().unwrap(),
            answered.as_object().unwrap(),
        )),
        own: vec![("app".into(), json!({"role": "editor"}))],
    };

    let answer = answers_as_merged(additions, &given.to_string());

    assert!(!answer.contains("drop"), "{answer}");
}

#[test]
fn claims_that_are_not_an_object_are_refused_as_before() {
    let prepared = Prepared::new(own(&[("app", json!(1))]));

    for claims in ["[1]", "\"x\"", "{\"a\":1", "{} {}"] {
        assert!(
            matches!(prepared.apply(claims), Err(ParseError::Syntax(_))),
            "{claims}"
        );
    }
}
