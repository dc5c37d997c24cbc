//! Bad requests to the frontend sync endpoint (genuine tokens whose claims cannot be
//! mirrored) and to the read and edit API.

use super::Case;
use super::requests::*;
use poem::http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// A sync with a genuine token whose claim at the JSON pointer `at` is `value`.
pub fn sync_with_claim(
    name: impl Into<String>,
    at: &str,
    value: Value,
    names: impl Into<String>,
) -> Case {
    let claims = set(token_claims(&Uuid::new_v4().to_string()), at, value);
    Case::new(
        name,
        sync(&token(&claims), None),
        422,
        "invalid_payload",
        names,
    )
}

fn bad_parameter(name: &'static str, request: Request, names: &'static str) -> Case {
    Case::new(name, request, 400, "invalid_parameter", names)
}

fn get(path: &str) -> Request {
    admin(Method::GET, path, Vec::new())
}

pub fn cases(known_user: &str) -> Vec<Case> {
    let edit = |body: Vec<u8>| edit_profile(known_user, body);
    let json_edit = |body: Value| edit(body.to_string().into_bytes());
    vec![
        sync_with_claim(
            "a token whose sub is not a UUID",
            "/sub",
            json!("'; DROP TABLE users; --"),
            "token claim sub",
        ),
        sync_with_claim(
            "a token whose iat is beyond 64 bits",
            "/iat",
            json!(1e20),
            "token claim iat",
        ),
        sync_with_claim(
            "a token with a NUL character in its metadata",
            "/user_metadata/first_name",
            json!("Gr\u{0}ace"),
            "token claim user_metadata.first_name: contains a NUL character",
        ),
        bad_parameter(
            "a user id that is not a UUID",
            get("/v1/users/not-a-uuid"),
            "id: ",
        ),
        bad_parameter(
            "a profile id that is SQL",
            edit_profile("%27%3B%20DROP%20TABLE%20users%3B%20--", b"{}".to_vec()),
            "id: ",
        ),
        bad_parameter(
            "a users cursor that is not a UUID",
            get("/v1/users?cursor=zzz"),
            "cursor: ",
        ),
        bad_parameter(
            "an events cursor that was never issued",
            get("/v1/events?cursor=bm90LWEtY3Vyc29y"),
            "cursor: ",
        ),
        Case::new(
            "a page of no users",
            get("/v1/users?limit=0"),
            400,
            "invalid_parameter",
            "limit",
        ),
        Case::new(
            "a page size beyond 64 bits",
            get("/v1/users?limit=99999999999999999999"),
            400,
            "invalid_parameter",
            "limit",
        ),
        Case::new(
            "a time that is not a time",
            get("/v1/users?updated_since=yesterday"),
            400,
            "invalid_parameter",
            "updated_since",
        ),
        Case::new(
            "an unknown hook",
            get("/v1/events?hook=%27%3B%20DROP"),
            400,
            "invalid_parameter",
            "hook",
        ),
        Case::new(
            "a display name of 201 characters",
            json_edit(json!({"display_name": "é".repeat(201)})),
            422,
            "invalid_payload",
            "display_name: longer than 200 characters",
        ),
        Case::new(
            "settings that are not an object",
            json_edit(json!({"settings": "'; DROP TABLE profiles; --"})),
            422,
            "invalid_payload",
            "settings",
        ),
        Case::new(
            "an edit in invalid UTF-8",
            edit(b"{\"display_name\": \"\xff\"}".to_vec()),
            400,
            "invalid_json",
            "invalid unicode code point",
        ),
        Case::new(
            "an edit nested 10,000 deep",
            edit(splice(
                json!({"settings": {"a": 1}}),
                "/settings/a",
                &nested(10_000),
            )),
            400,
            "invalid_json",
            "recursion limit exceeded",
        ),
        Case::new(
            "an edit of 64 KiB and 1 byte",
            edit(padded(EDIT_LIMIT + 1).into_bytes()),
            413,
            "payload_too_large",
            "larger than 64 KiB",
        ),
        Case::new(
            "an edit naming a field it may not set",
            json_edit(json!({"email": "mallory@example.com"})),
            422,
            "invalid_payload",
            "email",
        ),
        Case::new(
            "an edit of a user never mirrored",
            edit_profile(
                &Uuid::new_v4().to_string(),
                b"{\"is_onboarded\": true}".to_vec(),
            ),
            404,
            "not_found",
            "no user with id",
        ),
    ]
}
