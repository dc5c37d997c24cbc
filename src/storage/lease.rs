//! The right to publish the outbox to NATS, held by one process at a time so that
//! events reach the stream in one order.

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::time::Duration;

/// How long the lease's check may wait for its connection to answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Held by the one process that publishes; dropping it lets another take over.
pub struct PublisherLease(Held);

enum Held {
    /// PostgreSQL: the connection, of its own, whose session holds the advisory lock.
    Postgres(Box<AsyncPgConnection>),
    /// SQLite: one process uses the database file.
    Alone,
}

impl PublisherLease {
    /// The lease a PostgreSQL session holds while `conn` lives.
    pub(super) fn postgres(conn: AsyncPgConnection) -> Self {
        Self(Held::Postgres(Box::new(conn)))
    }

    /// The lease of the only process.
    pub(super) fn alone() -> Self {
        Self(Held::Alone)
    }

    /// Whether the lease still holds: on PostgreSQL, whether the session holding the
    /// lock still answers (its server released the lock if it died).
    pub async fn still_held(&mut self) -> bool {
        match &mut self.0 {
            Held::Postgres(conn) => {
                let answer = diesel::sql_query("SELECT 1").execute(conn.as_mut());
                matches!(tokio::time::timeout(CHECK_TIMEOUT, answer).await, Ok(Ok(_)))
            }
            Held::Alone => true,
        }
    }
}
