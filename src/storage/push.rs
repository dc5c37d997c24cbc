//! The delivery state of signed webhooks (`push_endpoints`, `push_deliveries`,
//! `push_attempts`): events queued per endpoint, claimed in order per user, and every
//! attempt with what became of it. [`push_queries!`] is expanded inside each backend's
//! read module; the decisions (when to retry, when to give up) are made elsewhere and
//! arrive here as a [`PushStep`].

use super::RecordedEvent;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What one attempt makes of its delivery, decided by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushStep {
    /// The endpoint took it.
    Delivered,
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// The retry window ran out: dead-lettered, no longer holding the user's later events.
    Dead,
    /// The endpoint asked not to be called again (410): it is disabled, for this
    /// reason, and the event stays pending until it is enabled.
    Disable(String),
}

/// One attempt to post an event to an endpoint.
#[derive(Debug, Clone)]
pub struct PushAttempt<'a> {
    /// The endpoint.
    pub url: &'a str,
    /// The event's place in the outbox.
    pub position: i64,
    /// The event's id; `None` when the outbox no longer holds it (no attempt is kept then).
    pub event_id: Option<Uuid>,
    /// When the attempt started.
    pub attempted_at: DateTime<Utc>,
    /// The HTTP status answered; `None` when no answer came.
    pub status: Option<u16>,
    /// How long it took.
    pub latency_ms: i64,
    /// What went wrong, in words that hold no secret.
    pub error: Option<&'a str>,
}

/// A pending delivery claimed for one attempt.
#[derive(Debug, Clone)]
pub struct PushClaim {
    /// The event's place in the outbox.
    pub position: i64,
    /// Attempts made so far.
    pub attempts: i32,
    /// When it was queued (or queued again by `redeliver`): its retry window starts here.
    pub queued_at: DateTime<Utc>,
    /// The event; `None` when the outbox no longer holds it.
    pub event: Option<RecordedEvent>,
}

/// The next recorded events for an endpoint, leased to this process until its result
/// is recorded (or the lease runs out, when another replica sends them again).
#[derive(Debug, Clone)]
pub struct PushBatch {
    /// The endpoint's cursor when the batch was taken.
    pub from: i64,
    /// Where the cursor goes once the batch is recorded.
    pub through: i64,
    /// The events of the endpoint's types after `from`, in order, each with whether
    /// its user has an event waiting for the endpoint (it must then wait behind it).
    pub events: Vec<(RecordedEvent, bool)>,
}

/// A delivery left to the retry queue by a batch of new events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushQueued {
    /// The event's place in the outbox.
    pub position: i64,
    /// The user concerned.
    pub user_id: Uuid,
    /// Attempts made so far (0 for an event that waited behind its user's).
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// Dead-lettered at this time; `None` while pending.
    pub dead_at: Option<DateTime<Utc>>,
}

/// What a batch of new events came to, recorded in one transaction.
#[derive(Debug, Clone)]
pub struct PushBatchResult<'a> {
    /// The endpoint.
    pub url: &'a str,
    /// The cursor the batch was taken at; nothing moves if another replica moved it.
    pub from: i64,
    /// Where the cursor goes.
    pub through: i64,
    /// When the batch's deliveries left to the retry queue were queued.
    pub queued_at: DateTime<Utc>,
    /// Every attempt made.
    pub attempts: Vec<PushAttempt<'a>>,
    /// The events not delivered, with their retry schedule.
    pub queued: Vec<PushQueued>,
    /// Why the endpoint is disabled (it answered 410), if it is.
    pub disable: Option<String>,
}

/// An endpoint as the database knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PushEndpointState {
    /// The endpoint's URL.
    pub url: String,
    /// Its cursor: events up to this outbox position were delivered, or wait for it
    /// among the deliveries.
    pub queued_through: i64,
    /// When and why it was disabled; `None` while enabled.
    pub disabled: Option<(DateTime<Utc>, String)>,
    /// Events waiting for it: in its retry queue, or recorded after its cursor.
    pub outstanding: i64,
    /// Events dead-lettered for it and still kept.
    pub dead: i64,
    /// Since when the oldest event waiting for it has waited: when it was queued for a
    /// retry, or recorded when it is still after the cursor.
    pub oldest_outstanding: Option<DateTime<Utc>>,
}

