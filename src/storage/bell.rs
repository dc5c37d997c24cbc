//! The bell that wakes readers of the event feed when a commit recorded events, in
//! this process or (on PostgreSQL, through `NOTIFY supahook_changes`) in another.

use tokio::sync::watch;

/// Rung after every commit that recorded lifecycle events; cheap to clone.
#[derive(Debug, Clone)]
pub struct EventBell(std::sync::Arc<watch::Sender<u64>>);

impl Default for EventBell {
    fn default() -> Self {
        Self(std::sync::Arc::new(watch::Sender::new(0)))
    }
}

impl EventBell {
    /// Wakes every reader waiting now.
    pub fn ring(&self) {
        self.0.send_modify(|rung| *rung = rung.wrapping_add(1));
    }

    /// Counts the events a commit recorded (`applied`, this process's own), and wakes
    /// every reader when there are any.
    pub fn recorded(&self, applied: &[super::Applied]) {
        let events: usize = applied.iter().map(|a| a.events).sum();
        if events > 0 {
            crate::telemetry::events_recorded(events);
            self.ring();
        }
    }

    /// A receiver that sees every ring from now on (`changed()` resolves at the next).
    pub fn listen(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_ring_after_listening_wakes_the_listener() {
        let bell = EventBell::default();
        let mut listener = bell.listen();

        bell.clone().ring();

        tokio::time::timeout(Duration::from_millis(100), listener.changed())
            .await
            .expect("woken")
            .unwrap();
    }
}
