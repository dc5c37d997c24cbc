//! The queries SQLite shares with PostgreSQL, from the [`read_queries!`] template.

use super::rows::{DeliveryRow, Id, UserRow, micros};
use super::schema::{
    DELIVERY_ROW, PROFILE_DETAILS, profiles, reconcile_marks, users, webhook_events,
};
use super::schema::{outbox_events, push_attempts, push_deliveries, push_endpoints};
use super::{SqliteStore, busy};
use crate::storage::outbox::outbox_queries;
use crate::storage::push_queries::push_queries;
use crate::storage::read_queries::read_queries;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

read_queries!(
    SqliteStore,
    time: micros,
    error: busy,
    transaction: immediate_transaction,
    writer: writer,
);

outbox_queries!(
    SqliteStore,
    time: micros,
    time_sql: diesel::sql_types::TimestamptzSqlite,
    error: busy,
);

push_queries!(
    SqliteStore,
    time: micros,
    time_sql: diesel::sql_types::TimestamptzSqlite,
    error: busy,
    transaction: immediate_transaction,
    skip_locked: "",
    multi_row: false,
    writer: writer,
);
