use super::events::*;
use super::tally::*;
use crate::signature::SigningKey;
use serde_json::Value;
use std::time::Duration;

const BODY: &str = include_str!("../../../tests/fixtures/custom-access-token.json");

fn one_line(value: &str) -> String {
    serde_json::to_string(&serde_json::from_str::<Value>(value).unwrap()).unwrap()
}

#[test]
fn a_bare_body_is_sent_byte_for_byte_to_the_hook_named_in_its_metadata() {
    let line = one_line(BODY);

    let events = parse_events(&format!("{line}\n\n"), None, false).unwrap();

    assert_eq!(events.len(), 1);
    assert_eq!(events[0].hook, "custom-access-token");
    assert_eq!(events[0].body, line.as_bytes());
}

#[test]
fn a_wrapped_line_names_its_hook_and_a_db_payload_is_recognised() {
    let db = one_line(include_str!(
        "../../../tests/fixtures/db-delete-auth-users.json"
    ));
    let text = format!("{{\"hook\": \"before-user-created\", \"body\": {{\"a\": 1}}}}\n{db}\n");

    let events = parse_events(&text, None, false).unwrap();

    assert_eq!(events[0].hook, "before-user-created");
    assert_eq!(events[0].body, br#"{"a":1}"#);
    assert_eq!(events[1].hook, "auth-users");
}

#[test]
fn the_same_line_gets_the_same_webhook_id_unless_new_ids_is_asked() {
    let line = one_line(BODY);
    let text = format!("{line}\n{line}\n");

    let same = parse_events(&text, None, false).unwrap();
    let fresh = parse_events(&text, None, true).unwrap();

    assert_eq!(same[0].webhook_id, same[1].webhook_id);
    assert_ne!(fresh[0].webhook_id, fresh[1].webhook_id);
    let uuid =
        |e: &Event| serde_json::from_slice::<Value>(&e.body).unwrap()["metadata"]["uuid"].clone();
    assert_ne!(uuid(&fresh[0]), uuid(&fresh[1]));
    assert_ne!(uuid(&fresh[0]), uuid(&same[0]));
}

#[test]
fn bad_lines_are_reported_with_their_number() {
    let error = parse_events("{}\n", None, false).unwrap_err();
    assert_eq!(error.line, 1);
    assert!(error.reason.contains("--hook"), "{error}");

    let error = parse_events("\n{not json\n", Some("auth-users"), false).unwrap_err();
    assert_eq!(error.line, 2);

    let error = parse_events("{}\n", Some("nope"), false).unwrap_err();
    assert!(error.reason.contains("unknown hook"), "{error}");
}

#[test]
fn the_curl_command_quotes_the_body_and_carries_a_valid_signature() {
    let key = SigningKey::parse("v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=").unwrap();
    let event = Event {
        hook: "auth-users".into(),
        body: br#"{"name":"O'Brien"}"#.to_vec(),
        webhook_id: "msg_1".into(),
    };

    let command = curl("http://127.0.0.1:8080/", &event, &key, 1_700_000_000);

    assert!(
        command.starts_with("curl -sS -X POST 'http://127.0.0.1:8080/hooks/auth-users'"),
        "{command}"
    );
    assert!(
        command.contains(r#"--data-binary '{"name":"O'\''Brien"}'"#),
        "{command}"
    );
    let signature = key.sign("msg_1", 1_700_000_000, &event.body);
    assert!(
        command.contains(&format!("'webhook-signature: {signature}'")),
        "{command}"
    );
}

#[test]
fn answers_are_classified_by_status_and_outcome() {
    let created = Verdict::of(200, Some("created"), b"");
    let missing = Verdict::of(200, None, b"");

    assert_eq!(created, Verdict::Answered("created".into()));
    assert_eq!(missing, Verdict::Answered("answered".into()));
}

#[test]
fn a_refusal_carries_the_servers_own_reason() {
    let json = br#"{"error":{"http_code":401,"code":"signature_mismatch","message":"no match"}}"#;

    let rejected = Verdict::of(401, None, json);
    let unavailable = Verdict::of(503, None, b"upstream down\n");
    let empty = Verdict::of(502, None, b"");

    assert_eq!(
        rejected,
        Verdict::Rejected("401 signature_mismatch: no match".into())
    );
    assert_eq!(unavailable, Verdict::Error("503: upstream down".into()));
    assert_eq!(empty, Verdict::Error("502 with an empty body".into()));
}

#[test]
fn a_tally_keeps_the_first_distinct_reasons_and_counts_the_rest() {
    let mut tally = Tally::default();
    for n in 0..8 {
        tally.record(Verdict::Rejected(format!("reason {n}")), Duration::ZERO);
        tally.record(Verdict::Rejected("reason 0".into()), Duration::ZERO);
    }

    let (reasons, others) = tally.reasons();

    assert_eq!(reasons.len(), REASONS_SHOWN);
    assert_eq!(reasons[0], ("reason 0".to_owned(), 9));
    assert_eq!(reasons[1], ("reason 1".to_owned(), 1));
    assert_eq!(others, 3);
    assert_eq!(tally.failed(), 16);
}

#[test]
fn spooled_deliveries_are_not_settled_and_refused_ones_are() {
    let mut tally = Tally::default();
    for outcome in ["created", "refused", "duplicate", "stale"] {
        tally.record(Verdict::Answered(outcome.into()), Duration::ZERO);
    }
    assert!(tally.all_settled());

    tally.record(Verdict::Answered("spooled".into()), Duration::ZERO);

    assert!(!tally.all_settled());
    assert_eq!((tally.settled(), tally.count("spooled")), (4, 1));
}

#[test]
fn percentiles_pick_the_nearest_rank() {
    let mut tally = Tally::default();
    for ms in 1..=100 {
        tally.record(
            Verdict::Answered("created".into()),
            Duration::from_millis(ms),
        );
    }
    tally.record(Verdict::Rejected("401".into()), Duration::from_millis(1000));

    assert_eq!(tally.percentile(50.0), Duration::from_millis(51));
    assert_eq!(tally.percentile(99.0), Duration::from_millis(100));
    assert_eq!(
        (tally.sent, tally.count("created"), tally.failed()),
        (101, 100, 1)
    );
}
