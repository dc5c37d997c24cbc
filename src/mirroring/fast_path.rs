//! The token-refresh fast path: answer a custom-access-token whose claims change
//! nothing without touching the database.
//!
//! Every sign-in and every refresh of every user calls the custom-access-token hook,
//! and almost all of them carry the identity the mirror already holds. This process
//! remembers, per user, a fingerprint of the identity it last saw in the database and
//! its version. A token with that identity changes nothing now, whatever its `iat`, so
//! it is answered at once, with no ledger row: `stale` when it is older than the
//! remembered version, `unchanged` otherwise. When supahook adds claims to tokens
//! (`crate::token_claims`), those come from their own per-user cache, written into the
//! token's claims text as it came, so such a refresh needs no database either while
//! they are kept.
//!
//! Why this never skips a real change:
//! - A token with another identity, or for a user not remembered, goes to the database.
//! - A token older than the remembered version is older than what the database holds:
//!   the database's version of a user only ever moves forward, and the remembered one
//!   was read from it (or lags it, below). A token carries the identity family alone
//!   (no activity, no creation time), so the rule finds it stale whatever identity the
//!   database holds by now, even one another replica wrote a moment ago, and writes
//!   nothing: refreshes of one user from several sessions, arriving out of order, need
//!   no database. Such a token is not kept for the background write either.
//! - What is remembered comes from this process's own writes, and other replicas
//!   announce at commit (PostgreSQL `NOTIFY`) every change to a user's identity and
//!   every delete, which makes this one forget the user. While the announcements cannot
//!   be heard (the listening connection is lost), nothing is trusted and the cache is
//!   emptied. A write that overlaps an announcement is not remembered (the generation
//!   check in [`FastPath::remember`]). Moves of the version alone are not announced: an
//!   announcement holds a lock through the commit, which would serialise the commits
//!   of every refresh. A remembered version that lags can only let a token through that
//!   the database would have found stale; written later through the rule (below), it
//!   still changes nothing.
//! - The one thing a skipped token would have done is move the identity version
//!   forward, which makes a late, older snapshot stale. That is not lost either: the
//!   newest skipped token per user is applied in the background within
//!   [`FLUSH_EVERY`] (and at shutdown), through the same rule as every delivery, so the
//!   end state is the same as if each token had been written. A crash loses only those
//!   version moves, which the next real change or `reconcile` makes up for.
//! - An announcement reaches other replicas a moment after commit. A token arriving at
//!   another replica in that moment, with the identity from before the change, was
//!   issued before the change, so it is older than the change and changes nothing.

use crate::events::UserRecord;
use crate::mirror::{self, MirrorUser, Outcome};
use crate::storage::ChangeNotice;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// How many users are remembered; past that the least used are forgotten.
pub const CAPACITY: usize = 100_000;

/// How often the version moves of skipped tokens are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct Known {
    fingerprint: [u8; 32],
    version: DateTime<Utc>,
    /// The idempotency key of the last delivery seen for the user, so that a retry
    /// of it is still answered as a duplicate.
    last_key: Arc<str>,
}

/// What this process knows of the mirrored users' identities.
pub struct FastPath {
    known: quick_cache::sync::Cache<Uuid, Known>,
    /// Announcements from other processes are being heard.
    trusted: AtomicBool,
    /// Moves on every announcement, so a write overlapping one is not remembered.
    generation: AtomicU64,
    /// The newest skipped token per user, to be applied by [`FastPath::take_skipped`].
    skipped: Mutex<HashMap<Uuid, Arc<UserRecord>>>,
}

impl Default for FastPath {
    fn default() -> Self {
        Self {
            known: quick_cache::sync::Cache::new(CAPACITY),
            trusted: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            skipped: Mutex::default(),
        }
    }
}

