//! Bad requests refused before their body is read: Standard Webhooks headers that are
//! missing, repeated, garbled or too long, timestamps that are not times, and wrong
//! credentials.

use super::Case;
use super::requests::*;
use crate::support::now;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use poem::http::Method;

const NO_MATCH: &str = "no signature in the webhook-signature header matches";
const NOT_A_TIME: &str = "webhook-timestamp header is not a Unix time";
const TOO_FAR: &str = "webhook-timestamp is too far from the server clock";

fn signature_case(name: &'static str, request: Request, names: &'static str) -> Case {
    Case::new(name, request, 401, "invalid_signature", names)
}

/// A good body for the hook at `path`.
fn body(path: &str) -> Vec<u8> {
    good(path).body
}

/// A genuine delivery whose `webhook-signature` is replaced by `signature`.
fn with_signature(path: &str, signature: impl Into<Vec<u8>>) -> Request {
    signed(path, body(path)).with("webhook-signature", signature)
}

/// A genuine delivery whose `webhook-signature` is `garble`d from the genuine
/// base64 HMAC (without its `v1,`).
fn garbled(path: &str, garble: impl Fn(&str) -> String) -> Request {
    let request = signed(path, body(path));
    let genuine = request.header("webhook-signature");
    let tag = genuine.strip_prefix("v1,").expect("a v1 signature");
    let signature = garble(tag);
    request.with("webhook-signature", signature)
}

/// A genuine delivery with a `forged` copy of its `header` sent before the signed one.
fn forged_first(path: &str, header: &'static str, forged: &str) -> Request {
    let request = signed(path, body(path));
    let signed_value = request.header(header);
    request.with(header, forged).also(header, signed_value)
}

/// A genuine delivery whose `webhook-signature` holds `forged` made-up entries before
/// the genuine one.
pub fn among_forged(path: &str, forged: usize) -> Request {
    let request = signed(path, body(path));
    let genuine = request.header("webhook-signature");
    let mut entries: Vec<String> = (0..forged)
        .map(|n| format!("v1,{}", B64.encode([n as u8; 32])))
        .collect();
    entries.push(genuine);
    request.with("webhook-signature", entries.join(" "))
}

/// A genuine delivery whose `webhook-timestamp` is replaced by `timestamp`.
fn with_timestamp(path: &str, timestamp: &str) -> Request {
    signed(path, body(path)).with("webhook-timestamp", timestamp)
}

