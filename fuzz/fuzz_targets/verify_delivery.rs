//! A whole delivery: arbitrary headers and body go through the signature (or bearer
//! token) check and, once accepted, through every payload parser. Nothing panics, a
//! forged signature is never accepted, and the same delivery signed with a
//! configured secret is accepted whenever its timestamp is fresh and its id not blank.

#![no_main]

use libfuzzer_sys::fuzz_target;
use supahook::signature::{SignedHeaders, SigningKey, TOLERANCE, Verifier, verify_bearer};
use supahook_fuzz::{Request, parse_as_every_payload, signing_vectors};

/// The bearer token a dashboard webhook presents in the seeds.
const BEARER_TOKEN: &str = "fuzz-bearer-token";

fuzz_target!(|data: &[u8]| {
    let request = Request::parse(data);
    let mut secrets: Vec<&str> = signing_vectors()
        .iter()
        .flat_map(|v| v.secrets.iter().map(String::as_str))
        .collect();
    secrets.sort_unstable();
    secrets.dedup();
    let keys: Vec<SigningKey> = secrets
        .iter()
        .map(|s| SigningKey::parse(s).unwrap())
        .collect();
    let verifier = Verifier::new(keys.clone());
    let now: i64 = request
        .header("now")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let headers = SignedHeaders {
        id: request.header("webhook-id"),
        timestamp: request.header("webhook-timestamp"),
        signature: request.header("webhook-signature"),
    };
    let body = request.body;

    if let Ok(verified) = verifier.verify(headers, body, now) {
        assert_eq!(Some(&*verified.webhook_id), headers.id);
        assert_eq!(verified.bytes, body);
        parse_as_every_payload(&verified);
    }

    if let (Some(id), Some(timestamp)) = (headers.id, headers.timestamp)
        && let Ok(sent_at) = timestamp.trim().parse::<i64>()
    {
        let signed = keys[keys.len() - 1].sign(id, sent_at, body);
        let signature = format!("{} {signed}", headers.signature.unwrap_or_default());
        let resigned = SignedHeaders {
            signature: Some(&signature),
            ..headers
        };
        let result = verifier.verify(resigned, body, now);
        // A blank id is refused: it would be the idempotency key of every such delivery.
        let acceptable = now.abs_diff(sent_at) <= TOLERANCE.as_secs() && !id.trim().is_empty();
        // The timestamp is signed as sent; `+5` or `05` reads as 5 but signs differently.
        let as_signed = timestamp.trim() == sent_at.to_string();
        match (acceptable, as_signed) {
            (false, _) => assert!(result.is_err()),
            (true, true) => parse_as_every_payload(&result.expect("a fresh signed delivery")),
            (true, false) => {}
        }
    }

    if let Some(authorization) = request.header("authorization")
        && let Ok(verified) = verify_bearer(authorization, BEARER_TOKEN, headers.id, body)
    {
        parse_as_every_payload(&verified);
    }
});
