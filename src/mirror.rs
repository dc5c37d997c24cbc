//! The mirrored user and the rule that decides how an event changes it.
//!
//! Pure code: storage backends read the stored row inside their transaction,
//! ask [`plan`] what to do, and write exactly that.

use crate::events::UserRecord;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A user as supahook keeps it in the `users` table.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorUser {
    /// The Supabase user id; application tables reference it.
    pub id: Uuid,
    /// Email, `None` when the user has none.
    pub email: Option<String>,
    /// Phone (E.164 digits, no `+`), `None` when the user has none.
    pub phone: Option<String>,
    /// Given name from the identity data.
    pub first_name: Option<String>,
    /// Family name from the identity data.
    pub last_name: Option<String>,
    /// Avatar URL from the identity data.
    pub avatar_url: Option<String>,
    /// The provider the user first signed up with.
    pub auth_provider: Option<String>,
    /// Every provider linked to the user.
    pub providers: Vec<String>,
    /// Anonymous sign-in.
    pub is_anonymous: bool,
    /// When the email was confirmed.
    pub email_confirmed_at: Option<DateTime<Utc>>,
    /// When the phone was confirmed.
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    /// The last sign-in Supabase reported.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Supabase `user_metadata`.
    pub user_metadata: Value,
    /// Supabase `app_metadata`.
    pub app_metadata: Value,
    /// Application-owned; never written by a sync.
    pub is_onboarded: bool,
    /// When Supabase created the user, when known.
    pub auth_created_at: Option<DateTime<Utc>>,
    /// The source time of the newest event applied to the identity columns
    /// (email, phone, names, metadata); older events do not change them.
    pub source_updated_at: DateTime<Utc>,
    /// The source time of the newest full snapshot of the `auth.users` row applied to
    /// the confirmation, sign-in, creation and delete times; `None` until one arrives.
    pub activity_updated_at: Option<DateTime<Utc>>,
    /// When the user was deleted upstream.
    pub deleted_at: Option<DateTime<Utc>>,
    /// When the mirror row was created.
    pub created_at: DateTime<Utc>,
    /// When the mirror row last changed.
    pub updated_at: DateTime<Utc>,
}

/// The profile the application owns; supahook only creates it, once.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Name shown in the application.
    pub display_name: Option<String>,
    /// Avatar shown in the application.
    pub avatar_url: Option<String>,
    /// When the profile was created.
    pub created_at: DateTime<Utc>,
    /// When the profile last changed.
    pub updated_at: DateTime<Utc>,
}

impl Profile {
    /// The first profile of a new user, seeded from its identity data.
    pub fn seed(user: &MirrorUser) -> Self {
        let parts: Vec<&str> = [&user.first_name, &user.last_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        Self {
            display_name: Some(parts.join(" ")).filter(|n| !n.is_empty()),
            avatar_url: user.avatar_url.clone(),
            created_at: user.created_at,
            updated_at: user.created_at,
        }
    }
}

/// What one delivery did to the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new user row (and profile) was inserted.
    Created,
    /// The user row changed.
    Updated,
    /// Nothing mirrored changed.
    Unchanged,
    /// The event was older than the stored state and was not applied.
    Stale,
    /// The event had nothing to mirror.
    Skipped,
    /// The same event was already applied; nothing changed.
    Duplicate,
    /// The user was marked deleted or removed.
    Deleted,
}

impl Outcome {
    /// The name used in the ledger, logs and the `supahook-outcome` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Stale => "stale",
            Self::Skipped => "skipped",
            Self::Duplicate => "duplicate",
            Self::Deleted => "deleted",
        }
    }
}

/// What to write for one event about a user who is already stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Replace the stored user with this one.
    Update(Box<MirrorUser>),
    /// Nothing mirrored changed, but the event is newer: move the versions forward
    /// so an older event arriving later is still recognised as stale.
    Touch {
        /// The new identity version.
        source_updated_at: DateTime<Utc>,
        /// The new snapshot version.
        activity_updated_at: Option<DateTime<Utc>>,
    },
    /// The event is no newer and changes nothing.
    Unchanged,
    /// The event is older than what is stored; applying it would lose newer data.
    Stale,
}

/// Decides how `incoming` changes `stored`.
///
/// Ordering rule: an event changes only the parts it is newer for (see [`Freshness`]);
/// one newer for none of them is stale. A deleted user stays deleted.
pub fn plan(stored: &MirrorUser, incoming: &UserRecord, now: DateTime<Utc>) -> Plan {
    let fresh = Freshness::of(stored, incoming);
    if !fresh.identity && !fresh.activity {
        return Plan::Stale;
    }
    if stored.deleted_at.is_some() {
        return Plan::Unchanged;
    }
    let next = merge(stored, incoming, fresh, now);
    if !same_content(&next, stored) {
        return Plan::Update(Box::new(next));
    }
    if (next.source_updated_at, next.activity_updated_at)
        != (stored.source_updated_at, stored.activity_updated_at)
    {
        return Plan::Touch {
            source_updated_at: next.source_updated_at,
            activity_updated_at: next.activity_updated_at,
        };
    }
    Plan::Unchanged
}

