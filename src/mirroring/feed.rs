//! The event feed read with a long poll: recorded events after a position, waiting
//! for the next commit that records some when there are none yet.

use super::Mirroring;
use crate::storage::{OutboxQueries, RecordedEvent, StorageError};
use std::time::Duration;
use tokio::time::Instant;

/// The longest a reader may wait for events.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

impl Mirroring {
    /// At most `limit` events after position `after`, in the order they were committed.
    /// When there are none, waits up to `wait` (at most [`MAX_WAIT`]) for a commit that
    /// records some, in this process or, on PostgreSQL, in another, and reads again.
    pub async fn events_after(
        &self,
        after: i64,
        limit: usize,
        wait: Duration,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let deadline = Instant::now() + wait.min(MAX_WAIT);
        loop {
            // Listening before reading: a commit between the read and the wait still wakes.
            let mut bell = self.event_bell().listen();
            let events = self.storage().list_events(after, limit).await?;
            if !events.is_empty() || Instant::now() >= deadline {
                return Ok(events);
            }
            if tokio::time::timeout_at(deadline, bell.changed())
                .await
                .is_err()
            {
                return Ok(Vec::new());
            }
        }
    }
}
