//! The after-user-created payload: any verified body parses into a delivery or is refused
//! with a ParseError, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use supahook::events::AfterUserCreatedInput;
use supahook_fuzz::{WEBHOOK_ID, delivery_of};

fuzz_target!(|body: &[u8]| {
    let _ = delivery_of::<AfterUserCreatedInput>(body, WEBHOOK_ID, AfterUserCreatedInput::delivery);
});
