//! The feed of auth lifecycle events: `GET /v1/changes`, in commit order, with a long poll.

use super::admin::AdminToken;
use super::user_view::UserView;
use super::{ApiTags, AppState, ErrorResponse};
use crate::storage::RecordedEvent;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, ToJSON};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The event feed API.
pub struct ChangesApi;

/// The kind of an auth lifecycle event.
#[derive(Enum, Debug, Clone, Copy)]
pub enum EventTypeName {
    /// A user was mirrored for the first time; `data.changed` is empty.
    #[oai(rename = "user.created")]
    UserCreated,
    /// Mirrored fields changed; `data.changed` names them (a sign-in alone is
    /// `user.signed_in`, not an update).
    #[oai(rename = "user.updated")]
    UserUpdated,
    /// The user was deleted upstream: marked deleted (soft) or its row removed (hard,
    /// `data.user` is then its last state with `deleted_at` set).
    #[oai(rename = "user.deleted")]
    UserDeleted,
    /// The email was confirmed (`email_confirmed_at` set).
    #[oai(rename = "user.email_confirmed")]
    EmailConfirmed,
    /// The email changed.
    #[oai(rename = "user.email_changed")]
    EmailChanged,
    /// The phone was confirmed (`phone_confirmed_at` set).
    #[oai(rename = "user.phone_confirmed")]
    PhoneConfirmed,
    /// A newer `last_sign_in_at`; recorded only when `SUPAHOOK_EVENTS_TYPES` names it.
    #[oai(rename = "user.signed_in")]
    SignedIn,
    /// An anonymous user became a permanent one.
    #[oai(rename = "user.anonymous_upgraded")]
    AnonymousUpgraded,
    /// The profile's name or avatar followed the identity; `data.changed` names them.
    #[oai(rename = "profile.updated")]
    ProfileUpdated,
    /// The user became banned: `banned_until` is now later than the time of the change
    /// that set it (a ban without end is a time far ahead).
    #[oai(rename = "user.banned")]
    UserBanned,
    /// The user is no longer banned: the ban was lifted, or the user's next change after
    /// the ban ran out shows it over (a ban running out is no change by itself).
    #[oai(rename = "user.unbanned")]
    UserUnbanned,
}

/// What an event carries.
#[derive(Object, Debug)]
pub struct EventData {
    /// The user after the change, with the fields of a `User` as `GET /v1/users/{id}`
    /// shows it, its `profile` without `settings` (which the application owns). For
    /// `user.deleted` of a removed row (`SUPAHOOK_ON_DELETE=hard`), its last state with
    /// `deleted_at` set.
    pub user: Value,
    /// The fields that changed, by their names in `user`: for `user.updated` every
    /// changed field (`email`, `phone`, `first_name`, `last_name`, `avatar_url`,
    /// `auth_provider`, `providers`, `is_anonymous`, `email_confirmed_at`,
    /// `phone_confirmed_at`, `last_sign_in_at`, `user_metadata`, `app_metadata`,
    /// `auth_created_at`, `banned_until`, `deleted_at`); for the other types the field
    /// the event is about (`email`, `email_confirmed_at`, `phone_confirmed_at`,
    /// `is_anonymous`, `banned_until`, `last_sign_in_at`, `deleted_at`); for
    /// `profile.updated` the profile's (`display_name`, `avatar_url`); empty for
    /// `user.created`.
    pub changed: Vec<String>,
}

/// One auth lifecycle event. Pushed webhooks and NATS messages carry the same JSON.
#[derive(Object, Debug)]
#[oai(example)]
pub struct ChangeEvent {
    /// The event id: the same however often its change was delivered and whichever
    /// replica applied it. Deduplicate on it (it is also a pushed webhook's
    /// `webhook-id` and a NATS message's `Nats-Msg-Id`).
    pub id: Uuid,
    /// The event type.
    #[oai(rename = "type")]
    pub kind: EventTypeName,
    /// When the change was committed.
    pub timestamp: DateTime<Utc>,
    /// The user concerned.
    pub user_id: Uuid,
    /// The user's events are numbered 1, 2, 3, … in the order they happened, whichever
    /// replica applied them: sort a user's events by it.
    pub sequence: i64,
    /// The user and the fields that changed.
    pub data: EventData,
}

/// One page of the feed.
#[derive(Object, Debug)]
#[oai(example)]
pub struct ChangePage {
    /// Events in the order they were committed.
    pub events: Vec<ChangeEvent>,
    /// Pass it as `after` to read on; the same `after` when there was nothing new.
    pub next_cursor: String,
}

