//! The signed test event: a before-user-created delivery, signed as Supabase Auth
//! signs it, that the running supahook verifies and then leaves alone.
//!
//! It is an external-provider sign-up (provider `supahook-doctor`): supahook mirrors
//! nothing for those, because their user id is temporary, so it answers `200 {}` with
//! `Supahook-Outcome: skipped` and writes nothing, neither a user nor a ledger row,
//! and does not even reach the database. A wrong secret is answered 401. The only
//! trace is in the metrics: `supahook_deliveries_total{hook="before-user-created",
//! outcome="skipped"}` and that hook's `supahook_last_delivery_timestamp_seconds`.

use super::report::Check;
use crate::cli::replay::tally::Verdict as Answer;
use crate::signature::SigningKey;
use std::time::Duration;

/// The path the test event is sent to; every signed path checks the same secrets.
const PATH: &str = "/hooks/before-user-created";

/// The test event's body, new ids each time, dated `now`.
fn body(now: chrono::DateTime<chrono::Utc>) -> String {
    serde_json::json!({
        "metadata": {
            "uuid": uuid::Uuid::new_v4(),
            "time": now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "name": "before-user-created",
        },
        "user": {
            "id": uuid::Uuid::new_v4(),
            "aud": "authenticated",
            "role": "",
            "email": "",
            "phone": "",
            "app_metadata": {"provider": "supahook-doctor", "providers": ["supahook-doctor"]},
            "user_metadata": {},
            "identities": [],
            "created_at": "0001-01-01T00:00:00Z",
            "updated_at": "0001-01-01T00:00:00Z",
            "is_anonymous": false
        }
    })
    .to_string()
}

/// Sends the test event to the supahook at `base`, signed with every key of `keys`
/// (one signature each, joined as Supabase Auth joins them); `source` names where
/// the keys come from.
pub async fn check(
    client: &reqwest::Client,
    base: &str,
    source: &str,
    keys: &[SigningKey],
) -> Check {
    let name = format!("test event signed with {source}");
    let url = format!("{}{PATH}", base.trim_end_matches('/'));
    let id = uuid::Uuid::new_v4().to_string();
    let now = chrono::Utc::now();
    let body = body(now);
    let signature = keys
        .iter()
        .map(|key| key.sign(&id, now.timestamp(), body.as_bytes()))
        .collect::<Vec<_>>()
        .join(", ");
    let sent = client
        .post(&url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", now.timestamp().to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            return Check::problem(
                name,
                format!(
                    "no answer from {url}: {}",
                    crate::infra::error_chain::describe(&error)
                ),
                "pass the URL Supabase Auth reaches supahook at, and check that supahook runs",
            );
        }
    };
    let status = response.status().as_u16();
    let outcome = response
        .headers()
        .get("supahook-outcome")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.bytes().await.unwrap_or_default();
    verdict(name, &url, Answer::of(status, outcome.as_deref(), &body))
}

/// What the answer means: supahook verified the event and skipped it (or refused the
/// sign-up by its policy), or it did not.
fn verdict(name: String, url: &str, answer: Answer) -> Check {
    match answer {
        Answer::Answered(outcome) if matches!(outcome.as_str(), "skipped" | "refused") => {
            Check::ok(
                name,
                format!("{url} verified it and answered 200 ({outcome})"),
            )
        }
        Answer::Answered(outcome) => Check::problem(
            name,
            format!("{url} answered it ({outcome}), not as supahook answers this event (skipped)"),
            "pass the URL of supahook itself",
        ),
        Answer::Rejected(reason) if reason.starts_with("401") => Check::problem(
            name,
            format!("{url} refused the signature: {reason}"),
            "give supahook (SUPAHOOK_HOOK_SECRETS) and Supabase the same v1,whsec_ secret",
        ),
        Answer::Rejected(reason) | Answer::Error(reason) | Answer::NoAnswer(reason) => {
            Check::problem(
                name,
                format!("{url} answered {reason}"),
                "see supahook's log and /health/ready",
            )
        }
    }
}

/// The client the test events go out with, waiting at most `timeout` per answer.
pub fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    crate::infra::tls::http_client(timeout)
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_event_is_a_sign_up_supahook_skips() {
        let body = body(chrono::Utc::now());
        let event: crate::events::BeforeUserCreatedInput = serde_json::from_str(&body).unwrap();
        let delivery = event.delivery("id").unwrap();
        assert!(matches!(
            delivery.change,
            crate::events::UserChange::Skip(_)
        ));
    }

    #[test]
    fn a_refused_signature_is_a_problem_and_a_skip_passes() {
        let check = |status, outcome: Option<&str>| {
            let body = br#"{"error":{"code":"invalid_signature","message":"no match"}}"#;
            verdict("t".into(), "u", Answer::of(status, outcome, body))
        };
        assert!(!check(200, Some("skipped")).failed());
        assert!(!check(200, Some("refused")).failed());
        let refused = check(401, None).to_string();
        assert!(refused.contains("refused the signature: 401 invalid_signature: no match"));
        assert!(check(200, None).failed());
        assert!(check(200, Some("created")).failed());
        assert!(check(503, None).failed());
    }
}
