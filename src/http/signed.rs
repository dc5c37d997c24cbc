//! How every signed route receives a delivery: the Auth Hooks and the Database Webhook.
//!
//! One order for all of them, each step needing the one before: admit the credentials
//! on the headers alone ([`admit`], [`admit_token_or_signature`]), so a refused request
//! costs no body read; read the body within its bounds and verify it ([`receive`]); parse
//! only the verified bytes; then hand the delivery to the mirroring use-case
//! ([`Received::deliver`]). A handler may check the parsed event between the last two.

use super::body::HeldBody;
use super::console::{DeliveryDetail, kept_body, kept_headers};
use super::raw_json::RawJson;
use super::{AppState, ErrorResponse};
use crate::events::{
    self, AfterUserCreatedInput, AuthUsersChange, BeforeUserCreatedInput, CustomAccessTokenInput,
    Delivery, ParseError,
};
use crate::mirroring::Handled;
use crate::signature::{Admitted, SignatureError, SignedHeaders, Verifier, admit_bearer};
use poem::http::HeaderMap;
use poem_openapi::param::Header;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// The Standard Webhooks headers as a handler extracted them.
pub(super) fn headers<'a>(
    id: &'a Header<Option<String>>,
    timestamp: &'a Header<Option<String>>,
    signature: &'a Header<Option<String>>,
) -> SignedHeaders<'a> {
    SignedHeaders {
        id: id.0.as_deref(),
        timestamp: timestamp.0.as_deref(),
        signature: signature.0.as_deref(),
    }
}

/// Checks what the Standard Webhooks headers of a delivery say without its body:
/// present, a bounded signature header, a timestamp within `tolerance` of the clock.
pub(super) fn admit<'k, 'a>(
    verifier: &'k Verifier,
    headers: SignedHeaders<'a>,
    tolerance: Duration,
) -> Result<Admitted<'k, 'a>, ErrorResponse> {
    let now = chrono::Utc::now().timestamp();
    Ok(verifier.admit(headers, now, tolerance)?)
}

/// Admits a delivery by bearer token when a `token` is configured and an
/// `authorization` header came, else by its Standard Webhooks headers; a request
/// with neither an `authorization` nor a `webhook-signature` header is refused.
pub(super) fn admit_token_or_signature<'k, 'a>(
    verifier: &'k Verifier,
    token: Option<&str>,
    authorization: Option<&str>,
    headers: SignedHeaders<'a>,
    tolerance: Duration,
) -> Result<Admitted<'k, 'a>, ErrorResponse> {
    match (token, authorization) {
        (Some(token), Some(presented)) => Ok(admit_bearer(presented, token, headers.id)?),
        (_, None) if headers.signature.is_none() => Err(SignatureError::NoCredentials.into()),
        _ => admit(verifier, headers, tolerance),
    }
}

/// Reads the body of an admitted delivery, verifies it, and parses the verified bytes.
pub(super) async fn receive<T: SignedEvent>(
    admitted: Admitted<'_, '_>,
    body: RawJson<T>,
) -> Result<Received<T>, ErrorResponse> {
    let arrival = Arrival::now();
    let bytes = body.read(&admitted).await?;
    let verified = admitted.verify(&bytes)?;
    let event = events::parse::<T>(&verified)?;
    let webhook_id = verified.webhook_id.into_owned();
    Ok(Received {
        event,
        webhook_id,
        body: bytes,
        arrival,
    })
}

/// An event a signed route receives, and the mirror change it asks for.
pub(super) trait SignedEvent: DeserializeOwned {
    /// The change, known by the delivery's `webhook_id`.
    fn delivery(&self, webhook_id: &str) -> Result<Delivery, ParseError>;
}

/// Each event's own `delivery` is the change it asks for.
macro_rules! signed_events {
    ($($event:ty),+ $(,)?) => {$(
        impl SignedEvent for $event {
            fn delivery(&self, webhook_id: &str) -> Result<Delivery, ParseError> {
                <$event>::delivery(self, webhook_id)
            }
        }
    )+};
}

signed_events!(
    CustomAccessTokenInput,
    BeforeUserCreatedInput,
    AfterUserCreatedInput,
    AuthUsersChange,
);

/// A delivery whose body was verified and parsed, not yet applied. It holds the body,
/// and with it the body's share of the bound on bodies held at once, until dropped.
pub(super) struct Received<T> {
    /// The parsed event.
    pub event: T,
    webhook_id: String,
    body: HeldBody,
    arrival: Arrival,
}

/// When a delivery's body began to be read.
struct Arrival {
    at: chrono::DateTime<chrono::Utc>,
    started: Instant,
}

impl Arrival {
    fn now() -> Self {
        Self {
            at: chrono::Utc::now(),
            started: Instant::now(),
        }
    }
}

impl<T: SignedEvent> Received<T> {
    /// The body exactly as verified.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// Applies the change the event asks for to the mirror, and keeps the delivery,
    /// with its `headers` (never the signature), among the console's recent ones.
    pub async fn deliver(
        &self,
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<Handled, ErrorResponse> {
        let delivery = self.event.delivery(&self.webhook_id)?;
        let handled = state.mirroring.apply(&delivery).await?;
        state.console.recent.record(DeliveryDetail {
            idempotency_key: delivery.idempotency_key,
            hook: delivery.hook.as_str(),
            user_id: delivery.change.user_id(),
            outcome: handled.as_str(),
            received_at: self.arrival.at,
            duration: self.arrival.started.elapsed(),
            headers: kept_headers(headers),
            body: kept_body(&self.body),
            body_len: self.body.len(),
        });
        Ok(handled)
    }
}
