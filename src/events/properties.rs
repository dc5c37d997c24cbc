//! Every payload parser, on any input: a delivery or a [`ParseError`], never a panic.

use super::*;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::Index;

const FIXTURES: [&str; 7] = [
    "custom-access-token.json",
    "before-user-created.json",
    "before-user-created-oauth.json",
    "after-user-created.json",
    "db-insert-auth-users.json",
    "db-update-auth-users-soft-delete.json",
    "db-delete-auth-users.json",
];

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&bytes).unwrap()
}

/// Parses `bytes` as `T` and maps it to its delivery, as the endpoint does.
fn delivery_of<T: DeserializeOwned>(
    bytes: &[u8],
    delivery: impl Fn(&T, &str) -> Result<Delivery, ParseError>,
) -> Result<Delivery, ParseError> {
    let verified = VerifiedBody {
        webhook_id: "wh_1".into(),
        bytes,
    };
    let input = parse::<T>(&verified)?;
    delivery(&input, &verified.webhook_id)
}

/// Runs `bytes` through every parser; each gives a delivery or an error that says something.
fn every_parser_answers(bytes: &[u8]) {
    let answers = [
        delivery_of(bytes, CustomAccessTokenInput::delivery),
        delivery_of(bytes, BeforeUserCreatedInput::delivery),
        delivery_of(bytes, AfterUserCreatedInput::delivery),
        delivery_of(bytes, AuthUsersChange::delivery),
        serde_json::from_slice(bytes)
            .map_err(|e| ParseError::Syntax(e.to_string()))
            .and_then(|claims| claims_delivery(&claims, "digest")),
    ];
    for answer in answers {
        match answer {
            Ok(delivery) => assert!(!delivery.idempotency_key.is_empty()),
            Err(error) => assert!(!error.to_string().is_empty()),
        }
    }
}

/// What `parse` makes of `bytes` as `T`, and of the JSON value they hold read the
/// thorough way (a value first, then `T`): the same delivery or the same error.
fn reads_as_the_thorough_way<T: DeserializeOwned>(
    bytes: &[u8],
    value: &Value,
    delivery: impl Fn(&T, &str) -> Result<Delivery, ParseError>,
) {
    let shown =
        |d: Result<Delivery, ParseError>| d.map(|d| format!("{d:?}")).map_err(|e| e.to_string());
    let thorough = from_value::<T>(value).and_then(|input| delivery(&input, "wh_1"));
    assert_eq!(shown(delivery_of(bytes, &delivery)), shown(thorough));
}

/// Every parser reads `bytes` as it reads the JSON value they hold, and the claims
/// handed back are the claims sent.
fn every_parser_reads_as_the_thorough_way(bytes: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    reads_as_the_thorough_way(bytes, &value, CustomAccessTokenInput::delivery);
    reads_as_the_thorough_way(bytes, &value, BeforeUserCreatedInput::delivery);
    reads_as_the_thorough_way(bytes, &value, AfterUserCreatedInput::delivery);
    reads_as_the_thorough_way(bytes, &value, AuthUsersChange::delivery);
    if let Some(claims) = value.get("claims") {
        let text = CustomAccessTokenInput::claims_text(bytes).unwrap();
        assert_eq!(&serde_json::from_str::<Value>(&text).unwrap(), claims);
    }
}

/// Any JSON value: scalars of every kind, nested arrays and objects.
pub(crate) fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        "[0-9a-f-]{36}|[0-9T:.Z+-]{0,30}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::from),
            btree_map(".{0,8}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The JSON pointers of every value inside `value`, itself included.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, item)| pointers(item, format!("{at}/{i}"), out)),
        Value::Object(fields) => fields.iter().for_each(|(key, item)| {
            let key = key.replace('~', "~0").replace('/', "~1");
            pointers(item, format!("{at}/{key}"), out)
        }),
        _ => {}
    }
    out.push(at);
}

proptest! {
    #[test]
    fn every_parser_answers_any_bytes(bytes in vec(any::<u8>(), 0..512)) {
        every_parser_answers(&bytes);
    }

    #[test]
    fn every_parser_answers_any_json(value in json()) {
        every_parser_answers(value.to_string().as_bytes());
        every_parser_reads_as_the_thorough_way(value.to_string().as_bytes());
    }

    #[test]
    fn every_parser_answers_a_fixture_with_one_value_replaced(
        fixture_at in any::<Index>(),
        field_at in any::<Index>(),
        replacement in json(),
    ) {
        let mut payload = fixture(FIXTURES[fixture_at.index(FIXTURES.len())]);
        let mut all = Vec::new();
        pointers(&payload, String::new(), &mut all);
        let pointer = &all[field_at.index(all.len())];
        *payload.pointer_mut(pointer).unwrap() = replacement;
        every_parser_answers(payload.to_string().as_bytes());
        every_parser_reads_as_the_thorough_way(payload.to_string().as_bytes());
        if let Some(claims) = payload.get("claims") {
            every_parser_answers(claims.to_string().as_bytes());
        }
    }
}
