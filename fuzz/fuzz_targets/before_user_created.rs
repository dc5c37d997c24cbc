//! The before-user-created payload: any verified body parses into a delivery or is
//! refused with a ParseError, never a panic; the sign-up policy reads its email.

#![no_main]

use libfuzzer_sys::fuzz_target;
use supahook::events::{self, BeforeUserCreatedInput};
use supahook::policy::SignUpPolicy;
use supahook::signature::VerifiedBody;
use supahook_fuzz::{WEBHOOK_ID, check_delivery};

fuzz_target!(|body: &[u8]| {
    let verified = VerifiedBody {
        webhook_id: WEBHOOK_ID.into(),
        bytes: body,
    };
    let Ok(input) = events::parse::<BeforeUserCreatedInput>(&verified) else {
        return;
    };
    let policy = SignUpPolicy::new(vec!["example.com".into()], vec!["spam.example.com".into()]);
    let _ = policy.check(input.email().as_deref());
    if let Ok(delivery) = input.delivery(&verified.webhook_id) {
        assert_eq!(delivery.webhook_id, WEBHOOK_ID);
        check_delivery(&delivery);
    }
});