impl FastPath {
    /// The outcome of token claims `record`, delivered under idempotency `key`, when
    /// the database need not be asked.
    pub fn answer(&self, record: &Arc<UserRecord>, key: &str) -> Option<Outcome> {
        if !self.trusted.load(Ordering::Acquire) || record.activity.is_some() {
            return None;
        }
        let known = self.known.get(&record.id)?;
        if *known.last_key == *key {
            return Some(Outcome::Duplicate);
        }
        if mirror::identity_fingerprint(record) != known.fingerprint {
            return None;
        }
        self.known.insert(
            record.id,
            Known {
                last_key: key.into(),
                ..known
            },
        );
        if record.version < known.version {
            return Some(Outcome::Stale);
        }
        if record.version > known.version {
            let mut skipped = self.skipped.lock().unwrap_or_else(|p| p.into_inner());
            let newer = skipped
                .get(&record.id)
                .is_none_or(|s| s.version < record.version);
            if newer {
                skipped.insert(record.id, record.clone());
            }
        }
        Some(Outcome::Unchanged)
    }

    /// The generation to pass to [`FastPath::remember`] after a write.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Remembers the user `id` as a write that began at `generation` left it, after
    /// the delivery keyed `key`.
    pub fn remember(&self, generation: u64, id: Uuid, user: Option<&MirrorUser>, key: &str) {
        // A provisional user's first token confirms it, which only the database can do.
        match user.filter(|u| u.deleted_at.is_none() && !u.provisional) {
            Some(user) if self.generation() == generation => self.known.insert(
                id,
                Known {
                    fingerprint: mirror::stored_identity_fingerprint(user),
                    version: user.source_updated_at,
                    last_key: key.into(),
                },
            ),
            _ => {
                self.known.remove(&id);
            }
        }
    }

