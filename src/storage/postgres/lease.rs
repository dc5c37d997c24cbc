//! The publisher's lease on PostgreSQL: a session advisory lock on a connection of its
//! own, so no pooled connection is held and the lock goes with the session.

use super::SchemaName;
use super::statements::PUBLISHER_LOCK_KEY;
use crate::infra::pg_connect::PgTarget;
use crate::storage::{PublisherLease, StorageError};
use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;
use std::sync::Arc;

#[derive(diesel::QueryableByName)]
struct Taken {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

/// The lease, when no other session holds the publisher's lock.
pub(super) async fn lead(
    target: Arc<PgTarget>,
    schema: &SchemaName,
) -> Result<Option<PublisherLease>, StorageError> {
    let mut conn = crate::storage::checkout(super::connect(target, schema)).await?;
    let lock = format!("SELECT pg_try_advisory_lock({PUBLISHER_LOCK_KEY}) AS taken");
    let taken: Taken = diesel::sql_query(lock).get_result(&mut conn).await?;
    Ok(taken.taken.then(|| PublisherLease::postgres(conn)))
}
