//! The `v1,whsec_<base64>` secrets setting (several joined by `|`): any text is
//! refused or gives keys, never a panic, and every key it gives signs deliveries
//! that verify, and reads back from its own text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use supahook::signature::{SignedHeaders, SigningKey, Verifier};

const ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const NOW: i64 = 1_768_469_441;
const BODY: &[u8] = b"{}";

fuzz_target!(|setting: &[u8]| {
    let Ok(setting) = std::str::from_utf8(setting) else {
        return;
    };
    let _ = SigningKey::parse(setting);
    let Ok(keys) = SigningKey::parse_list(setting) else {
        return;
    };
    assert!(keys.len() <= setting.split('|').count());
    let timestamp = NOW.to_string();
    for key in &keys {
        let signature = key.sign(ID, NOW, BODY);
        let again = SigningKey::parse(key.expose_text()).expect("a key reads back from its text");
        assert_eq!(again.sign(ID, NOW, BODY), signature);
        let headers = SignedHeaders {
            id: Some(ID),
            timestamp: Some(&timestamp),
            signature: Some(&signature),
        };
        let verifier = Verifier::new(keys.clone());
        assert!(verifier.verify(headers, BODY, NOW).is_ok(), "{signature}");
    }
});