    /// Takes in what the change listener says.
    pub fn notice(&self, notice: ChangeNotice) {
        if notice == ChangeNotice::EventsRecorded {
            return;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        match notice {
            ChangeNotice::Changed(id) => {
                self.known.remove(&id);
            }
            ChangeNotice::Listening => {
                self.known.clear();
                self.trusted.store(true, Ordering::Release);
            }
            ChangeNotice::Lost => {
                self.trusted.store(false, Ordering::Release);
                self.known.clear();
            }
            ChangeNotice::EventsRecorded => {}
        }
    }

    /// The skipped tokens not yet written, newest per user; they are forgotten here.
    pub fn take_skipped(&self) -> Vec<Arc<UserRecord>> {
        let mut skipped = self.skipped.lock().unwrap_or_else(|p| p.into_inner());
        skipped.drain().map(|(_, record)| record).collect()
    }

    /// Puts back skipped tokens that could not be written, unless newer ones came.
    pub fn keep_skipped(&self, records: Vec<Arc<UserRecord>>) {
        let mut skipped = self.skipped.lock().unwrap_or_else(|p| p.into_inner());
        for record in records {
            if skipped
                .get(&record.id)
                .is_none_or(|s| s.version < record.version)
            {
                skipped.insert(record.id, record);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Activity, PersonName};

    fn token(id: Uuid, email: &str, second: i64) -> Arc<UserRecord> {
        Arc::new(UserRecord {
            id,
            version: DateTime::from_timestamp(1_770_000_000 + second, 0).unwrap(),
            email: Some(email.into()),
            phone: None,
            name: PersonName::default(),
            avatar_url: None,
            auth_provider: None,
            providers: vec![],
            is_anonymous: false,
            user_metadata: serde_json::json!({}),
            app_metadata: serde_json::json!({}),
            activity: None,
            auth_created_at: None,
            provisional: false,
            metadata_blanked: false,
            is_sso_user: None,
        })
    }

    fn stored(record: &UserRecord) -> MirrorUser {
        mirror::new_user(record, record.version)
    }

    /// A fast path that hears announcements and remembers `record` as written.
    fn knowing(record: &UserRecord) -> FastPath {
        let fast = FastPath::default();
        fast.notice(ChangeNotice::Listening);
        fast.remember(fast.generation(), record.id, Some(&stored(record)), "first");
        fast
    }

    #[test]
    fn a_newer_token_with_the_same_identity_is_answered_and_kept_for_later() {
        let id = Uuid::new_v4();
        let fast = knowing(&token(id, "a@example.com", 10));

        let newer = token(id, "a@example.com", 20);

        assert_eq!(fast.answer(&newer, "newer"), Some(Outcome::Unchanged));
        assert_eq!(
            fast.answer(&newer, "newer"),
            Some(Outcome::Duplicate),
            "its retry"
        );
        assert_eq!(fast.take_skipped(), vec![newer]);
        assert!(fast.take_skipped().is_empty(), "taken once");
    }

    #[test]
    fn a_token_with_another_identity_or_for_an_unknown_user_goes_to_the_database() {
        let id = Uuid::new_v4();
        let fast = knowing(&token(id, "a@example.com", 10));

        assert_eq!(fast.answer(&token(id, "b@example.com", 20), "k"), None);
        assert_eq!(
            fast.answer(&token(Uuid::new_v4(), "a@example.com", 20), "k"),
            None
        );
        let with_activity = Arc::new(UserRecord {
            activity: Some(Activity::default()),
            ..(*token(id, "a@example.com", 20)).clone()
        });
        assert_eq!(fast.answer(&with_activity, "k"), None);
    }

    #[test]
    fn an_older_token_with_the_same_identity_is_stale_and_kept_for_nothing() {
        let id = Uuid::new_v4();
        let fast = knowing(&token(id, "a@example.com", 10));
        let older = token(id, "a@example.com", 5);

        assert_eq!(fast.answer(&older, "older"), Some(Outcome::Stale));
        assert_eq!(
            fast.answer(&older, "older"),
            Some(Outcome::Duplicate),
            "its retry"
        );
        assert!(fast.take_skipped().is_empty());
    }

    #[test]
    fn an_older_token_with_another_identity_goes_to_the_database() {
        let id = Uuid::new_v4();
        let fast = knowing(&token(id, "a@example.com", 10));

        assert_eq!(fast.answer(&token(id, "b@example.com", 5), "older"), None);
    }

    #[test]
    fn refreshes_in_any_order_keep_only_the_newest_for_the_background_write() {
        let id = Uuid::new_v4();
        let fast = knowing(&token(id, "a@example.com", 10));

        let answers: Vec<_> = [30, 20, 5, 40, 10, 25]
            .into_iter()
            .map(|second| fast.answer(&token(id, "a@example.com", second), &second.to_string()))
            .collect();

        use Outcome::{Stale, Unchanged};
        let expected = [Unchanged, Unchanged, Stale, Unchanged, Unchanged, Unchanged];
        assert_eq!(answers, expected.map(Some));
        assert_eq!(fast.take_skipped(), vec![token(id, "a@example.com", 40)]);
    }

    #[test]
    fn nothing_is_trusted_before_listening_after_a_loss_or_after_anothers_change() {
        let id = Uuid::new_v4();
        let first = token(id, "a@example.com", 10);
        let newer = token(id, "a@example.com", 20);
        let deaf = FastPath::default();
        deaf.remember(deaf.generation(), id, Some(&stored(&first)), "first");
        let lost = knowing(&first);
        lost.notice(ChangeNotice::Lost);
        let changed = knowing(&first);
        changed.notice(ChangeNotice::Changed(id));

        assert_eq!(deaf.answer(&newer, "k"), None);
        assert_eq!(lost.answer(&newer, "k"), None);
        assert_eq!(changed.answer(&newer, "k"), None);
    }

    #[test]
    fn a_write_that_overlapped_an_announcement_is_not_remembered() {
        let id = Uuid::new_v4();
        let fast = FastPath::default();
        fast.notice(ChangeNotice::Listening);
        let before = fast.generation();
        fast.notice(ChangeNotice::Changed(Uuid::new_v4()));

        let written = stored(&token(id, "a@example.com", 10));
        fast.remember(before, id, Some(&written), "first");

        assert_eq!(fast.answer(&token(id, "a@example.com", 20), "k"), None);
    }

    #[test]
    fn skipped_tokens_put_back_never_replace_newer_ones() {
        let id = Uuid::new_v4();
        let fast = knowing(&token(id, "a@example.com", 10));
        fast.answer(&token(id, "a@example.com", 20), "k20");
        let taken = fast.take_skipped();
        fast.answer(&token(id, "a@example.com", 30), "k30");

        fast.keep_skipped(taken);

        assert_eq!(fast.take_skipped(), vec![token(id, "a@example.com", 30)]);
    }
}
