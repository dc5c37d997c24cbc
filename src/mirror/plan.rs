//! What one change does to one user: the decision that storage executes.

use super::merge::{merge, same_content};
use super::{DeleteMode, MirrorUser, Outcome, Profile, SignUpPolicy, new_user};
use crate::events::{Deletion, UserChange, UserRecord};
use chrono::{DateTime, Utc};

/// What supahook remembers of a user deleted upstream, even once its row is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tombstone {
    /// The earliest time a delete of the user was seen.
    pub deleted_at: DateTime<Utc>,
    /// The user left `auth.users` (a DELETE), rather than being soft-deleted there.
    pub removed: bool,
}

impl Tombstone {
    /// The tombstone after one more delete: the earliest time, and removed once removed.
    fn with(self, other: Tombstone) -> Tombstone {
        Tombstone {
            deleted_at: self.deleted_at.min(other.deleted_at),
            removed: self.removed || other.removed,
        }
    }
}

/// A user's state as storage read it, inside the transaction that writes the decision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    /// The mirrored user, if it has a row.
    pub user: Option<MirrorUser>,
    /// Its profile, if it has one.
    pub profile: Option<Profile>,
    /// The tombstone, if the user was deleted upstream.
    pub tombstone: Option<Tombstone>,
}

impl Current {
    /// What is known of the user's deletion, from the tombstone and the row.
    fn deletion(&self) -> Option<Tombstone> {
        let from_row = self
            .user
            .as_ref()
            .and_then(|u| u.deleted_at)
            .map(|at| Tombstone {
                deleted_at: at,
                removed: false,
            });
        match (self.tombstone, from_row) {
            (Some(t), Some(r)) => Some(t.with(r)),
            (t, r) => t.or(r),
        }
    }
}

impl Current {
    /// The state after `decision` is written, as storage writes it.
    pub fn after(&self, decision: &Decision) -> Current {
        let user = match &decision.user {
            UserWrite::Keep => self.user.clone(),
            UserWrite::Insert(user) | UserWrite::Update(user) => Some((**user).clone()),
            UserWrite::Remove => None,
        };
        let profile = match (&decision.profile, &self.profile) {
            _ if user.is_none() => None,
            (Some(ProfileWrite::Create(new)), None) => Some(new.clone()),
            (Some(ProfileWrite::Follow { from, to }), Some(p))
                if (&p.display_name, &p.avatar_url) == (&from.display_name, &from.avatar_url) =>
            {
                Some(to.clone())
            }
            (_, kept) => kept.clone(),
        };
        Current {
            user,
            profile,
            tombstone: decision.tombstone.or(self.tombstone),
        }
    }
}

/// What to do with the user's row.
#[derive(Debug, Clone, PartialEq)]
pub enum UserWrite {
    /// Leave it as it is.
    Keep,
    /// Insert this new row.
    Insert(Box<MirrorUser>),
    /// Write every synced column of this row.
    Update(Box<MirrorUser>),
    /// Remove the row; its profile goes with it.
    Remove,
}

/// What to do with the user's profile.
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileWrite {
    /// Insert the first profile of a new user.
    Create(Profile),
    /// Set the seeded name and avatar to `to`'s, unless the application changed them
    /// after they were read as `from` (checked again in the write).
    Follow {
        /// The profile as it was read.
        from: Profile,
        /// The profile to write.
        to: Profile,
    },
}

/// What one change writes, and the outcome it reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// What the change did.
    pub outcome: Outcome,
    /// The user row.
    pub user: UserWrite,
    /// The profile.
    pub profile: Option<ProfileWrite>,
    /// Store the tombstone with these values.
    pub tombstone: Option<Tombstone>,
    /// The change gave the user an email the sign-up policy refuses.
    pub flagged: bool,
}

impl Decision {
    /// Whether carrying it out leaves every row as it is: the change holds nothing
    /// the user's state does not already hold, so any later state, which only ever
    /// holds more, would decide the same.
    pub fn writes_nothing(&self) -> bool {
        self.user == UserWrite::Keep && self.profile.is_none() && self.tombstone.is_none()
    }

    fn nothing(outcome: Outcome) -> Self {
        Self {
            outcome,
            user: UserWrite::Keep,
            profile: None,
            tombstone: None,
            flagged: false,
        }
    }

    /// The provisional user's row goes, with its profile; no tombstone, since
    /// Supabase never had the user.
    fn forget(current: &Current) -> Self {
        match &current.user {
            Some(user) if user.provisional => Self {
                user: UserWrite::Remove,
                ..Self::nothing(Outcome::Deleted)
            },
            _ => Self::nothing(Outcome::Unchanged),
        }
    }
}

/// Decides what `change` does to a user in state `current`, at time `now`, with
/// deletes per `mode`, flagging an email `policy` refuses.
///
/// A provisional user (see [`MirrorUser::provisional`]) that reconcile finds
/// missing upstream, or that nothing confirmed before its grace period ended, is
/// removed; a confirmed user missing upstream was deleted there. Every other
/// change is [`plan_change`]'s.
pub fn plan(
    current: &Current,
    change: &UserChange,
    mode: DeleteMode,
    policy: &SignUpPolicy,
    now: DateTime<Utc>,
) -> Decision {
    let removal;
    let change = match change {
        UserChange::Unconfirmed {
            mirrored_before, ..
        } => {
            let expired = current
                .user
                .as_ref()
                .is_some_and(|u| u.created_at < *mirrored_before);
            return match expired {
                true => Decision::forget(current),
                false => Decision::nothing(Outcome::Unchanged),
            };
        }
        UserChange::Missing(_) if current.user.as_ref().is_some_and(|u| u.provisional) => {
            return Decision::forget(current);
        }
        UserChange::Missing(id) => {
            removal = UserChange::Delete(Box::new(Deletion {
                id: *id,
                at: None,
                removed: true,
                last: None,
            }));
            &removal
        }
        change => change,
    };
    let mut decision = plan_change(current, change, mode, now);
    if let UserWrite::Insert(user) | UserWrite::Update(user) = &mut decision.user {
        let refused = policy.check(user.email.as_deref()).is_err();
        let was = current.user.as_ref().is_some_and(|u| u.policy_violation);
        user.policy_violation = refused;
        decision.flagged = refused && !was;
    }
    decision
}

