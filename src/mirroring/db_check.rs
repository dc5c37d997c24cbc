//! The database's state as readiness reports it: one check a second in the
//! background, whatever the number of probes, so that probing costs the database
//! nothing and an unauthenticated caller cannot make it work.
//!
//! A failed check moves nothing: only real deliveries open the breaker (a slow or
//! failed check must not send deliveries to the spool). A check the database answers
//! closes it, as the drainer's ping does. What a check found holds until the breaker
//! moves: a delivery that fails, or one the database takes, is newer news.

use super::Mirroring;
use crate::storage::Backend;
use std::sync::RwLock;
use std::time::Duration;

/// How often the background check asks the database.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What the last check found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DatabaseState {
    /// No check has run yet.
    #[default]
    Unknown,
    /// The database answered.
    Up,
    /// It did not answer, or not in time: an outage that can pass.
    Down,
    /// It refused supahook for a reason that will not pass by itself (a rotated
    /// password, a dropped database, a certificate that no longer verifies).
    Refused(String),
}

/// The state the last check left, shared by every probe, with the breaker's move
/// count when it was found.
#[derive(Debug, Default)]
pub(super) struct DbCheck {
    state: RwLock<(DatabaseState, u64)>,
}

impl DbCheck {
    /// What the last check found, if the breaker has not moved since `moves`.
    pub(super) fn state(&self, moves: u64) -> DatabaseState {
        match self.state.read() {
            Ok(kept) if kept.1 == moves => kept.0.clone(),
            _ => DatabaseState::Unknown,
        }
    }

    /// Keeps `state`; a refusal that starts is logged once, with `detail` (the server
    /// and its words, which readiness does not show).
    fn set(&self, state: DatabaseState, detail: Option<String>, moves: u64) {
        if let Ok(mut kept) = self.state.write() {
            if let (DatabaseState::Refused(_), false) = (&state, kept.0 == state) {
                tracing::error!(
                    reason = detail.as_deref().unwrap_or_default(),
                    "the database refuses supahook for a reason that will not pass by \
                     itself: deliveries go to the spool until DATABASE_URL or the database \
                     is corrected"
                );
            }
            *kept = (state, moves);
        }
    }
}

/// Checks the database once a second for as long as the process runs.
pub(super) async fn run(mirroring: Mirroring) {
    loop {
        let before = mirroring.breaker.moves();
        let (state, detail) = check(&mirroring).await;
        // A delivery that failed while the check ran is newer news than its answer.
        let mut moves = before;
        if state == DatabaseState::Up && mirroring.breaker.moves() == before {
            mirroring.breaker.reached();
            moves = mirroring.breaker.moves();
        }
        mirroring.check.set(state, detail, moves);
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

/// What the database answered, with the full text of a refusal.
async fn check(mirroring: &Mirroring) -> (DatabaseState, Option<String>) {
    let answered = match mirroring
        .migrated
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        true => mirroring.storage.ping(mirroring.budget).await.is_ok(),
        // Until the drainer has migrated, the database counts as down; its attempts
        // tell whether it refuses.
        false => false,
    };
    match (answered, mirroring.storage.refusal()) {
        (true, _) => (DatabaseState::Up, None),
        (false, Some(refusal)) => {
            let detail = refusal.to_string();
            (DatabaseState::Refused(refusal.reason), Some(detail))
        }
        (false, None) => (DatabaseState::Down, None),
    }
}
