//! Helpers for Database Webhook tests: signed deliveries of `auth.users`
//! changes, and reading the mirror back through the read API.

use super::{ADMIN_TOKEN, Running, TestApp, fixture_json, json, outcome};
use serde_json::{Value, json};

/// The Database Webhook endpoint.
pub const PATH: &str = "/hooks/auth-users";

/// The user as the read API returns it, `None` when unknown.
pub async fn user(app: &Running, id: &str) -> Option<Value> {
    let response = app
        .client
        .get(format!("/v1/users/{id}"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await;
    match response.0.status().as_u16() {
        200 => Some(json(response).await),
        404 => None,
        other => panic!("GET /v1/users/{id} answered {other}"),
    }
}

/// Posts a signed Database Webhook and returns its outcome; it must be accepted.
pub async fn deliver(app: &TestApp, body: &Value) -> String {
    let response = app.deliver(PATH, body.to_string().as_bytes()).await;
    assert_eq!(response.0.status().as_u16(), 200, "{body}");
    outcome(&response)
}

/// An INSERT or UPDATE of one user at `second` seconds past a fixed time.
pub fn change(kind: &str, id: &str, second: u32, email: &str) -> Value {
    let mut body = fixture_json("db-update-auth-users.json");
    body["type"] = json!(kind);
    body["record"]["id"] = json!(id);
    body["record"]["email"] = json!(email);
    body["record"]["updated_at"] = json!(format!(
        "2026-03-01T10:{:02}:{:02}.000001+00:00",
        second / 60,
        second % 60
    ));
    if kind == "INSERT" {
        body["old_record"] = Value::Null;
    } else {
        body["old_record"]["id"] = json!(id);
    }
    body
}