/// Decides what an upsert or a delete does to a user in state `current`, at time `now`.
///
/// Deletes are final and their earliest time is kept. A snapshot (an upsert, or the
/// last real state a delete carries) merges family by family, newest version wins,
/// also into a user already deleted, so that a delete arriving before the user's
/// other events ends in the same row. In [`DeleteMode::Hard`] a user removed from
/// `auth.users` has no row at all.
fn plan_change(
    current: &Current,
    change: &UserChange,
    mode: DeleteMode,
    now: DateTime<Utc>,
) -> Decision {
    let (snapshot, deletion): (Option<&UserRecord>, Option<&Deletion>) = match change {
        UserChange::Upsert(record) => (Some(record), None),
        UserChange::Delete(deletion) => (deletion.last.as_ref(), Some(deletion)),
        UserChange::Missing(_) | UserChange::Unconfirmed { .. } | UserChange::Skip(_) => {
            return Decision::nothing(Outcome::Skipped);
        }
    };
    let before = current.deletion();
    let after = match (before, deletion) {
        (before, None) => before,
        (before, Some(d)) => {
            let this = Tombstone {
                deleted_at: d.at.unwrap_or(now),
                removed: d.removed,
            };
            Some(before.map_or(this, |b| b.with(this)))
        }
    };
    let tombstone = after.filter(|t| Some(*t) != current.tombstone);

    if mode == DeleteMode::Hard && after.is_some_and(|t| t.removed) {
        let newly_removed = !before.is_some_and(|t| t.removed);
        let outcome = match (&current.user, deletion) {
            (Some(_), _) => Outcome::Deleted,
            (None, Some(_)) if newly_removed => Outcome::Deleted,
            (None, Some(_)) => Outcome::Unchanged,
            (None, None) => Outcome::Stale,
        };
        let user = match current.user {
            Some(_) => UserWrite::Remove,
            None => UserWrite::Keep,
        };
        return Decision {
            outcome,
            user,
            profile: None,
            tombstone,
            flagged: false,
        };
    }

    let deleted_at = after.map(|t| t.deleted_at);
    let newly_deleted = deleted_at != before.map(|t| t.deleted_at);
    let Some(stored) = &current.user else {
        let Some(snapshot) = snapshot else {
            let outcome = if newly_deleted {
                Outcome::Deleted
            } else {
                Outcome::Unchanged
            };
            return Decision {
                tombstone,
                ..Decision::nothing(outcome)
            };
        };
        let new = new_user(snapshot, now);
        let user = MirrorUser {
            deleted_at,
            // Only a user Supabase had can be deleted there.
            provisional: new.provisional && deleted_at.is_none(),
            ..new
        };
        return Decision {
            outcome: if deletion.is_some() {
                Outcome::Deleted
            } else {
                Outcome::Created
            },
            profile: Some(ProfileWrite::Create(Profile::seed(&user))),
            user: UserWrite::Insert(Box::new(user)),
            tombstone,
            flagged: false,
        };
    };

    let (mut next, stale) = match snapshot {
        Some(snapshot) => {
            let (next, fresh) = merge(stored, snapshot);
            (next, fresh.is_stale())
        }
        None => (stored.clone(), false),
    };
    next.deleted_at = deleted_at;
    next.provisional &= deleted_at.is_none();
    let changed = !same_content(&next, stored);
    if changed {
        next.updated_at = now;
    }
    let versions_moved = (next.source_updated_at, next.activity_updated_at)
        != (stored.source_updated_at, stored.activity_updated_at);
    let outcome = match () {
        _ if newly_deleted => Outcome::Deleted,
        _ if changed => Outcome::Updated,
        _ if stale && deletion.is_none() => Outcome::Stale,
        _ => Outcome::Unchanged,
    };
    Decision {
        outcome,
        profile: following_profile(stored, current.profile.as_ref(), &next, now),
        user: if changed || versions_moved {
            UserWrite::Update(Box::new(next))
        } else {
            UserWrite::Keep
        },
        tombstone,
        flagged: false,
    }
}

/// The profile's name and avatar follow the identity while they still hold what was
/// seeded from it; an application that changed them keeps its values.
fn following_profile(
    stored: &MirrorUser,
    profile: Option<&Profile>,
    next: &MirrorUser,
    now: DateTime<Utc>,
) -> Option<ProfileWrite> {
    let profile = profile?;
    let seeded = |p: &Profile| (p.display_name.clone(), p.avatar_url.clone());
    let was = seeded(&Profile::seed(stored));
    let will = seeded(&Profile::seed(next));
    (seeded(profile) == was && will != was).then(|| ProfileWrite::Follow {
        from: profile.clone(),
        to: Profile {
            display_name: will.0,
            avatar_url: will.1,
            updated_at: now,
            ..profile.clone()
        },
    })
}
