//! The auth-users (Database Webhook on auth.users) payload: any verified body parses into a delivery or is refused
//! with a ParseError, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use supahook::events::AuthUsersChange;
use supahook_fuzz::{WEBHOOK_ID, delivery_of};

fuzz_target!(|body: &[u8]| {
    let _ = delivery_of::<AuthUsersChange>(body, WEBHOOK_ID, AuthUsersChange::delivery);
});
