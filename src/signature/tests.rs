use super::*;
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../tests/fixtures/signing-vectors.json")).unwrap()
}

fn vector(name: &str) -> Value {
    vectors()["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap()
        .clone()
}

fn verifier_for(v: &Value) -> Verifier {
    let secrets: Vec<&str> = v["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    Verifier::new(SigningKey::parse_list(&secrets.join("|")).unwrap())
}

fn headers(v: &Value) -> SignedHeaders<'_> {
    SignedHeaders {
        id: v["headers"]["webhook-id"].as_str(),
        timestamp: v["headers"]["webhook-timestamp"].as_str(),
        signature: v["headers"]["webhook-signature"].as_str(),
    }
}

#[test]
fn the_upstream_known_answer_is_reproduced() {
    let kat = &vectors()["upstream_known_answer_test"];
    let key = SigningKey::parse(&format!("v1,{}", kat["secret"].as_str().unwrap())).unwrap();
    let sig = key.sign(
        kat["msg_id"].as_str().unwrap(),
        kat["timestamp"].as_i64().unwrap(),
        kat["body"].as_str().unwrap().as_bytes(),
    );
    assert_eq!(sig, kat["expected"].as_str().unwrap());
}

#[test]
fn every_supabase_vector_signs_and_verifies() {
    for v in vectors()["vectors"].as_array().unwrap() {
        let verifier = verifier_for(v);
        let body = v["body"].as_str().unwrap().as_bytes();
        let now = v["verify_with_now"].as_i64().unwrap();
        let verified = verifier
            .verify(headers(v), body, now)
            .unwrap_or_else(|e| panic!("{}: {e}", v["name"]));
        assert_eq!(
            &*verified.webhook_id,
            v["headers"]["webhook-id"].as_str().unwrap()
        );

        let id = v["headers"]["webhook-id"].as_str().unwrap();
        let ts: i64 = v["headers"]["webhook-timestamp"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let expected: Vec<&str> = v["expected_signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        for (key, want) in verifier.keys.iter().zip(expected) {
            assert_eq!(key.sign(id, ts, body), want, "{}", v["name"]);
        }
    }
}

#[test]
fn each_secret_alone_verifies_the_comma_joined_header() {
    let v = vector("two-secrets-rotation-send-sms");
    let body = v["body"].as_str().unwrap().as_bytes();
    let now = v["verify_with_now"].as_i64().unwrap();
    for secret in v["secrets"].as_array().unwrap() {
        let only = Verifier::new(vec![SigningKey::parse(secret.as_str().unwrap()).unwrap()]);
        assert!(only.verify(headers(&v), body, now).is_ok(), "{secret}");
    }
}

#[test]
fn a_tampered_body_is_rejected() {
    let v = vector("single-secret-before-user-created");
    let mut body = v["body"].as_str().unwrap().as_bytes().to_vec();
    body.push(b' ');
    let now = v["verify_with_now"].as_i64().unwrap();
    let err = verifier_for(&v)
        .verify(headers(&v), &body, now)
        .unwrap_err();
    assert_eq!(err, SignatureError::NoMatch);
}

#[test]
fn a_timestamp_past_the_tolerance_is_rejected_both_ways() {
    let v = vector("single-secret-before-user-created");
    let body = v["body"].as_str().unwrap().as_bytes();
    let ts: i64 = v["headers"]["webhook-timestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let verifier = verifier_for(&v);
    for now in [ts + 301, ts - 301] {
        let err = verifier.verify(headers(&v), body, now).unwrap_err();
        assert_eq!(err, SignatureError::TimestampOutOfTolerance(300));
    }
    assert!(verifier.verify(headers(&v), body, ts + 300).is_ok());
    assert!(verifier.verify(headers(&v), body, ts - 300).is_ok());
}

#[test]
fn an_extreme_timestamp_is_rejected_without_overflow() {
    let v = vector("single-secret-before-user-created");
    let body = v["body"].as_str().unwrap().as_bytes();
    let now = v["verify_with_now"].as_i64().unwrap();
    for extreme in [i64::MIN, i64::MAX, -1] {
        let text = extreme.to_string();
        let mut h = headers(&v);
        h.timestamp = Some(&text);
        let err = verifier_for(&v).verify(h, body, now).unwrap_err();
        assert_eq!(
            err,
            SignatureError::TimestampOutOfTolerance(300),
            "{extreme}"
        );
    }
}

#[test]
fn the_wrong_secret_is_rejected() {
    let v = vector("escaped-and-utf8-body-64-byte-secret");
    let other = vector("single-secret-before-user-created");
    let body = v["body"].as_str().unwrap().as_bytes();
    let now = v["verify_with_now"].as_i64().unwrap();
    let err = verifier_for(&other)
        .verify(headers(&v), body, now)
        .unwrap_err();
    assert_eq!(err, SignatureError::NoMatch);
}

#[test]
fn missing_headers_are_named() {
    let v = vector("single-secret-before-user-created");
    let body = v["body"].as_str().unwrap().as_bytes();
    let now = v["verify_with_now"].as_i64().unwrap();
    let verifier = verifier_for(&v);
    let mut h = headers(&v);
    h.signature = None;
    assert_eq!(
        verifier.verify(h, body, now).unwrap_err(),
        SignatureError::MissingHeader("webhook-signature")
    );
    let mut h = headers(&v);
    h.timestamp = Some("yesterday");
    assert_eq!(
        verifier.verify(h, body, now).unwrap_err(),
        SignatureError::BadTimestamp
    );
}

#[test]
fn a_blank_webhook_id_counts_as_missing_even_when_signed() {
    let key = SigningKey::parse("v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=").unwrap();
    for blank in ["", " "] {
        let signature = key.sign(blank, 1_768_469_411, b"{}");
        let headers = SignedHeaders {
            id: Some(blank),
            timestamp: Some("1768469411"),
            signature: Some(&signature),
        };
        let err = Verifier::new(vec![key.clone()])
            .verify(headers, b"{}", 1_768_469_411)
            .unwrap_err();
        assert_eq!(
            err,
            SignatureError::MissingHeader("webhook-id"),
            "{blank:?}"
        );
    }
}

#[test]
fn a_bearer_delivery_with_a_blank_webhook_id_is_known_by_its_body() {
    let verified = admit_bearer("Bearer t0ken", "t0ken", Some(" "))
        .and_then(|admitted| admitted.verify(b"{}"))
        .unwrap();

    assert!(
        verified.webhook_id.starts_with("sha256:"),
        "{}",
        verified.webhook_id
    );
}

/// The genuine `webhook-signature` of a single-secret vector.
fn genuine_signature() -> String {
    let v = vector("single-secret-before-user-created");
    v["headers"]["webhook-signature"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The single-secret vector sent with `signature` as its `webhook-signature` header,
/// admitted (`body: false`) or also verified with its body.
fn check_with_signature(signature: &str, body: bool) -> Result<(), SignatureError> {
    let v = vector("single-secret-before-user-created");
    let now = v["verify_with_now"].as_i64().unwrap();
    let mut h = headers(&v);
    h.signature = Some(signature);
    let verifier = verifier_for(&v);
    let admitted = verifier.admit(h, now, TOLERANCE)?;
    if body {
        admitted.verify(v["body"].as_str().unwrap().as_bytes())?;
    }
    Ok(())
}

#[test]
fn non_v1_and_garbage_entries_are_ignored_not_fatal() {
    let header = format!("v1a,AAAA, v1,!!notbase64!!, {}", genuine_signature());
    assert_eq!(check_with_signature(&header, true), Ok(()));
}

#[test]
fn malformed_secrets_are_refused() {
    assert_eq!(
        SigningKey::parse("whsec_abc").unwrap_err(),
        SecretError::BadPrefix
    );
    assert_eq!(
        SigningKey::parse("v1,aaaaaaaaaa").unwrap_err(),
        SecretError::BadPrefix
    );
    assert_eq!(
        SigningKey::parse("v1,whsec_a").unwrap_err(),
        SecretError::BadBase64
    );
    assert_eq!(
        SigningKey::parse("v1,whsec_YWJj").unwrap_err(),
        SecretError::BadLength(3)
    );
}

#[test]
fn a_key_never_prints_its_secret() {
    let key = SigningKey::parse("v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=").unwrap();
    let printed = format!("{key:?} {:?}", Verifier::new(vec![key.clone()]));
    assert!(!printed.contains("x9S5"), "{printed}");
}

#[test]
fn a_genuine_signature_among_sixteen_entries_verifies_in_either_form() {
    let forged: Vec<String> = (0..15u8)
        .map(|n| format!("v1,{}", B64.encode([n; 32])))
        .collect();
    for separator in [" ", ", "] {
        let header = [forged.join(separator), genuine_signature()].join(separator);
        assert_eq!(check_with_signature(&header, true), Ok(()), "{separator:?}");
    }
}

#[test]
fn a_header_of_seventeen_entries_is_refused_before_the_body_is_needed() {
    let header = vec![genuine_signature(); MAX_SIGNATURES + 1].join(" ");

    let err = check_with_signature(&header, false).unwrap_err();

    assert_eq!(err, SignatureError::TooManySignatures(MAX_SIGNATURES));
    assert!(err.to_string().contains("more than 16 entries"), "{err}");
}

#[test]
fn a_header_longer_than_four_kib_is_refused_before_the_body_is_needed() {
    let padding = "A".repeat(MAX_SIGNATURE_HEADER_BYTES);
    let header = format!("{} v1,{padding}", genuine_signature());

    let err = check_with_signature(&header, false).unwrap_err();

    assert_eq!(
        err,
        SignatureError::SignatureHeaderTooLong(MAX_SIGNATURE_HEADER_BYTES)
    );
}

#[test]
fn a_timestamp_out_of_tolerance_is_refused_before_the_body_is_needed() {
    let v = vector("single-secret-before-user-created");
    let now = v["verify_with_now"].as_i64().unwrap();

    let err = verifier_for(&v)
        .admit(headers(&v), now + 301, TOLERANCE)
        .unwrap_err();

    assert_eq!(err, SignatureError::TimestampOutOfTolerance(300));
}

#[test]
fn an_admitted_delivery_prints_no_signature() {
    let v = vector("single-secret-before-user-created");
    let now = v["verify_with_now"].as_i64().unwrap();
    let verifier = verifier_for(&v);

    let admitted = verifier.admit(headers(&v), now, TOLERANCE).unwrap();

    let printed = format!("{admitted:?}");
    let tag = genuine_signature().split_off(3);
    assert!(!printed.contains(&tag[..8]), "{printed}");
}
