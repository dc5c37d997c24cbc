//! The outbox read back: the feed of recorded lifecycle events, in the order they were
//! committed, and its pruning. [`outbox_queries!`] is expanded inside each backend's
//! read module, where `outbox_events` is that backend's table and `Id` its user id type.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// One recorded lifecycle event.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Its place in the feed: later commits have greater positions.
    pub position: i64,
    /// The event id, the same however often its change was delivered.
    pub id: Uuid,
    /// The event type, e.g. `user.created`.
    pub kind: String,
    /// The user concerned.
    pub user_id: Uuid,
    /// The user's events are numbered 1, 2, 3, … in the order they happened.
    pub sequence: i64,
    /// When the change was committed.
    pub recorded_at: DateTime<Utc>,
    /// `{"user": …, "changed": […]}`.
    pub data: Value,
}

/// One row of `outbox_events`, with the backend's id type.
pub type EventRow<I> = (i64, I, String, I, i64, DateTime<Utc>, Value);

/// The event of a row.
pub fn recorded<I: Into<Uuid>>(row: EventRow<I>) -> RecordedEvent {
    let (position, id, kind, user_id, sequence, recorded_at, data) = row;
    RecordedEvent {
        position,
        id: id.into(),
        kind,
        user_id: user_id.into(),
        sequence,
        recorded_at,
        data,
    }
}

impl RecordedEvent {
    /// The event as consumers receive it, `GET /v1/changes`' shape:
    /// `{"id", "type", "timestamp", "user_id", "sequence", "data": {"user", "changed"}}`.
    pub fn payload(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "type": self.kind,
            "timestamp": self.recorded_at,
            "user_id": self.user_id,
            "sequence": self.sequence,
            "data": self.data,
        })
    }
}

/// A cursor's position read back.
#[derive(diesel::QueryableByName)]
pub struct CursorRow {
    /// The position.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub position: i64,
}

/// The columns of an [`EventRow`], in its order, with the backend's `outbox_events::dsl`
/// imported as `o` where it is used.
macro_rules! event_columns {
    () => {
        (
            o::position,
            o::id,
            o::type_,
            o::user_id,
            o::sequence,
            o::recorded_at,
            o::data,
        )
    };
}
pub(crate) use event_columns;

/// Implements [`OutboxQueries`](crate::storage::OutboxQueries) on `$store`; `time`
/// makes a timestamp column's value, `time_sql` is its SQL type, `error` turns a
/// query's error into a `StorageError`.
macro_rules! outbox_queries {
    ($store:ty, time: $time:expr, time_sql: $time_sql:ty, error: $error:expr $(,)?) => {
        impl $crate::storage::OutboxQueries for $store {
            async fn list_events(
                &self,
                after: i64,
                limit: usize,
            ) -> Result<Vec<$crate::storage::RecordedEvent>, $crate::storage::StorageError> {
                use outbox_events::dsl as o;
                let mut conn = self.conn().await?;
                let rows: Vec<$crate::storage::outbox::EventRow<Id>> = o::outbox_events
                    .select($crate::storage::outbox::event_columns!())
                    .filter(o::position.gt(after))
                    .order(o::position)
                    .limit(limit as i64)
                    .load(&mut conn)
                    .await
                    .map_err($error)?;
                Ok(rows
                    .into_iter()
                    .map($crate::storage::outbox::recorded)
                    .collect())
            }

            async fn forget_events(
                &self,
                recorded_before: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<usize, $crate::storage::StorageError> {
                let mut conn = self.conn().await?;
                diesel::sql_query(
                    "DELETE FROM outbox_events WHERE recorded_at < $1 AND EXISTS \
                     (SELECT 1 FROM outbox_events later WHERE later.user_id = \
                     outbox_events.user_id AND later.sequence > outbox_events.sequence) \
                     AND outbox_events.position <= COALESCE((SELECT MIN(queued_through) \
                     FROM push_endpoints WHERE disabled_at IS NULL), outbox_events.position) \
                     AND NOT EXISTS (SELECT 1 FROM push_deliveries d JOIN push_endpoints e \
                     ON e.url = d.url WHERE d.position = outbox_events.position \
                     AND d.state = 'pending' AND e.disabled_at IS NULL)",
                )
                .bind::<$time_sql, _>(($time)(recorded_before))
                .execute(&mut conn)
                .await
                .map_err($error)
            }

            async fn publisher_cursor(
                &self,
                stream: &str,
            ) -> Result<i64, $crate::storage::StorageError> {
                use diesel::sql_types::Text;
                let mut conn = self.conn().await?;
                let rows: Vec<$crate::storage::outbox::CursorRow> =
                    diesel::sql_query("SELECT position FROM nats_cursor WHERE stream = $1")
                        .bind::<Text, _>(stream)
                        .load(&mut conn)
                        .await
                        .map_err($error)?;
                Ok(rows.into_iter().next().map_or(0, |r| r.position))
            }

            async fn advance_publisher_cursor(
                &self,
                stream: &str,
                position: i64,
            ) -> Result<(), $crate::storage::StorageError> {
                use diesel::sql_types::{BigInt, Text};
                let mut conn = self.conn().await?;
                diesel::sql_query(
                    "INSERT INTO nats_cursor (stream, position) VALUES ($1, $2) \
                     ON CONFLICT (stream) DO UPDATE SET position = excluded.position \
                     WHERE nats_cursor.position < excluded.position",
                )
                .bind::<Text, _>(stream)
                .bind::<BigInt, _>(position)
                .execute(&mut conn)
                .await
                .map_err($error)?;
                Ok(())
            }
        }
    };
}
pub(super) use outbox_queries;
