//! The chained hook over HTTP: the event posted as Supabase Auth posts it, signed per
//! Standard Webhooks with the chain's own secrets, and its answer read as Supabase
//! Auth reads one (200 or 202 with a JSON body of at most 200 KiB). One attempt,
//! within the chain's timeout.

use crate::signature::SigningKey;
use serde_json::Value;
use std::time::Duration;

/// The largest answer read, as in Supabase Auth.
const MAX_ANSWER_BYTES: usize = 200 * 1024;

/// Why the chained hook gave no answer to read.
#[derive(Debug)]
pub enum CallError {
    /// No answer within the timeout.
    TimedOut(Duration),
    /// Anything else, said in words.
    Failed(String),
}

/// A chained hook at a URL.
pub struct Webhook {
    url: reqwest::Url,
    secrets: Vec<SigningKey>,
    client: reqwest::Client,
    timeout: Duration,
}

impl Webhook {
    /// The hook at `url`, signed with every one of `secrets`, given `timeout` per call.
    pub fn new(
        url: reqwest::Url,
        secrets: Vec<SigningKey>,
        timeout: Duration,
    ) -> Result<Self, String> {
        Ok(Self {
            client: crate::infra::urls::client(timeout)?,
            url,
            secrets,
            timeout,
        })
    }

    /// Posts `event` and reads the JSON answer.
    pub async fn call(&self, event: &[u8]) -> Result<Option<Value>, CallError> {
        let id = uuid::Uuid::new_v4().to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let signatures: Vec<String> = self
            .secrets
            .iter()
            .map(|key| key.sign(&id, timestamp, event))
            .collect();
        let sent = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(event.to_vec())
            .send()
            .await;
        let response = sent.map_err(|e| self.failure(e))?;
        let status = response.status().as_u16();
        if !matches!(status, 200 | 202) {
            return Err(CallError::Failed(format!("answered HTTP {status}")));
        }
        let json = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(CallError::Failed(
                "answered without Content-Type: application/json".to_owned(),
            ));
        }
        let body = crate::infra::urls::read_body(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| CallError::Failed(format!("its answer: {e}")))?;
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| CallError::Failed(format!("answered with invalid JSON: {e}")))
    }

    fn failure(&self, error: reqwest::Error) -> CallError {
        match error.is_timeout() {
            true => CallError::TimedOut(self.timeout),
            false => CallError::Failed(crate::infra::error_chain::describe(&error.without_url())),
        }
    }
}
