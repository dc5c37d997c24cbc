//! Whether the database was reachable at the last try: while it is not, `open` mode
//! sends deliveries to the spool at once instead of making each wait for the budget.
//!
//! Only a real answer from the database closes it again (a delivery it applied, or the
//! drainer's ping); answers that never reach it (the token fast path, a skipped
//! delivery) say nothing about it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// The state of the database as the last real attempt found it.
#[derive(Debug, Default)]
pub(super) struct Breaker {
    down: AtomicBool,
    check_now: Notify,
    /// How many times it opened or closed: what readiness's background check found
    /// is stale once the breaker has moved since.
    moves: AtomicU64,
}

impl Breaker {
    /// `true` while the last attempt could not reach the database.
    pub(super) fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// How many times it has opened or closed so far.
    pub(super) fn moves(&self) -> u64 {
        self.moves.load(Ordering::Relaxed)
    }

    /// The database answered.
    pub(super) fn reached(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            self.moves.fetch_add(1, Ordering::Relaxed);
            tracing::info!("the database answers again; spooled deliveries are being applied");
        }
    }

    /// The database could not be reached.
    pub(super) fn unreachable(&self) {
        if !self.down.swap(true, Ordering::Relaxed) {
            self.moves.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "the database is unreachable: deliveries go to the spool until it answers"
            );
        }
    }

    /// A delivery ran out of budget: one user's row may be held, or the whole database
    /// may hang. Asks the drainer to find out now rather than at its next round.
    pub(super) fn slow(&self) {
        self.check_now.notify_one();
    }

    /// Waits `every`, or less when [`Breaker::slow`] asks for a check.
    pub(super) async fn next_check(&self, every: Duration) {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = self.check_now.notified() => {}
        }
    }
}
