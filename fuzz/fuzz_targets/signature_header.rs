//! The `webhook-signature` header: any text is either refused or accepted, never a
//! panic, and it is accepted exactly when one of its entries is the right signature.

#![no_main]

use libfuzzer_sys::fuzz_target;
use supahook::signature::{SignedHeaders, SigningKey, Verifier};
use supahook_fuzz::signing_vectors;

fuzz_target!(|header: &[u8]| {
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    // The first signing vector with its signature header replaced.
    let vector = &signing_vectors()[0];
    let key = SigningKey::parse(&vector.secrets[0]).expect("the fixture secret parses");
    let id = vector.header("webhook-id");
    let timestamp = vector.header("webhook-timestamp");
    let body = vector.body.as_bytes();
    let right = key.sign(id, timestamp.parse().unwrap(), body);
    let headers = SignedHeaders {
        id: Some(id),
        timestamp: Some(timestamp),
        signature: Some(header),
    };
    let accepted = Verifier::new(vec![key])
        .verify(headers, body, vector.verify_with_now)
        .is_ok();
    // Entries are separated by whitespace, and Supabase leaves a comma after each
    // but the last; base64 has one spelling of a tag, so nothing else may pass.
    let has_right_entry = header
        .split_whitespace()
        .any(|entry| entry.trim_end_matches(',') == right);
    assert_eq!(accepted, has_right_entry, "{header:?}");
});
