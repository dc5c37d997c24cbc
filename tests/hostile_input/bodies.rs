//! Bad bodies under genuine signatures: bytes that are not JSON, JSON that is not a
//! payload, ids that are not UUIDs, bodies too large or not JSON at all.

use super::Case;
use super::requests::*;
use serde_json::{Value, json};
use uuid::Uuid;

fn invalid_json(name: &'static str, path: &str, body: Vec<u8>, names: &'static str) -> Case {
    Case::new(name, signed(path, body), 400, "invalid_json", names)
}

pub fn invalid_payload(
    name: impl Into<String>,
    path: &str,
    body: Value,
    names: impl Into<String>,
) -> Case {
    let body = body.to_string().into_bytes();
    Case::new(name, signed(path, body), 422, "invalid_payload", names)
}

fn unsupported(name: &'static str, request: Request) -> Case {
    let names = "Content-Type: application/json";
    Case::new(name, request, 415, "unsupported_media_type", names)
}

pub fn id() -> String {
    Uuid::new_v4().to_string()
}

pub fn cases() -> Vec<Case> {
    let sync_body = |body: Vec<u8>| Request {
        body,
        ..sync(&token(&token_claims(&id())), None).with("content-type", "application/json")
    };
    vec![
        invalid_json(
            "invalid UTF-8 in a string",
            CUSTOM_ACCESS_TOKEN,
            splice(
                custom_access_token(&id()),
                "/claims/email",
                b"\"ada\xff\xfe@example.com\"",
            ),
            "invalid unicode code point",
        ),
        invalid_json(
            "a lone leading surrogate",
            BEFORE_USER_CREATED,
            splice(
                before_user_created(&id()),
                "/user/email",
                br#""\ud800@example.com""#,
            ),
            "hex escape",
        ),
        invalid_json(
            "a lone trailing surrogate",
            AUTH_USERS,
            splice(
                auth_users_insert(&id()),
                "/record/raw_user_meta_data/full_name",
                br#""\udc00""#,
            ),
            "surrogate",
        ),
        invalid_json(
            "arrays nested 10,000 deep",
            AFTER_USER_CREATED,
            splice(
                after_user_created(&id()),
                "/user/user_metadata/full_name",
                &nested(10_000),
            ),
            "recursion limit exceeded",
        ),
        invalid_json(
            "a number beyond the range of a double",
            CUSTOM_ACCESS_TOKEN,
            splice(custom_access_token(&id()), "/claims/iat", b"1e400"),
            "number out of range",
        ),
        invalid_json(
            "truncated JSON",
            AUTH_USERS,
            auth_users_insert(&id()).to_string().as_bytes()[..100].to_vec(),
            "EOF while parsing",
        ),
        invalid_json(
            "garbage after the JSON",
            BEFORE_USER_CREATED,
            [before_user_created(&id()).to_string().as_bytes(), b" DROP"].concat(),
            "trailing characters",
        ),
        invalid_json(
            "an empty body",
            AFTER_USER_CREATED,
            Vec::new(),
            "EOF while parsing",
        ),
        invalid_payload(
            "a JSON null",
            CUSTOM_ACCESS_TOKEN,
            Value::Null,
            "invalid type: null",
        ),
        invalid_payload(
            "a JSON array",
            AUTH_USERS,
            json!([]),
            "expected struct AuthUsersChange",
        ),
        invalid_payload(
            "an iat beyond 64 bits",
            CUSTOM_ACCESS_TOKEN,
            set(custom_access_token(&id()), "/claims/iat", json!(1e20)),
            "claims.iat",
        ),
        invalid_payload(
            "a NUL character in an email",
            BEFORE_USER_CREATED,
            set(
                before_user_created(&id()),
                "/user/email",
                json!("ada\u{0}@example.com"),
            ),
            "user.email: contains a NUL character",
        ),
        invalid_payload(
            "a NUL character in a metadata key",
            AUTH_USERS,
            set(
                auth_users_insert(&id()),
                "/record/raw_user_meta_data",
                json!({"bio\u{0}": 1}),
            ),
            "record.raw_user_meta_data.bio",
        ),
        invalid_payload(
            "a user id that is not a UUID",
            BEFORE_USER_CREATED,
            before_user_created("1234"),
            "user.id",
        ),
        invalid_payload(
            "a metadata.uuid that is not a UUID",
            AFTER_USER_CREATED,
            set(
                after_user_created(&id()),
                "/metadata/uuid",
                json!("not-a-uuid"),
            ),
            "metadata.uuid",
        ),
        invalid_payload(
            "a record id that is SQL",
            AUTH_USERS,
            auth_users_insert("'; DROP TABLE users; --"),
            "record.id",
        ),
        invalid_payload(
            "a user_id that is a number",
            CUSTOM_ACCESS_TOKEN,
            set(custom_access_token(&id()), "/user_id", json!(42)),
            "user_id",
        ),
        Case::new(
            "a signed body of 1 MiB and 1 byte",
            signed(AUTH_USERS, padded(MIB + 1)),
            413,
            "payload_too_large",
            "larger than 1 MiB",
        ),
        unsupported(
            "a text/plain body",
            signed(BEFORE_USER_CREATED, before_user_created(&id()).to_string())
                .with("content-type", "text/plain"),
        ),
        unsupported(
            "a body without a content type",
            signed(AFTER_USER_CREATED, after_user_created(&id()).to_string())
                .without("content-type"),
        ),
        unsupported(
            "a form body",
            signed(AUTH_USERS, auth_users_insert(&id()).to_string())
                .with("content-type", "application/x-www-form-urlencoded"),
        ),
        Case::new(
            "a sync body of 64 KiB and 1 byte",
            sync_body(padded(EDIT_LIMIT + 1).into_bytes()),
            413,
            "payload_too_large",
            "larger than 64 KiB",
        ),
        Case::new(
            "a sync body announced as 64 KiB and 1 byte",
            sync_body(padded(EDIT_LIMIT + 1).into_bytes())
                .with("content-length", (EDIT_LIMIT + 1).to_string()),
            413,
            "payload_too_large",
            "larger than 64 KiB",
        ),
        Case::new(
            "a signed body announced as 1 MiB and 1 byte",
            signed(AUTH_USERS, padded(MIB + 1)).with("content-length", (MIB + 1).to_string()),
            413,
            "payload_too_large",
            "larger than 1 MiB",
        ),
        Case::new(
            "a sync body nested 10,000 deep",
            sync_body(splice(
                json!({"settings": {"a": 1}}),
                "/settings/a",
                &nested(10_000),
            )),
            400,
            "invalid_json",
            "recursion limit exceeded",
        ),
        Case::new(
            "a sync body in invalid UTF-8",
            sync_body(b"{\"display_name\": \"\xc3\x28\"}".to_vec()),
            400,
            "invalid_json",
            "invalid unicode code point",
        ),
        Case::new(
            "a sync body naming the user",
            sync_body(
                json!({"id": id(), "email": "mallory@example.com"})
                    .to_string()
                    .into_bytes(),
            ),
            422,
            "invalid_payload",
            "the body may hold only",
        ),
        unsupported(
            "a sync body in text/plain",
            sync_body(b"{}".to_vec()).with("content-type", "text/plain"),
        ),
    ]
}