pub fn cases() -> Vec<Case> {
    let ten_years = 10 * 365 * 24 * 3600;
    vec![
        signature_case(
            "a delivery without webhook-id",
            signed(CUSTOM_ACCESS_TOKEN, body(CUSTOM_ACCESS_TOKEN)).without("webhook-id"),
            "the webhook-id header is missing",
        ),
        signature_case(
            "a delivery without webhook-timestamp",
            signed(BEFORE_USER_CREATED, body(BEFORE_USER_CREATED)).without("webhook-timestamp"),
            "the webhook-timestamp header is missing",
        ),
        signature_case(
            "a delivery without webhook-signature",
            signed(AFTER_USER_CREATED, body(AFTER_USER_CREATED)).without("webhook-signature"),
            "the webhook-signature header is missing",
        ),
        signature_case(
            "a Database Webhook with neither a signature nor a bearer token",
            unsigned(AUTH_USERS, body(AUTH_USERS)),
            "neither a webhook-signature header nor an Authorization bearer token",
        ),
        signature_case(
            "a Database Webhook with the wrong bearer token",
            unsigned(AUTH_USERS, body(AUTH_USERS)).with("authorization", "Bearer not-the-token"),
            "the bearer token is not valid",
        ),
        signature_case(
            "two webhook-signature headers, both forged",
            with_signature(AFTER_USER_CREATED, "v1,AAAA").also("webhook-signature", "v1,BBBB"),
            NO_MATCH,
        ),
        signature_case(
            "a forged webhook-id header before the signed one",
            forged_first(BEFORE_USER_CREATED, "webhook-id", "msg_forged"),
            NO_MATCH,
        ),
        signature_case(
            "a garbled webhook-timestamp header before the signed one",
            forged_first(AUTH_USERS, "webhook-timestamp", "soon"),
            NOT_A_TIME,
        ),
        signature_case(
            "the genuine signature under version v2",
            garbled(CUSTOM_ACCESS_TOKEN, |tag| format!("v2,{tag}")),
            NO_MATCH,
        ),
        signature_case(
            "a signature of the wrong length",
            with_signature(BEFORE_USER_CREATED, format!("v1,{}", B64.encode([7u8; 31]))),
            NO_MATCH,
        ),
        signature_case(
            "a signature that is not base64",
            with_signature(AFTER_USER_CREATED, "v1,!!not*base64??"),
            NO_MATCH,
        ),
        signature_case(
            "a signature without a version",
            garbled(AUTH_USERS, str::to_owned),
            NO_MATCH,
        ),
        signature_case(
            "a signature header that is not text",
            with_signature(CUSTOM_ACCESS_TOKEN, b"v1,\xff\xfe".to_vec()),
            "the webhook-signature header is missing",
        ),
        Case::new(
            "a webhook-signature header of 17 entries, one of them genuine",
            among_forged(BEFORE_USER_CREATED, 16),
            400,
            "invalid_signature_header",
            "the webhook-signature header holds more than 16 entries",
        ),
        Case::new(
            "a webhook-signature header of 4097 bytes",
            with_signature(AUTH_USERS, format!("v1,{}", "A".repeat(4094))),
            400,
            "invalid_signature_header",
            "the webhook-signature header is longer than 4096 bytes",
        ),
        signature_case(
            "a timestamp that is not a number",
            with_timestamp(CUSTOM_ACCESS_TOKEN, "yesterday"),
            NOT_A_TIME,
        ),
        signature_case(
            "a timestamp with a fraction",
            with_timestamp(BEFORE_USER_CREATED, &format!("{}.5", now())),
            NOT_A_TIME,
        ),
        signature_case(
            "a timestamp beyond 64 bits",
            with_timestamp(AFTER_USER_CREATED, "99999999999999999999"),
            NOT_A_TIME,
        ),
        signature_case(
            "an empty timestamp",
            with_timestamp(AUTH_USERS, ""),
            NOT_A_TIME,
        ),
        signature_case(
            "a negative timestamp, signed",
            signed_at(CUSTOM_ACCESS_TOKEN, body(CUSTOM_ACCESS_TOKEN), -1),
            TOO_FAR,
        ),
        signature_case(
            "the smallest 64-bit timestamp, signed",
            signed_at(AUTH_USERS, body(AUTH_USERS), i64::MIN),
            TOO_FAR,
        ),
        signature_case(
            "a timestamp ten years ahead, signed",
            signed_at(
                BEFORE_USER_CREATED,
                body(BEFORE_USER_CREATED),
                now() + ten_years,
            ),
            TOO_FAR,
        ),
        Case::new(
            "a sync with a token that is not a JWT",
            sync("'; DROP TABLE users; --", None),
            401,
            "invalid_token",
            "not a JWT",
        ),
        Case::new(
            "a sync with an empty bearer token",
            sync("", None),
            401,
            "invalid_token",
            "not a JWT",
        ),
        Case::new(
            "a sync without a token",
            sync("", None).without("authorization"),
            401,
            "unauthorized",
            "the Authorization header is missing",
        ),
        Case::new(
            "a sync with a Basic authorization",
            sync("", None).with("authorization", "Basic YWRtaW46YWRtaW4="),
            401,
            "unauthorized",
            "the Authorization header is missing or is not `Bearer <token>`",
        ),
        Case::new(
            "the read API without a token",
            admin(Method::GET, USERS, Vec::new()).without("authorization"),
            401,
            "unauthorized",
            "the Authorization header is missing",
        ),
        Case::new(
            "the read API with a wrong token",
            admin(Method::GET, USERS, Vec::new()).with("authorization", "Bearer nope"),
            401,
            "unauthorized",
            "the bearer token is not valid",
        ),
    ]
}
