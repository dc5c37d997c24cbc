//! The claims of an access token presented to the frontend sync endpoint: any JSON
//! value gives the delivery the endpoint applies, or a ParseError, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use supahook::events::{HookKind, claims_delivery};
use supahook_fuzz::check_delivery;

const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fuzz_target!(|body: &[u8]| {
    // The claims reach the parser as jsonwebtoken decodes them: one JSON value.
    let Ok(claims) = serde_json::from_slice(body) else {
        return;
    };
    if let Ok(delivery) = claims_delivery(&claims, DIGEST) {
        assert_eq!(delivery.hook, HookKind::UsersSync);
        assert_eq!(delivery.idempotency_key, format!("users-sync:{DIGEST}"));
        check_delivery(&delivery);
    }
});
