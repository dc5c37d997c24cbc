//! The delivery ledger, newest first: what each hook call and sync did to the mirror.

use super::admin::AdminToken;
use super::{ApiTags, AppState, ErrorResponse};
use crate::storage::{DeliveryCursor, DeliveryFilter, DeliveryRecord, Queries};
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use std::sync::Arc;
use uuid::Uuid;

/// The ledger API.
pub struct DeliveriesApi;

/// What a delivery did to the mirror.
#[derive(Enum, Debug, Clone, Copy)]
#[oai(rename_all = "lowercase")]
pub enum OutcomeName {
    /// Still being applied.
    Pending,
    /// A new user was mirrored.
    Created,
    /// The user changed.
    Updated,
    /// Nothing mirrored changed.
    Unchanged,
    /// Older than the stored state; not applied.
    Stale,
    /// Nothing to mirror.
    Skipped,
    /// The user was marked deleted or removed.
    Deleted,
}

/// The endpoint a delivery came through.
#[derive(Enum, Debug, Clone, Copy)]
#[oai(rename_all = "kebab-case")]
pub enum HookName {
    /// `POST /hooks/custom-access-token`
    CustomAccessToken,
    /// `POST /hooks/before-user-created`
    BeforeUserCreated,
    /// `POST /hooks/after-user-created`
    AfterUserCreated,
    /// `POST /hooks/auth-users`
    AuthUsers,
    /// `POST /api/auth/users/sync`
    UsersSync,
}

/// One delivery in the ledger.
#[derive(Object, Debug)]
#[oai(example)]
pub struct DeliveryView {
    /// The key that makes it apply once: `metadata.uuid`, the `webhook-id`, a body
    /// digest, or `users-sync:` and the access token's digest.
    pub idempotency_key: String,
    /// The endpoint, such as `custom-access-token`.
    pub hook: String,
    /// The `webhook-id` of the attempt that was applied; the session id for a sync.
    pub webhook_id: String,
    /// The user concerned; `null` when the delivery named none.
    #[oai(nullable)]
    pub user_id: Option<Uuid>,
    /// What it did: `created`, `updated`, `unchanged`, `stale`, `skipped`, `deleted`.
    pub outcome: String,
    /// When supahook received it.
    pub received_at: DateTime<Utc>,
}

/// One page of deliveries.
#[derive(Object, Debug)]
#[oai(example)]
pub struct DeliveryPage {
    /// Deliveries, newest first.
    pub events: Vec<DeliveryView>,
    /// Pass it as `cursor` to get the next (older) page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// Answers to a ledger listing.
#[derive(ApiResponse)]
pub enum ListEventsResponse {
    /// One page of deliveries.
    #[oai(status = 200)]
    Ok(Json<DeliveryPage>),
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(r: DeliveryRecord) -> Self {
        Self {
            idempotency_key: r.idempotency_key,
            hook: r.hook,
            webhook_id: r.webhook_id,
            user_id: r.user_id,
            outcome: r.outcome,
            received_at: r.received_at,
        }
    }
}

/// The name an enum value has in the API, which is also the name the ledger stores.
fn name<T: ToJSON>(value: &T) -> Option<String> {
    value.to_json()?.as_str().map(str::to_owned)
}

/// A position in the ledger: the last delivery's `received_at` in Unix microseconds and its
/// idempotency key, as `<micros>.<key>`. Every string of that form is a position (the
/// next page holds the deliveries older than it), so the spec states the form exactly
/// and any cursor it admits is answered.
fn encode_cursor(r: &DeliveryRecord) -> String {
    format!("{}.{}", r.received_at.timestamp_micros(), r.idempotency_key)
}

/// The position a cursor names; `None` for a string not of the form `<micros>.<key>`.
fn decode_cursor(text: &str) -> Option<DeliveryCursor> {
    let (micros, key) = text.split_once('.')?;
    Some(DeliveryCursor {
        received_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        idempotency_key: key.to_owned(),
    })
}

#[OpenApi(tag = "ApiTags::Users")]
impl DeliveriesApi {
    /// List deliveries
    ///
    /// The ledger of deliveries (hook calls, Database Webhooks, frontend syncs), newest
    /// first, with what each did to the mirror. Keys are kept for
    /// `SUPAHOOK_LEDGER_RETENTION_DAYS`.
    #[oai(path = "/v1/events", method = "get", operation_id = "listEvents")]
    async fn list_events(
        &self,
        state: Data<&Arc<AppState>>,
        token: AdminToken,
        /// Deliveries per page, 1 to 500 (100 when absent).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page; absent for the first page.
        // Up to 18 digits stay within the times chrono represents; a NUL cannot be
        // compared by PostgreSQL, and no key holds one.
        #[oai(validator(pattern = r"^[0-9]{1,18}\.[^\x00]*$"))]
        cursor: Query<Option<String>>,
        /// Only deliveries with this outcome.
        outcome: Query<Option<OutcomeName>>,
        /// Only deliveries through this endpoint.
        hook: Query<Option<HookName>>,
    ) -> Result<ListEventsResponse, ErrorResponse> {
        token.check(&state)?;
        let cursor = match cursor.0.as_deref() {
            None => None,
            Some(text) => Some(decode_cursor(text).ok_or_else(|| {
                ErrorResponse::invalid_parameter(
                    "cursor",
                    "is not a next_cursor returned by this endpoint",
                )
            })?),
        };
        let filter = DeliveryFilter {
            outcome: outcome.0.and_then(|o| name(&o)),
            hook: hook.0.and_then(|h| name(&h)),
            ..DeliveryFilter::default()
        };
        let limit = limit.0.unwrap_or(super::users::DEFAULT_PAGE_SIZE) as usize;
        let mut events = state
            .storage
            .list_deliveries(&filter, cursor.as_ref(), limit + 1)
            .await?;
        let next_cursor = if events.len() > limit {
            events.truncate(limit);
            events.last().map(encode_cursor)
        } else {
            None
        };
        Ok(ListEventsResponse::Ok(Json(DeliveryPage {
            events: events.into_iter().map(Into::into).collect(),
            next_cursor,
        })))
    }
}