/// Which parts of the stored user an event is new enough to change.
///
/// Two versions, because sources see different parts of a user: token claims carry
/// the identity (email, phone, metadata) but not confirmation, sign-in or delete
/// times, which only full snapshots of the `auth.users` row carry. A token issued
/// after a row change must not make that change stale: its confirmation still applies.
#[derive(Debug, Clone, Copy)]
struct Freshness {
    identity: bool,
    activity: bool,
}

impl Freshness {
    fn of(stored: &MirrorUser, incoming: &UserRecord) -> Self {
        Self {
            identity: incoming.version >= stored.source_updated_at,
            activity: incoming.activity.is_some()
                && stored
                    .activity_updated_at
                    .is_none_or(|v| incoming.version >= v),
        }
    }
}

/// The row for a user seen for the first time.
pub fn new_user(incoming: &UserRecord, now: DateTime<Utc>) -> MirrorUser {
    let blank = MirrorUser {
        id: incoming.id,
        email: None,
        phone: None,
        first_name: None,
        last_name: None,
        avatar_url: None,
        auth_provider: None,
        providers: Vec::new(),
        is_anonymous: false,
        email_confirmed_at: None,
        phone_confirmed_at: None,
        last_sign_in_at: None,
        user_metadata: Value::Object(Default::default()),
        app_metadata: Value::Object(Default::default()),
        is_onboarded: false,
        auth_created_at: None,
        source_updated_at: incoming.version,
        activity_updated_at: None,
        deleted_at: None,
        created_at: now,
        updated_at: now,
    };
    let fresh = Freshness {
        identity: true,
        activity: incoming.activity.is_some(),
    };
    merge(&blank, incoming, fresh, now)
}

fn merge(
    stored: &MirrorUser,
    incoming: &UserRecord,
    fresh: Freshness,
    now: DateTime<Utc>,
) -> MirrorUser {
    let mut next = stored.clone();
    next.updated_at = now;
    // Soft delete replaces email and phone by hashes and empties the metadata:
    // keep the last real identity.
    if fresh.identity && incoming.deleted_at.is_none() {
        next.source_updated_at = incoming.version;
        next.email = incoming.email.clone();
        next.phone = incoming.phone.clone();
        next.first_name = incoming.name.first.clone();
        next.last_name = incoming.name.last.clone();
        next.avatar_url = incoming.avatar_url.clone();
        next.auth_provider = incoming.auth_provider.clone();
        next.providers = incoming.providers.clone();
        next.is_anonymous = incoming.is_anonymous;
        next.user_metadata = incoming.user_metadata.clone();
        next.app_metadata = incoming.app_metadata.clone();
    } else if fresh.identity {
        next.source_updated_at = incoming.version;
    }
    if let Some(activity) = incoming.activity.as_ref().filter(|_| fresh.activity) {
        next.activity_updated_at = Some(incoming.version);
        next.email_confirmed_at = activity.email_confirmed_at;
        next.phone_confirmed_at = activity.phone_confirmed_at;
        next.last_sign_in_at = activity.last_sign_in_at;
        next.deleted_at = incoming.deleted_at;
        if incoming.auth_created_at.is_some() {
            next.auth_created_at = incoming.auth_created_at;
        }
    }
    next
}

/// The stored user marked deleted at `now`. A delete is final whatever its version,
/// so the versions only ever move forward.
pub fn mark_deleted(stored: &MirrorUser, version: DateTime<Utc>, now: DateTime<Utc>) -> MirrorUser {
    MirrorUser {
        deleted_at: Some(now),
        source_updated_at: stored.source_updated_at.max(version),
        activity_updated_at: Some(
            stored
                .activity_updated_at
                .map_or(version, |v| v.max(version)),
        ),
        updated_at: now,
        ..stored.clone()
    }
}

/// Equal in everything but the bookkeeping times.
fn same_content(a: &MirrorUser, b: &MirrorUser) -> bool {
    let bookkeeping = |u: &MirrorUser| MirrorUser {
        source_updated_at: DateTime::UNIX_EPOCH,
        activity_updated_at: None,
        updated_at: DateTime::UNIX_EPOCH,
        ..u.clone()
    };
    bookkeeping(a) == bookkeeping(b)
}

#[cfg(test)]
mod tests;