/// One recorded attempt, as the API lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PushAttemptRecord {
    /// Its place among attempts: later attempts have greater ids.
    pub id: i64,
    /// The endpoint.
    pub url: String,
    /// The event's id (the `webhook-id` sent).
    pub event_id: Uuid,
    /// The event's place in the outbox.
    pub position: i64,
    /// When it started.
    pub attempted_at: DateTime<Utc>,
    /// The HTTP status answered; `None` when no answer came.
    pub status: Option<i32>,
    /// How long it took, in milliseconds.
    pub latency_ms: i64,
    /// What went wrong.
    pub error: Option<String>,
}

/// Which attempts to list.
#[derive(Debug, Clone, Default)]
pub struct PushAttemptFilter {
    /// Only to this endpoint.
    pub url: Option<String>,
    /// Only of this event.
    pub event_id: Option<Uuid>,
    /// Only with ids below this one (the previous page's last).
    pub before: Option<i64>,
}

/// Which recorded events `redeliver` queues again.
#[derive(Debug, Clone)]
pub struct RedeliverWindow<'a> {
    /// For this endpoint.
    pub url: &'a str,
    /// Recorded at or after this time.
    pub since: DateTime<Utc>,
    /// Recorded before this time.
    pub until: DateTime<Utc>,
    /// Of these types only; `None` for every type.
    pub types: Option<&'a [&'a str]>,
}

/// A row of `push_attempts` with the backend's id and time types.
pub type AttemptRow<I, T> = (i64, String, I, i64, T, Option<i32>, i64, Option<String>);

/// The record of a row.
pub fn attempt_record<I: Into<Uuid>>(row: AttemptRow<I, DateTime<Utc>>) -> PushAttemptRecord {
    let (id, url, event_id, position, attempted_at, status, latency_ms, error) = row;
    PushAttemptRecord {
        id,
        url,
        event_id: event_id.into(),
        position,
        attempted_at,
        status,
        latency_ms,
        error,
    }
}

/// The SQL condition `o.type IN (...)` for `types`; `TRUE` for every type. Only names
/// made of lower-case letters, `.` and `_` (every event type's) are written into it.
pub fn type_condition(types: Option<&[&str]>) -> String {
    let Some(types) = types else {
        return "TRUE".to_owned();
    };
    let names: Vec<String> = types
        .iter()
        .filter(|t| {
            t.chars()
                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
        })
        .map(|t| format!("'{t}'"))
        .collect();
    match names.is_empty() {
        true => "FALSE".to_owned(),
        false => format!("o.type IN ({})", names.join(", ")),
    }
}

/// A position returned by a statement.
#[derive(diesel::QueryableByName)]
pub struct Position {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub position: i64,
}

/// Queues again (or for the first time) the outbox events of one endpoint: `$1` url,
/// `$2` queued at, `$3` first attempt at, then the condition's own parameters.
pub fn queue_sql(condition: &str, types: &str) -> String {
    format!(
        "INSERT INTO push_deliveries (url, position, user_id, state, attempts, queued_at, \
         next_attempt_at) SELECT $1, o.position, o.user_id, 'pending', 0, $2, $3 \
         FROM outbox_events o WHERE {condition} AND {types} \
         ON CONFLICT (url, position) DO UPDATE SET state = 'pending', attempts = 0, \
         queued_at = excluded.queued_at, next_attempt_at = excluded.next_attempt_at, \
         finished_at = NULL"
    )
}

/// Leases an enabled endpoint `$2` that has events before `$3` (the newest position)
/// after its cursor until `$1`, unless another holds it past `$4` (now); returns its
/// cursor.
pub const LEASE_SQL: &str = "UPDATE push_endpoints SET lease_until = $1 WHERE url = $2 \
     AND disabled_at IS NULL AND queued_through < $3 \
     AND (lease_until IS NULL OR lease_until <= $4) RETURNING queued_through AS position";

/// Claims due deliveries of `$2` while it is enabled, the earliest pending one of each user only, leasing
/// them until `$1`; `$3` is now, `$4` the most to claim. `lock` is what keeps two
/// replicas from claiming the same row (empty on SQLite, where one process writes).
pub fn claim_sql(lock: &str) -> String {
    format!(
        "UPDATE push_deliveries SET next_attempt_at = $1 WHERE url = $2 AND position IN (\
         SELECT d.position FROM push_deliveries d WHERE d.url = $2 AND d.state = 'pending' \
         AND EXISTS (SELECT 1 FROM push_endpoints p WHERE p.url = $2 AND p.disabled_at IS NULL) \
         AND d.next_attempt_at <= $3 AND NOT EXISTS (SELECT 1 FROM push_deliveries e \
         WHERE e.url = d.url AND e.user_id = d.user_id AND e.state = 'pending' \
         AND e.position < d.position) ORDER BY d.position LIMIT $4{lock}) RETURNING position"
    )
}