/// Answers to a feed read.
#[derive(ApiResponse)]
pub enum ChangesResponse {
    /// The events after the cursor (none when the wait ran out).
    #[oai(status = 200)]
    Ok(Json<ChangePage>),
}

impl Example for ChangeEvent {
    fn example() -> Self {
        let mut user = UserView::example().to_json().unwrap_or_default();
        if let Some(profile) = user.get_mut("profile").and_then(Value::as_object_mut) {
            profile.remove("settings");
        }
        Self {
            id: Uuid::from_u128(0x9a0e_5c2d_41b7_4f3e_8c61_0d2f_7b5a_e913),
            kind: EventTypeName::EmailChanged,
            timestamp: "2026-01-15T11:15:00.2Z".parse().unwrap_or_default(),
            user_id: UserView::example().id,
            sequence: 4,
            data: EventData {
                user,
                changed: vec!["email".into()],
            },
        }
    }
}

impl Example for ChangePage {
    fn example() -> Self {
        Self {
            events: vec![ChangeEvent::example()],
            next_cursor: "1042".into(),
        }
    }
}

impl ChangeEvent {
    /// The event of a recorded row; `None` for a type this version does not know.
    fn of(event: RecordedEvent) -> Option<Self> {
        let kind = EventTypeName::from_name(&event.kind)?;
        let changed = match event.data.get("changed") {
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Some(Self {
            id: event.id,
            kind,
            timestamp: event.recorded_at,
            user_id: event.user_id,
            sequence: event.sequence,
            data: EventData {
                user: event.data.get("user").cloned().unwrap_or(Value::Null),
                changed,
            },
        })
    }
}

impl EventTypeName {
    fn from_name(name: &str) -> Option<Self> {
        use poem_openapi::types::ParseFromJSON;
        Self::parse_from_json(Some(Value::from(name))).ok()
    }
}

#[OpenApi(tag = "ApiTags::Users")]
impl ChangesApi {
    /// Read the event feed
    ///
    /// Auth lifecycle events in the order their changes were committed, each once. Keep
    /// `next_cursor` and pass it as `after` on the next call: delivery is at least once
    /// (a consumer that stops before saving the cursor reads the same events again),
    /// so deduplicate on the event `id`. With `wait`, a read that finds nothing waits up
    /// to that many seconds for the next commit that records events.
    ///
    /// Each event is `{"id", "type", "timestamp", "user_id", "sequence", "data":
    /// {"user", "changed"}}`: `type` says what happened (see `EventTypeName`), `data.user`
    /// is the user after the change and `data.changed` the fields that changed. One
    /// change may record several events (an email change is `user.updated` then
    /// `user.email_changed`), in the order `user.created`, `user.updated`,
    /// `user.email_changed`, `user.email_confirmed`, `user.phone_confirmed`,
    /// `user.anonymous_upgraded`, `user.banned`, `user.unbanned`, `user.signed_in`,
    /// `profile.updated`, `user.deleted`. Events are kept
    /// `SUPAHOOK_EVENTS_RETENTION_DAYS`; a cursor older than that reads on from the
    /// oldest event kept.
    #[oai(path = "/v1/changes", method = "get", operation_id = "listChanges")]
    async fn list_changes(
        &self,
        state: Data<&Arc<AppState>>,
        token: AdminToken,
        /// The `next_cursor` of the previous read; absent (or `0`) for the oldest event kept.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        after: Query<Option<String>>,
        /// Events per read, 1 to 500 (100 when absent).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
        /// Seconds to wait for events when there are none yet, 0 to 30 (0 when absent).
        #[oai(validator(minimum(value = "0"), maximum(value = "30")))]
        wait: Query<Option<u32>>,
    ) -> Result<ChangesResponse, ErrorResponse> {
        token.check(&state)?;
        let after: i64 = match after.0.as_deref() {
            None => 0,
            Some(text) => text.parse().map_err(|_| {
                ErrorResponse::invalid_parameter("after", "is not a next_cursor of this feed")
            })?,
        };
        let limit = limit.0.unwrap_or(super::users::DEFAULT_PAGE_SIZE) as usize;
        let wait = Duration::from_secs(u64::from(wait.0.unwrap_or(0)));
        let events = state.mirroring.events_after(after, limit, wait).await?;
        let next_cursor = events.last().map_or(after, |e| e.position).to_string();
        Ok(ChangesResponse::Ok(Json(ChangePage {
            events: events.into_iter().filter_map(ChangeEvent::of).collect(),
            next_cursor,
        })))
    }
}
