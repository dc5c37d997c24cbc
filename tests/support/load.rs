//! Mixed, signed load for several `supahook serve` replicas, and the state it
//! must leave behind, computed here from the events themselves.
//!
//! Each user signs up (before-user-created), refreshes a token twice
//! (custom-access-token), is confirmed and then renamed by Database Webhook UPDATEs;
//! some are then deleted. The rename is every live user's newest event in source
//! time, so whatever order the events arrive in, every user ends with the
//! rename's values, and a deleted user's row is marked deleted (deletes are final).

#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use supahook::signature::SigningKey;

pub const SECRET: &str = "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// One delivery: which hook, the exact body, and the `webhook-id` it is sent under.
#[derive(Debug, Clone)]
pub struct Event {
    pub hook: &'static str,
    pub body: String,
    pub webhook_id: String,
    /// Whether this is a repeat of an earlier event (a retry).
    pub repeat: bool,
}

/// What one user must look like at the end.
#[derive(Debug, Clone)]
pub struct Expected {
    pub id: String,
    pub deleted: bool,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

/// The events for `users` users (a fifth of them deleted), 30% of them sent twice,
/// shuffled with `seed`.
pub fn generate(users: usize, seed: u64) -> (Vec<Event>, Vec<Expected>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let base = Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap();
    let mut events = Vec::new();
    let mut expected = Vec::new();
    for n in 0..users {
        let id = uuid::Uuid::new_v4().to_string();
        let start = base + Duration::seconds(n as i64 * 1000);
        let deleted = n % 5 == 0;
        let email = format!("u{n}@example.com");
        let final_email = format!("u{n}.renamed@example.com");
        events.push(hook(
            "before-user-created",
            before_user_created(&id, &email, n, start),
        ));
        for minutes in [1, 2] {
            let at = start + Duration::minutes(minutes);
            events.push(hook(
                "custom-access-token",
                access_token(&id, &email, n, at),
            ));
        }
        let confirmed = start + Duration::minutes(3);
        let first = row(&id, &email, &format!("First User{n}"), start, confirmed);
        let renamed_at = start + Duration::minutes(5);
        let renamed = row(
            &id,
            &final_email,
            &format!("Renamed User{n}"),
            start,
            renamed_at,
        );
        events.push(db(
            "UPDATE",
            Some(&first),
            &row(&id, &email, &format!("First User{n}"), start, start),
        ));
        events.push(db("UPDATE", Some(&renamed), &first));
        if deleted {
            events.push(db("DELETE", None, &renamed));
        }
        expected.push(Expected {
            id,
            deleted,
            email: final_email,
            first_name: "Renamed".into(),
            last_name: format!("User{n}"),
        });
    }
    let repeats: Vec<Event> = events
        .iter()
        .filter(|_| rng.random_bool(0.3))
        .map(|e| Event {
            // Supabase's retries of an Auth Hook keep metadata.uuid but get a new webhook-id.
            webhook_id: match e.hook {
                "auth-users" => e.webhook_id.clone(),
                _ => new_webhook_id(),
            },
            repeat: true,
            ..e.clone()
        })
        .collect();
    events.extend(repeats);
    events.shuffle(&mut rng);
    (events, expected)
}

/// A `webhook-id` as Supabase makes them: new on every attempt.
pub fn new_webhook_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

fn hook(name: &'static str, body: Value) -> Event {
    Event {
        hook: name,
        body: body.to_string(),
        webhook_id: new_webhook_id(),
        repeat: false,
    }
}

fn db(kind: &str, record: Option<&Value>, old: &Value) -> Event {
    let body = json!({
        "type": kind, "table": "users", "schema": "auth",
        "record": record, "old_record": old,
    });
    hook("auth-users", body)
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn metadata(name: &str, at: DateTime<Utc>) -> Value {
    json!({
        "uuid": uuid::Uuid::new_v4().to_string(),
        "time": time(at),
        "name": name,
        "ip_address": "203.0.113.42",
    })
}

/// A before-user-created body for user `id`, the `n`th, signing up at `at`.
pub fn before_user_created(id: &str, email: &str, n: usize, at: DateTime<Utc>) -> Value {
    json!({
        "metadata": metadata("before-user-created", at),
        "user": {
            "id": id, "aud": "authenticated", "role": "", "email": email, "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {"full_name": format!("First User{n}")},
            "identities": [], "created_at": "0001-01-01T00:00:00Z",
            "updated_at": "0001-01-01T00:00:00Z", "is_anonymous": false,
        }
    })
}

/// A custom-access-token body for user `id`, the `n`th, issued at `at`.
pub fn access_token(id: &str, email: &str, n: usize, at: DateTime<Utc>) -> Value {
    let iat = at.timestamp();
    json!({
        "metadata": metadata("customize-access-token", at),
        "user_id": id,
        "claims": {
            "iss": "https://fakeprojectref0001.supabase.co/auth/v1", "sub": id,
            "aud": "authenticated", "exp": iat + 3600, "iat": iat, "email": email, "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {"full_name": format!("First User{n}")},
            "role": "authenticated", "aal": "aal1",
            "amr": [{"method": "password", "timestamp": iat}],
            "session_id": uuid::Uuid::new_v4().to_string(), "is_anonymous": false,
        },
        "authentication_method": "password",
    })
}

fn row(
    id: &str,
    email: &str,
    full_name: &str,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
) -> Value {
    let confirmed = (updated > created).then(|| time(updated));
    json!({
        "id": id, "aud": "authenticated", "role": "authenticated", "email": email,
        "phone": null, "created_at": time(created), "updated_at": time(updated),
        "deleted_at": null, "confirmed_at": confirmed, "email_confirmed_at": confirmed,
        "phone_confirmed_at": null, "last_sign_in_at": null, "is_anonymous": false,
        "instance_id": "00000000-0000-0000-0000-000000000000",
        "raw_app_meta_data": {"provider": "email", "providers": ["email"]},
        "raw_user_meta_data": {"full_name": full_name},
    })
}

/// How a delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// An HTTP answer: status and `Supahook-Outcome`.
    Answer(u16, String),
    /// The connection was refused: nothing was accepted.
    Refused,
    /// Connected, but no answer came back.
    Lost(String),
}

/// A POST of `body` to `/hooks/{hook}` on `base`, signed now under `webhook_id` as
/// Supabase signs it, ready to send.
pub fn signed_post(
    client: &reqwest::Client,
    base: &str,
    hook: &str,
    webhook_id: &str,
    body: &str,
) -> reqwest::RequestBuilder {
    let timestamp = Utc::now().timestamp();
    let signature = SigningKey::parse(SECRET)
        .unwrap()
        .sign(webhook_id, timestamp, body.as_bytes());
    client
        .post(format!("{base}/hooks/{hook}"))
        .header("content-type", "application/json")
        .header("webhook-id", webhook_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_owned())
}

/// Signs `event` now and posts it to `base`.
pub async fn send(client: &reqwest::Client, base: &str, event: &Event) -> Sent {
    let result = signed_post(client, base, event.hook, &event.webhook_id, &event.body)
        .send()
        .await;
    match result {
        Ok(response) => {
            let outcome = response
                .headers()
                .get("supahook-outcome")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            Sent::Answer(response.status().as_u16(), outcome)
        }
        Err(error) if error.is_connect() => Sent::Refused,
        Err(error) => Sent::Lost(supahook::infra::error_chain::describe(&error)),
    }
}

/// Reads every expected user back through the read API of `base` and lists each difference.
pub async fn differences(
    client: &reqwest::Client,
    base: &str,
    expected: &[Expected],
) -> Vec<String> {
    let mut wrong = Vec::new();
    for user in expected {
        let response = client
            .get(format!("{base}/v1/users/{}", user.id))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value =
            serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
        // Soft delete: a deleted user keeps its row, marked deleted, with its last real values.
        let matches = status == 200
            && body["deleted_at"].is_null() != user.deleted
            && body["email"] == user.email.as_str()
            && body["first_name"] == user.first_name.as_str()
            && body["last_name"] == user.last_name.as_str()
            && !body["email_confirmed_at"].is_null();
        if !matches {
            wrong.push(format!(
                "{}: expected {user:?}, found {status} {body}",
                user.id
            ));
        }
    }
    wrong
}

/// A random index below `n`.
pub fn pick(rng: &mut impl RngExt, n: usize) -> usize {
    rng.random_range(0..n)
}
