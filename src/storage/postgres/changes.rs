//! Listens on a dedicated connection for what is announced on channels: the users
//! other replicas change (announced at their commit), the users whose token claims
//! changed, and the lifecycle events any process records (`supahook_changes`).

use crate::infra::pg_connect::PgTarget;
use crate::storage::ChangeNotice;
use diesel_async::SimpleAsyncConnection;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How long to wait before listening again after the connection was lost.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Runs until the process ends: tells `notice` what `notice_of` makes of each
/// announcement (its channel, its payload) on `channels`, that it is listening, and
/// when it lost track (the connection broke; it connects again a second later).
pub async fn listen(
    target: Arc<PgTarget>,
    channels: &'static [&'static str],
    notice_of: impl Fn(&str, &str) -> Option<ChangeNotice>,
    notice: Arc<dyn Fn(ChangeNotice) + Send + Sync>,
) {
    let channel = channels.join(",");
    let channel = channel.as_str();
    loop {
        match target.connect().await {
            Ok(mut conn) => match conn.batch_execute(&listen_to(channels)).await {
                Ok(()) => {
                    notice(ChangeNotice::Listening);
                    let mut stream = std::pin::pin!(conn.notifications_stream());
                    while let Some(Ok(message)) = stream.next().await {
                        if let Some(told) = notice_of(&message.channel, &message.payload) {
                            notice(told);
                        }
                    }
                    notice(ChangeNotice::Lost);
                    tracing::warn!(channel, "lost the connection that listens for changes");
                }
                Err(error) => {
                    tracing::warn!(channel, error = %error, "cannot listen for changes")
                }
            },
            Err(error) => {
                tracing::debug!(channel, error = %error, "cannot listen for changes")
            }
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

/// `LISTEN` on each of `channels`, in one statement.
fn listen_to(channels: &[&str]) -> String {
    channels.iter().map(|c| format!("LISTEN {c};")).collect()
}

/// The user named by an announcement `<replica>:<user id>` from another replica.
pub fn foreign_change(payload: &str, replica: &str) -> Option<Uuid> {
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
