//! One event as a signed webhook: the JSON body (the shape `GET /v1/changes` lists)
//! and the Standard Webhooks headers, signed with every configured secret.

use crate::signature::SigningKey;
use crate::storage::RecordedEvent;
use serde_json::{Value, json};

/// A message ready to post.
#[derive(Debug, Clone)]
pub struct Message {
    /// `webhook-id`: the event id, the same on every attempt, to deduplicate on.
    pub id: String,
    /// `webhook-timestamp`: this attempt's time, in Unix seconds.
    pub timestamp: i64,
    /// `webhook-signature`: `v1,<base64>` per secret, separated by spaces.
    pub signature: String,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// The body of `event`: `{id, type, timestamp, user_id, sequence, data}`.
pub fn body(event: &RecordedEvent) -> Vec<u8> {
    let data = json!({
        "user": event.data.get("user").cloned().unwrap_or(Value::Null),
        "changed": event.data.get("changed").cloned().unwrap_or_else(|| json!([])),
    });
    let body = json!({
        "id": event.id,
        "type": event.kind,
        "timestamp": event.recorded_at,
        "user_id": event.user_id,
        "sequence": event.sequence,
        "data": data,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// `event` signed at `timestamp` with each of `secrets`.
pub fn sign(event: &RecordedEvent, secrets: &[SigningKey], timestamp: i64) -> Message {
    let id = event.id.to_string();
    let body = body(event);
    let signature = secrets
        .iter()
        .map(|key| key.sign(&id, timestamp, &body))
        .collect::<Vec<_>>()
        .join(" ");
    Message {
        id,
        timestamp,
        signature,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{SignedHeaders, Verifier};

    #[test]
    fn every_secret_signs_and_a_receiver_with_either_verifies() {
        let old = SigningKey::parse("v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let new = SigningKey::parse("v1,whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0").unwrap();
        let event = RecordedEvent {
            position: 7,
            id: uuid::Uuid::new_v4(),
            kind: "user.created".into(),
            user_id: uuid::Uuid::new_v4(),
            sequence: 1,
            recorded_at: chrono::Utc::now(),
            data: json!({"user": {"email": "ada@example.com"}, "changed": []}),
        };
        let now = chrono::Utc::now().timestamp();

        let message = sign(&event, &[new.clone(), old.clone()], now);

        assert_eq!(message.signature.split(' ').count(), 2);
        assert_eq!(message.id, event.id.to_string());
        for key in [old, new] {
            let headers = SignedHeaders {
                id: Some(&message.id),
                timestamp: Some(&now.to_string()),
                signature: Some(&message.signature),
            };
            let verified = Verifier::new(vec![key]).verify(headers, &message.body, now);
            assert!(verified.is_ok());
        }
        let body: Value = serde_json::from_slice(&message.body).unwrap();
        assert_eq!(body["type"], "user.created");
        assert_eq!(body["sequence"], 1);
        assert_eq!(body["data"]["user"]["email"], "ada@example.com");
    }
}
