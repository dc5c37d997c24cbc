//! The claims computed for each user (the chained hook's changes, supahook's own
//! claims), kept for `SUPAHOOK_TOKEN_CLAIMS_TTL` so that a refresh costs no database
//! work, and dropped at once when they may have changed.
//!
//! Dropped: for one user on `NOTIFY supahook_claims, '<user id>'` (the application's
//! trigger on its roles table, supahook's own profile edits on any replica), when a
//! delivery or another replica changes the user; for everyone when a listening
//! connection is lost or comes back, since announcements may have been missed
//! meanwhile. Until both listeners (users and claims) are listening, nothing is kept.
//!
//! A computation that began before a drop must not store what it read before it: every
//! drop moves the epoch, and a computed value is kept only if the epoch it began at
//! is still current once it is stored.

use super::splice::Prepared;
use crate::storage::ChangeNotice;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Users kept at most; past it, quick_cache evicts the least used.
const CAPACITY: usize = 100_000;

/// Listeners that must be listening before anything is kept: the users channel and
/// the claims channel.
const LISTENERS: i64 = 2;

/// The computed claims per user.
pub struct ClaimsCache {
    entries: quick_cache::sync::Cache<Uuid, Entry>,
    ttl: Duration,
    epoch: AtomicU64,
    /// Listeners not listening now; the cache is used only at zero.
    deaf: AtomicI64,
}

#[derive(Clone)]
struct Entry {
    at: Instant,
    prepared: Arc<Prepared>,
}

impl ClaimsCache {
    /// A cache keeping each user's claims for `ttl`; zero keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(CAPACITY),
            ttl,
            epoch: AtomicU64::new(0),
            deaf: AtomicI64::new(LISTENERS),
        }
    }

    fn usable(&self) -> bool {
        !self.ttl.is_zero() && self.deaf.load(Ordering::Acquire) == 0
    }

    /// The user's kept claims, while fresh.
    pub fn get(&self, id: Uuid) -> Option<Arc<Prepared>> {
        if !self.usable() {
            return None;
        }
        let entry = self.entries.get(&id)?;
        (entry.at.elapsed() < self.ttl).then_some(entry.prepared)
    }

    /// The epoch to give [`ClaimsCache::put`] for a computation beginning now.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Keeps `prepared`, computed from what was read after `epoch`, unless something
    /// was dropped since.
    pub fn put(&self, id: Uuid, epoch: u64, prepared: Arc<Prepared>) {
        if !self.usable() || self.epoch() != epoch {
            return;
        }
        let at = Instant::now();
        self.entries.insert(id, Entry { at, prepared });
        // A drop between the check and the insert: undo, to be safe.
        if self.epoch() != epoch {
            self.entries.remove(&id);
        }
    }

    /// Drops what is kept for the user.
    pub fn forget(&self, id: Uuid) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(&id);
    }

    fn forget_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }

    /// Takes in what one of the two listeners says.
    pub fn notice(&self, notice: ChangeNotice) {
        match notice {
            ChangeNotice::Changed(id) => self.forget(id),
            ChangeNotice::Listening => {
                self.forget_all();
                self.deaf.fetch_sub(1, Ordering::AcqRel);
            }
            ChangeNotice::Lost => {
                self.deaf.fetch_add(1, Ordering::AcqRel);
                self.forget_all();
            }
            // Lifecycle events follow changes already told as `Changed`.
            ChangeNotice::EventsRecorded => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listening(ttl: Duration) -> ClaimsCache {
        let cache = ClaimsCache::new(ttl);
        cache.notice(ChangeNotice::Listening);
        cache.notice(ChangeNotice::Listening);
        cache
    }

    #[test]
    fn kept_claims_are_served_until_dropped() {
        let cache = listening(Duration::from_secs(60));
        let id = Uuid::new_v4();

        cache.put(id, cache.epoch(), Arc::default());
        assert!(cache.get(id).is_some());

        cache.notice(ChangeNotice::Changed(id));
        assert!(cache.get(id).is_none());
    }

    #[test]
    fn nothing_is_kept_until_both_listeners_listen_or_after_one_is_lost() {
        let cache = ClaimsCache::new(Duration::from_secs(60));
        let id = Uuid::new_v4();
        cache.notice(ChangeNotice::Listening);
        cache.put(id, cache.epoch(), Arc::default());
        assert!(cache.get(id).is_none());

        cache.notice(ChangeNotice::Listening);
        cache.put(id, cache.epoch(), Arc::default());
        assert!(cache.get(id).is_some());

        cache.notice(ChangeNotice::Lost);
        assert!(cache.get(id).is_none());
        cache.put(id, cache.epoch(), Arc::default());
        cache.notice(ChangeNotice::Listening);
        assert!(cache.get(id).is_none(), "reconnecting clears everything");
    }

    #[test]
    fn a_computation_that_began_before_a_drop_is_not_kept() {
        let cache = listening(Duration::from_secs(60));
        let id = Uuid::new_v4();
        let began = cache.epoch();

        cache.forget(Uuid::new_v4());
        cache.put(id, began, Arc::default());

        assert!(cache.get(id).is_none());
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = listening(Duration::ZERO);
        let id = Uuid::new_v4();

        cache.put(id, cache.epoch(), Arc::default());

        assert!(cache.get(id).is_none());
    }
}
