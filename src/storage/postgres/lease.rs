//! The publisher's lease on PostgreSQL: a session advisory lock on a connection of its
//! own, so no pooled connection is held and the lock goes with the session. A process
//! waits for the lock in the server, so it takes over as soon as the holder's session
//! ends, without asking again and again.

use super::SchemaName;
use super::statements::PUBLISHER_LOCK_KEY;
use crate::infra::pg_connect::PgTarget;
use crate::storage::{PublisherLease, StorageError};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use std::sync::Arc;

/// The lease, once no other session holds the publisher's lock.
pub(super) async fn lead(
    target: Arc<PgTarget>,
    schema: &SchemaName,
) -> Result<Option<PublisherLease>, StorageError> {
    let mut conn = crate::storage::checkout(super::connect(target, schema)).await?;
    // Waiting for the lock is the statement's whole point: no time limit on it.
    conn.batch_execute("SET statement_timeout = 0").await?;
    diesel::sql_query(format!("SELECT pg_advisory_lock({PUBLISHER_LOCK_KEY})"))
        .execute(&mut conn)
        .await?;
    Ok(Some(PublisherLease::postgres(conn)))
}
