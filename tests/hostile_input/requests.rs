//! Requests as raw as the test client sends them: any header, repeated or missing,
//! any bytes as the body; good bodies for every endpoint, each about a new user; and
//! ways to spoil a body.

use crate::support::tokens::{JWT_SECRET, claims, hs256};
use crate::support::{ADMIN_TOKEN, Client, SECRET, fixture_json, now};
use poem::http::{HeaderValue, Method};
use poem::test::TestResponse;
use serde_json::{Value, json};
use supahook::signature::SigningKey;
use uuid::Uuid;

pub const CUSTOM_ACCESS_TOKEN: &str = "/hooks/custom-access-token";
pub const BEFORE_USER_CREATED: &str = "/hooks/before-user-created";
pub const AFTER_USER_CREATED: &str = "/hooks/after-user-created";
pub const AUTH_USERS: &str = "/hooks/auth-users";
pub const SYNC: &str = "/api/auth/users/sync";
pub const USERS: &str = "/v1/users";
/// The bearer token `/hooks/auth-users` accepts besides signatures.
pub const DB_WEBHOOK_TOKEN: &str = "test-db-webhook-token-0123456789";

/// One HTTP request.
#[derive(Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    /// Header values are bytes, so that a test can send what is not text.
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Request {
    fn new(method: Method, path: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The request with `name` set to `value` alone.
    pub fn with(self, name: &'static str, value: impl Into<Vec<u8>>) -> Self {
        self.without(name).also(name, value)
    }

    /// The request with one more `name` header, after any it has.
    pub fn also(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The request without any `name` header.
    pub fn without(mut self, name: &'static str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    /// The first `name` header, as text.
    pub fn header(&self, name: &str) -> String {
        let found = self.headers.iter().find(|(n, _)| *n == name);
        found.map_or_else(String::new, |(_, v)| {
            String::from_utf8_lossy(v).into_owned()
        })
    }

    pub async fn send(&self, client: &Client) -> TestResponse {
        let mut request = client.request(self.method.clone(), &self.path);
        for (name, value) in &self.headers {
            let value = HeaderValue::from_bytes(value).expect("no control characters");
            request = request.header(*name, value);
        }
        request.body(self.body.clone()).send().await
    }
}

/// `body` posted as JSON, unsigned.
pub fn unsigned(path: &str, body: impl Into<Vec<u8>>) -> Request {
    Request::new(Method::POST, path, body).with("content-type", "application/json")
}

/// `body` posted as JSON and signed with the test secret under a new `webhook-id`.
pub fn signed(path: &str, body: impl Into<Vec<u8>>) -> Request {
    signed_at(path, body, now())
}

/// `body` posted as JSON and signed with the test secret at `timestamp`.
pub fn signed_at(path: &str, body: impl Into<Vec<u8>>, timestamp: i64) -> Request {
    let id = format!("msg_{}", Uuid::new_v4().simple());
    signed_as(path, body, &id, timestamp)
}

/// `body` posted as JSON and signed with the test secret under `id` at `timestamp`.
pub fn signed_as(path: &str, body: impl Into<Vec<u8>>, id: &str, timestamp: i64) -> Request {
    let request = unsigned(path, body);
    let signature = SigningKey::parse(SECRET)
        .unwrap()
        .sign(id, timestamp, &request.body);
    request
        .with("webhook-id", id)
        .with("webhook-timestamp", timestamp.to_string())
        .with("webhook-signature", signature)
}

/// A frontend sync with this access token and an optional JSON body.
pub fn sync(token: &str, body: Option<Value>) -> Request {
    let request = Request::new(Method::POST, SYNC, Vec::new());
    let request = match body {
        Some(body) => Request {
            body: body.to_string().into_bytes(),
            ..request.with("content-type", "application/json")
        },
        None => request,
    };
    request.with("authorization", format!("Bearer {token}"))
}

/// A request to the read and edit API with the admin token.
pub fn admin(method: Method, path: &str, body: impl Into<Vec<u8>>) -> Request {
    Request::new(method, path, body).with("authorization", format!("Bearer {ADMIN_TOKEN}"))
}

/// A JSON edit of a user's profile through the edit API.
pub fn edit_profile(id: &str, body: impl Into<Vec<u8>>) -> Request {
    admin(Method::PATCH, &format!("{USERS}/{id}/profile"), body)
        .with("content-type", "application/json")
}

/// A custom-access-token call about a new user, with a new `metadata.uuid`.
pub fn custom_access_token(id: &str) -> Value {
    let mut body = fixture_json("custom-access-token.json");
    body["metadata"]["uuid"] = json!(Uuid::new_v4());
    body["user_id"] = json!(id);
    body["claims"]["sub"] = json!(id);
    body
}

/// A before- or after-user-created call (`fixture` names which) about a new user.
pub fn user_created(fixture: &str, id: &str) -> Value {
    let mut body = fixture_json(fixture);
    body["metadata"]["uuid"] = json!(Uuid::new_v4());
    body["user"]["id"] = json!(id);
    body
}

pub fn before_user_created(id: &str) -> Value {
    user_created("before-user-created.json", id)
}

pub fn after_user_created(id: &str) -> Value {
    user_created("after-user-created.json", id)
}

/// A Database Webhook inserting a new user.
pub fn auth_users_insert(id: &str) -> Value {
    let mut body = fixture_json("db-insert-auth-users.json");
    body["record"]["id"] = json!(id);
    body
}

/// An access token for the user `id`, signed with the test secret.
pub fn token(claims: &Value) -> String {
    hs256(claims, JWT_SECRET)
}

/// The claims of a new user's access token.
pub fn token_claims(id: &str) -> Value {
    claims(id, "grace@example.com")
}

/// A request that must succeed on the endpoint of `path`, about a new user.
pub fn good(path: &str) -> Request {
    let id = Uuid::new_v4().to_string();
    let body = |value: Value| value.to_string().into_bytes();
    match path {
        CUSTOM_ACCESS_TOKEN => signed(path, body(custom_access_token(&id))),
        BEFORE_USER_CREATED => signed(path, body(before_user_created(&id))),
        AFTER_USER_CREATED => signed(path, body(after_user_created(&id))),
        AUTH_USERS => signed(path, body(auth_users_insert(&id))),
        SYNC => sync(&token(&token_claims(&id)), None),
        _ => admin(Method::GET, USERS, Vec::new()),
    }
}

/// 1 MiB, the largest hook body accepted.
pub const MIB: usize = 1024 * 1024;

/// 64 KiB, the largest profile edit or sync body accepted.
pub const EDIT_LIMIT: usize = 64 * 1024;

/// `body` with the value at the JSON pointer `at` set to `value`.
pub fn set(mut body: Value, at: &str, value: Value) -> Value {
    *body
        .pointer_mut(at)
        .unwrap_or_else(|| panic!("{at} is not in the body")) = value;
    body
}

/// The JSON text of `body` with the string value at `at` replaced by the raw `json`
/// text, which need not be valid JSON.
pub fn splice(body: Value, at: &str, json: &[u8]) -> Vec<u8> {
    const MARK: &str = "\"SPLICED-HERE\"";
    let text = set(body, at, json!("SPLICED-HERE")).to_string();
    let (before, after) = text.split_once(MARK).expect("the mark is in the text");
    [before.as_bytes(), json, after.as_bytes()].concat()
}

/// `depth` arrays, one inside the other.
pub fn nested(depth: usize) -> Vec<u8> {
    ["[".repeat(depth), "]".repeat(depth)].concat().into_bytes()
}

/// A Database Webhook inserting a new user, padded to `size` bytes with a field
/// supahook ignores.
pub fn padded(size: usize) -> String {
    let mut body = auth_users_insert(&Uuid::new_v4().to_string());
    let room = size - body.to_string().len() - r#","padding":"""#.len();
    body["record"]["padding"] = json!("x".repeat(room));
    body.to_string()
}
