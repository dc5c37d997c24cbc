//! The queries PostgreSQL shares with SQLite, from the [`read_queries!`] template.

use super::PgStore;
use super::rows::{DeliveryRow, Id, UserRow};
use super::schema::{
    DELIVERY_ROW, PROFILE_DETAILS, profiles, reconcile_marks, users, webhook_events,
};
use super::schema::{outbox_events, push_attempts, push_deliveries, push_endpoints};
use crate::storage::StorageError;
use crate::storage::outbox::outbox_queries;
use crate::storage::push_queries::push_queries;
use crate::storage::read_queries::read_queries;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

read_queries!(
    PgStore,
    time: |t: DateTime<Utc>| t,
    error: StorageError::from,
    transaction: transaction,
    lock: for_update,
    announce: super::claims::announce,
);

outbox_queries!(
    PgStore,
    time: |t: DateTime<Utc>| t,
    time_sql: diesel::sql_types::Timestamptz,
    error: StorageError::from,
);

push_queries!(
    PgStore,
    time: |t: DateTime<Utc>| t,
    time_sql: diesel::sql_types::Timestamptz,
    error: StorageError::from,
    transaction: transaction,
    skip_locked: " FOR UPDATE SKIP LOCKED",
    multi_row: true,
);
