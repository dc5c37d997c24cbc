//! Signed Auth Hook deliveries of new users, as Supabase sends them, and how
//! supahook answers them.

use crate::load;
use chrono::Utc;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The longest a hook may take to answer: the default budget (1 s) plus a margin
/// for the answer itself, well inside Supabase's 5 s for a whole hook call.
pub const ANSWER_LIMIT: Duration = Duration::from_secs(2);

/// One signed Auth Hook delivery about a user of its own.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub hook: &'static str,
    pub body: String,
    /// The user's id.
    pub user: String,
    /// `metadata.uuid`, the idempotency key.
    pub key: String,
}

impl Delivery {
    /// The `n`th new user: a sign-up (before-user-created) for even `n`, a first
    /// token (custom-access-token) for odd `n`.
    pub fn new_user(n: usize) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        let email = format!("user{n}.{}@example.com", &id[..8]);
        let (hook, body) = match n % 2 {
            0 => (
                "before-user-created",
                load::before_user_created(&id, &email, n, Utc::now()),
            ),
            _ => (
                "custom-access-token",
                load::access_token(&id, &email, n, Utc::now()),
            ),
        };
        Self::of(hook, body)
    }

    /// A custom-access-token for the existing user `id` with `email`, issued at `at`.
    pub fn token_for(id: &str, email: &str, at: chrono::DateTime<Utc>) -> Self {
        Self::of("custom-access-token", load::access_token(id, email, 0, at))
    }

    fn of(hook: &'static str, body: Value) -> Self {
        let user = body["user"]["id"]
            .as_str()
            .or(body["user_id"].as_str())
            .unwrap()
            .to_owned();
        Self {
            hook,
            user,
            key: body["metadata"]["uuid"].as_str().unwrap().to_owned(),
            body: body.to_string(),
        }
    }

    /// Whether `answer` is what Supabase must get for a delivery that is stored (or
    /// spooled): 200 with the claims unchanged, or `{}`.
    pub fn answered_as_stored(&self, answer: &Answer) -> bool {
        let sent: Value = serde_json::from_str(&self.body).unwrap();
        let expected = match self.hook {
            "custom-access-token" => serde_json::json!({ "claims": sent["claims"] }),
            _ => serde_json::json!({}),
        };
        answer.status == 200 && answer.body == expected
    }
}

/// How supahook answered one delivery.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// `Supahook-Outcome`.
    pub outcome: String,
    pub retry_after: Option<String>,
    pub body: Value,
    /// From sending the request to the end of the answer's body.
    pub took: Duration,
}

/// Sends `delivery` to `base` under a new `webhook-id`; fails when no answer comes.
pub async fn deliver(client: &reqwest::Client, base: &str, delivery: &Delivery) -> Answer {
    let webhook_id = load::new_webhook_id();
    let started = Instant::now();
    let response = load::signed_post(client, base, delivery.hook, &webhook_id, &delivery.body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} got no answer: {e}", delivery.hook));
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let status = response.status().as_u16();
    let outcome = header("supahook-outcome").unwrap_or_default();
    let retry_after = header("retry-after");
    let text = response.text().await.expect("read the answer");
    Answer {
        status,
        outcome,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        took: started.elapsed(),
    }
}

/// The worst answer time of `answers`.
pub fn worst(answers: &[Answer]) -> Duration {
    answers.iter().map(|a| a.took).max().unwrap_or_default()
}

/// Fails when any of `answers` took [`ANSWER_LIMIT`] or longer.
pub fn assert_in_time(answers: &[Answer]) {
    let worst = worst(answers);
    assert!(worst < ANSWER_LIMIT, "the slowest answer took {worst:?}");
}
