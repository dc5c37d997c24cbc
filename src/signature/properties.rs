//! Signing and verifying, for any key, id, timestamp and body.

use super::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// The body of the id and timestamp properties; its content does not matter.
const BODY: &[u8] = b"{}";

/// A key of any allowed length, made the way Supabase's secrets are written.
fn key() -> impl Strategy<Value = SigningKey> {
    vec(any::<u8>(), 24..=66)
        .prop_map(|bytes| SigningKey::parse(&format!("v1,whsec_{}", B64.encode(bytes))).unwrap())
}

/// `id` signed by `key` at `timestamp`, verified at that same time.
fn verify_signed(
    key: &SigningKey,
    signed: (&str, i64, &[u8]),
    sent: (&str, &str, &[u8]),
) -> Result<(), SignatureError> {
    let (id, timestamp, body) = signed;
    let signature = key.sign(id, timestamp, body);
    let headers = SignedHeaders {
        id: Some(sent.0),
        timestamp: Some(sent.1),
        signature: Some(&signature),
    };
    let verified = Verifier::new(vec![key.clone()]).verify(headers, sent.2, timestamp)?;
    assert_eq!((&*verified.webhook_id, verified.bytes), (sent.0, sent.2));
    Ok(())
}

proptest! {
    #[test]
    fn whatever_is_signed_verifies(
        key in key(),
        id in "[!-~].{0,39}",
        timestamp in any::<i64>(),
        body in vec(any::<u8>(), 0..2048),
    ) {
        let text = timestamp.to_string();
        prop_assert_eq!(verify_signed(&key, (&id, timestamp, &body), (&id, &text, &body)), Ok(()));
    }

    #[test]
    fn a_genuine_signature_verifies_anywhere_among_sixteen_entries(
        key in key(),
        forged in vec(vec(any::<u8>(), 32), 0..MAX_SIGNATURES),
        at in any::<Index>(),
        comma_joined in any::<bool>(),
    ) {
        let mut entries: Vec<String> =
            forged.iter().map(|tag| format!("v1,{}", B64.encode(tag))).collect();
        entries.insert(at.index(entries.len() + 1), key.sign("msg_1", 1_768_469_411, BODY));
        let header = entries.join(if comma_joined { ", " } else { " " });
        let headers = SignedHeaders {
            id: Some("msg_1"),
            timestamp: Some("1768469411"),
            signature: Some(&header),
        };
        let verified = Verifier::new(vec![key]).verify(headers, BODY, 1_768_469_411);
        prop_assert!(verified.is_ok(), "{:?}", verified);
    }

    #[test]
    fn a_header_of_more_than_sixteen_entries_is_refused_whatever_they_hold(
        key in key(),
        entries in vec("v1,[A-Za-z0-9+/]{0,43}=?", MAX_SIGNATURES + 1..64),
    ) {
        let header = entries.join(" ");
        let headers = SignedHeaders {
            id: Some("msg_1"),
            timestamp: Some("1768469411"),
            signature: Some(&header),
        };
        let verifier = Verifier::new(vec![key]);
        let refused = verifier.admit(headers, 1_768_469_411, TOLERANCE);
        let expected = if header.len() > MAX_SIGNATURE_HEADER_BYTES {
            SignatureError::SignatureHeaderTooLong(MAX_SIGNATURE_HEADER_BYTES)
        } else {
            SignatureError::TooManySignatures(MAX_SIGNATURES)
        };
        prop_assert_eq!(refused.unwrap_err(), expected);
    }

    #[test]
    fn any_changed_byte_of_a_signed_body_fails(
        key in key(),
        timestamp in any::<i64>(),
        body in vec(any::<u8>(), 1..2048),
        at in any::<Index>(),
        flip in 1..=u8::MAX,
    ) {
        let mut sent = body.clone();
        sent[at.index(body.len())] ^= flip;
        let text = timestamp.to_string();
        let result = verify_signed(&key, ("msg_1", timestamp, &body), ("msg_1", &text, &sent));
        prop_assert_eq!(result, Err(SignatureError::NoMatch));
    }

    #[test]
    fn any_changed_character_of_the_id_fails(
        key in key(),
        id in "[ -~]{1,40}",
        at in any::<Index>(),
        other in "[ -~]",
    ) {
        let at = at.index(id.len());
        prop_assume!(id[at..=at] != other);
        let sent = format!("{}{other}{}", &id[..at], &id[at + 1..]);
        let result = verify_signed(&key, (&id, 1_768_469_411, BODY), (&sent, "1768469411", BODY));
        prop_assert!(result.is_err());
    }

    #[test]
    fn any_changed_digit_of_the_timestamp_fails(
        key in key(),
        timestamp in any::<i64>(),
        at in any::<Index>(),
        digit in 0..10u8,
    ) {
        let text = timestamp.to_string();
        let at = text.rfind('-').map_or(0, |sign| sign + 1) + at.index(text.trim_start_matches('-').len());
        let sent = format!("{}{}{}", &text[..at], char::from(b'0' + digit), &text[at + 1..]);
        prop_assume!(sent != text);
        prop_assert!(verify_signed(&key, ("msg_1", timestamp, BODY), ("msg_1", &sent, BODY)).is_err());
    }
}
