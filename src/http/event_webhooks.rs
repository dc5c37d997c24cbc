//! The signed webhooks supahook sends out (`SUPAHOOK_EVENTS_ENDPOINTS`): each endpoint's
//! state, and every attempt to post an event, newest first.

use super::admin::AdminToken;
use super::{ApiTags, AppState, ErrorResponse};
use crate::storage::{PushAttemptFilter, PushAttemptRecord, PushEndpointState, PushQueries};
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::sync::Arc;
use uuid::Uuid;

/// The outgoing webhooks API.
pub struct EventWebhooksApi;

/// One endpoint events are posted to.
#[derive(Object, Debug)]
pub struct EventEndpointView {
    /// The endpoint's URL, as configured.
    pub url: String,
    /// `false` once the endpoint answered `410 Gone` (or left the configuration): no
    /// event is posted to it until supahook starts again with it configured; its events
    /// wait meanwhile.
    pub enabled: bool,
    /// When it was disabled; `null` while enabled.
    #[oai(nullable)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled; `null` while enabled.
    #[oai(nullable)]
    pub disabled_reason: Option<String>,
    /// Events waiting for it: those in its retry queue (not delivered at the first
    /// try, or queued again, and still within their retry window) and those recorded
    /// since its last batch, whatever their type (a batch skips the types the endpoint
    /// does not take).
    pub outstanding: i64,
    /// Events given up on once their retry window ran out (`supahook events redeliver`
    /// sends them again), among those still kept.
    pub dead_lettered: i64,
    /// Since when the oldest waiting event has waited (queued for a retry, or recorded
    /// when no batch took it yet); `null` when none waits.
    #[oai(nullable)]
    pub oldest_outstanding_since: Option<DateTime<Utc>>,
}

/// The endpoints.
#[derive(Object, Debug)]
pub struct EventEndpointList {
    /// Every endpoint supahook has posted to, by URL.
    pub endpoints: Vec<EventEndpointView>,
}

/// One attempt to post an event.
#[derive(Object, Debug)]
pub struct EventAttemptView {
    /// The attempt's number: later attempts have greater ones.
    pub id: i64,
    /// The endpoint.
    pub endpoint: String,
    /// The event posted, which is also the `webhook-id` sent (the same on every attempt).
    pub event_id: Uuid,
    /// When the attempt started.
    pub attempted_at: DateTime<Utc>,
    /// The HTTP status the endpoint answered; `null` when no answer came.
    #[oai(nullable)]
    pub status: Option<i32>,
    /// How long the attempt took, in milliseconds.
    pub latency_ms: i64,
    /// What went wrong; `null` for an attempt answered 2xx.
    #[oai(nullable)]
    pub error: Option<String>,
}

/// One page of attempts.
#[derive(Object, Debug)]
pub struct EventAttemptPage {
    /// Attempts, newest first.
    pub attempts: Vec<EventAttemptView>,
    /// Pass it as `before` for the next (older) page; `null` on the last page.
    #[oai(nullable)]
    pub next_before: Option<String>,
}

/// Answers to an endpoint listing.
#[derive(ApiResponse)]
pub enum EventEndpointsResponse {
    /// The endpoints.
    #[oai(status = 200)]
    Ok(Json<EventEndpointList>),
}

/// Answers to an attempt listing.
#[derive(ApiResponse)]
pub enum EventAttemptsResponse {
    /// The attempts, newest first.
    #[oai(status = 200)]
    Ok(Json<EventAttemptPage>),
}

impl From<PushEndpointState> for EventEndpointView {
    fn from(state: PushEndpointState) -> Self {
        let (disabled_at, disabled_reason) = state.disabled.unzip();
        Self {
            url: state.url,
            enabled: disabled_at.is_none(),
            disabled_at,
            disabled_reason,
            outstanding: state.outstanding,
            dead_lettered: state.dead,
            oldest_outstanding_since: state.oldest_outstanding,
        }
    }
}

impl From<PushAttemptRecord> for EventAttemptView {
    fn from(record: PushAttemptRecord) -> Self {
        Self {
            id: record.id,
            endpoint: record.url,
            event_id: record.event_id,
            attempted_at: record.attempted_at,
            status: record.status,
            latency_ms: record.latency_ms,
            error: record.error,
        }
    }
}

#[OpenApi(tag = "ApiTags::Users")]
impl EventWebhooksApi {
    /// List the webhook endpoints
    ///
    /// Each endpoint auth lifecycle events are posted to (`SUPAHOOK_EVENTS_ENDPOINTS`):
    /// whether it is enabled, how many events wait for it, and since when the oldest
    /// has waited.
    #[oai(
        path = "/v1/event-webhooks/endpoints",
        method = "get",
        operation_id = "listEventEndpoints"
    )]
    async fn list_endpoints(
        &self,
        state: Data<&Arc<AppState>>,
        token: AdminToken,
    ) -> Result<EventEndpointsResponse, ErrorResponse> {
        token.check(&state)?;
        let endpoints = state.storage.push_endpoint_states().await?;
        Ok(EventEndpointsResponse::Ok(Json(EventEndpointList {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
        })))
    }

    /// List webhook attempts
    ///
    /// Every attempt to post an event to an endpoint, newest first: the status
    /// answered (none when no answer came), how long it took, and what went wrong.
    #[oai(
        path = "/v1/event-webhooks/attempts",
        method = "get",
        operation_id = "listEventAttempts"
    )]
    async fn list_attempts(
        &self,
        state: Data<&Arc<AppState>>,
        token: AdminToken,
        /// Only attempts to this endpoint URL, as listed.
        endpoint: Query<Option<String>>,
        /// Only attempts to post this event.
        event_id: Query<Option<Uuid>>,
        /// The `next_before` of the previous page.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        before: Query<Option<String>>,
        /// Attempts per page, 1 to 500 (100 when absent).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
    ) -> Result<EventAttemptsResponse, ErrorResponse> {
        token.check(&state)?;
        let before = match before.0.as_deref() {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| {
                ErrorResponse::invalid_parameter("before", "is not a next_before of this list")
            })?),
        };
        let limit = limit.0.unwrap_or(super::users::DEFAULT_PAGE_SIZE) as usize;
        let filter = PushAttemptFilter {
            url: endpoint.0,
            event_id: event_id.0,
            before,
        };
        let attempts = state.storage.list_push_attempts(&filter, limit).await?;
        let next_before = match attempts.len() == limit {
            true => attempts.last().map(|a| a.id.to_string()),
            false => None,
        };
        Ok(EventAttemptsResponse::Ok(Json(EventAttemptPage {
            attempts: attempts.into_iter().map(Into::into).collect(),
            next_before,
        })))
    }
}
