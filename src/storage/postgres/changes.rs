//! Listens for the users other replicas change, announced at their commit, and for
//! the lifecycle events any process records (`supahook_changes`).

use super::statements::{CHANGES_CHANNEL, EVENTS_CHANNEL};
use crate::infra::pg_connect::PgTarget;
use crate::storage::ChangeNotice;
use diesel_async::SimpleAsyncConnection;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How long to wait before listening again after the connection was lost.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Runs until the process ends: tells `notice` about every user another replica
/// changes, that it is listening, and when it lost track (the connection broke).
pub async fn listen(
    target: Arc<PgTarget>,
    replica: Arc<str>,
    notice: Arc<dyn Fn(ChangeNotice) + Send + Sync>,
) {
    loop {
        match target.connect().await {
            Ok(mut conn) => match conn
                .batch_execute(&format!(
                    "LISTEN {CHANGES_CHANNEL}; LISTEN {EVENTS_CHANNEL}"
                ))
                .await
            {
                Ok(()) => {
                    notice(ChangeNotice::Listening);
                    let mut stream = std::pin::pin!(conn.notifications_stream());
                    while let Some(Ok(message)) = stream.next().await {
                        if message.channel == EVENTS_CHANNEL {
                            notice(ChangeNotice::EventsRecorded);
                        } else if let Some(id) = foreign_change(&message.payload, &replica) {
                            notice(ChangeNotice::Changed(id));
                        }
                    }
                    notice(ChangeNotice::Lost);
                    tracing::warn!("lost the connection that listens for other replicas' changes");
                }
                Err(error) => {
                    tracing::warn!(error = %error, "cannot listen for other replicas' changes")
                }
            },
            Err(error) => {
                tracing::debug!(error = %error, "cannot listen for other replicas' changes")
            }
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

/// The user named by an announcement `<replica>:<user id>` from another replica.
fn foreign_change(payload: &str, replica: &str) -> Option<Uuid> {
    let (from, id) = payload.split_once(':')?;
    (from != replica).then(|| id.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_other_replicas_changes_are_taken() {
        let id = Uuid::new_v4();

        assert_eq!(foreign_change(&format!("b:{id}"), "a"), Some(id));
        assert_eq!(foreign_change(&format!("a:{id}"), "a"), None);
        assert_eq!(foreign_change("b:not-a-uuid", "a"), None);
        assert_eq!(foreign_change("garbage", "a"), None);
    }
}
