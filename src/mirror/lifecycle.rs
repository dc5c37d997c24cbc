//! The auth lifecycle events a change makes: found by comparing a user's stored state
//! before a decision with its state after it, nothing else.
//!
//! Pure code: storage passes the states around the decision it executes and records
//! what [`lifecycle`] returns in the same transaction, so an event exists exactly when
//! its change was committed.

use super::plan::Current;
use super::{MirrorUser, Profile};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The kind of an auth lifecycle event; its name is the event's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A user was mirrored for the first time.
    UserCreated,
    /// Mirrored fields of the user changed (`data.changed` names them); a sign-in alone
    /// is `user.signed_in`, not an update.
    UserUpdated,
    /// The user was deleted upstream, soft (marked deleted) or hard (row removed).
    UserDeleted,
    /// The email was confirmed.
    EmailConfirmed,
    /// The email changed from one address to another (or was removed).
    EmailChanged,
    /// The phone was confirmed.
    PhoneConfirmed,
    /// The user signed in (a newer `last_sign_in_at`); not recorded by default.
    SignedIn,
    /// An anonymous user became a permanent one.
    AnonymousUpgraded,
    /// The profile's name or avatar changed.
    ProfileUpdated,
    /// The user became banned: see [`is_banned`].
    UserBanned,
    /// The user stopped being banned: the ban was lifted, or a change shows it ran out.
    UserUnbanned,
}

impl EventType {
    /// Every type, in the order a change records them.
    pub const ALL: [EventType; 11] = [
        Self::UserCreated,
        Self::UserUpdated,
        Self::EmailChanged,
        Self::EmailConfirmed,
        Self::PhoneConfirmed,
        Self::AnonymousUpgraded,
        Self::UserBanned,
        Self::UserUnbanned,
        Self::SignedIn,
        Self::ProfileUpdated,
        Self::UserDeleted,
    ];

    /// The event's `type`, e.g. `user.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserDeleted => "user.deleted",
            Self::EmailConfirmed => "user.email_confirmed",
            Self::EmailChanged => "user.email_changed",
            Self::PhoneConfirmed => "user.phone_confirmed",
            Self::SignedIn => "user.signed_in",
            Self::AnonymousUpgraded => "user.anonymous_upgraded",
            Self::ProfileUpdated => "profile.updated",
            Self::UserBanned => "user.banned",
            Self::UserUnbanned => "user.unbanned",
        }
    }

    /// The type named `name`, if there is one.
    pub fn parse(name: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// Which event types are recorded (`SUPAHOOK_EVENTS_TYPES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTypes(u16);

impl EventTypes {
    /// No event is recorded.
    pub const NONE: EventTypes = EventTypes(0);

    /// The types given.
    pub fn of(types: impl IntoIterator<Item = EventType>) -> Self {
        Self(types.into_iter().fold(0, |set, t| set | t.bit()))
    }

    /// Whether `kind` is recorded.
    pub fn contains(self, kind: EventType) -> bool {
        self.0 & kind.bit() != 0
    }

    /// Whether no type is recorded.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl Default for EventTypes {
    /// Every type but `user.signed_in`, which comes with every sign-in.
    fn default() -> Self {
        Self::of(
            EventType::ALL
                .into_iter()
                .filter(|t| *t != EventType::SignedIn),
        )
    }
}

/// One event a change made, before storage gives it its place and sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleEvent {
    /// What happened.
    pub kind: EventType,
    /// The user concerned.
    pub user_id: Uuid,
    /// The names of the fields that changed (user fields, or the profile's for
    /// `profile.updated`); empty for `user.created`.
    pub changed: Vec<&'static str>,
    /// The user as the read API shows it, after the change (for a removed user, its
    /// last state, marked deleted).
    pub user: Value,
}

/// The events the step from `before` to `after` makes, of the types in `recorded`, in
/// the order given by [`EventType::ALL`]. A step that changes nothing makes none.
pub fn lifecycle(before: &Current, after: &Current, recorded: EventTypes) -> Vec<LifecycleEvent> {
    if recorded.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<(EventType, Vec<&'static str>)> = Vec::new();
    // A provisional user (seen only by before-user-created) is not yet a user: its
    // confirmation is its `user.created`, and its removal records nothing.
    fn confirmed(c: &Current) -> Option<&MirrorUser> {
        c.user.as_ref().filter(|u| !u.provisional)
    }
    let (was, is) = (confirmed(before), confirmed(after));
    match (was, is) {
        (None, None) => return Vec::new(),
        (None, Some(new)) => {
            found.push((EventType::UserCreated, Vec::new()));
            if is_banned(new) {
                found.push((EventType::UserBanned, vec!["banned_until"]));
            }
            if new.deleted_at.is_some() {
                found.push((EventType::UserDeleted, vec!["deleted_at"]));
            }
        }
        (Some(_), None) => found.push((EventType::UserDeleted, vec!["deleted_at"])),
        (Some(old), Some(new)) => {
            found.extend(user_steps(old, new));
            if let (Some(was), Some(is)) = (&before.profile, &after.profile) {
                let changed = profile_changes(was, is);
                if !changed.is_empty() {
                    found.push((EventType::ProfileUpdated, changed));
                }
            }
        }
    }
    // Most steps (a sign-in, a version move) make no event that is recorded: the user
    // is shown only when one is.
    found.retain(|(kind, _)| recorded.contains(*kind));
    let shown = match (was, is) {
        _ if found.is_empty() => return Vec::new(),
        (_, Some(new)) => user_json(new, after.profile.as_ref()),
        (Some(old), None) => {
            let deleted_at = after.tombstone.map(|t| t.deleted_at).or(old.deleted_at);
            let last = MirrorUser {
                deleted_at,
                ..old.clone()
            };
            user_json(&last, before.profile.as_ref())
        }
        (None, None) => return Vec::new(),
    };
    let user_id = after
        .user
        .as_ref()
        .or(before.user.as_ref())
        .map(|u| u.id)
        .unwrap_or_default();
    found.sort_by_key(|(kind, _)| EventType::ALL.iter().position(|t| t == kind));
    let mut events: Vec<LifecycleEvent> = found
        .into_iter()
        .map(|(kind, changed)| LifecycleEvent {
            kind,
            user_id,
            changed,
            user: Value::Null,
        })
        .collect();
    // Every event shows the same user: the last takes it, the others a copy.
    if let Some((last, others)) = events.split_last_mut() {
        for event in others {
            event.user = shown.clone();
        }
        last.user = shown;
    }
    events
}

/// The events of a user row that stays, from `old` to `new`.
fn user_steps(old: &MirrorUser, new: &MirrorUser) -> Vec<(EventType, Vec<&'static str>)> {
    let changed = user_changes(old, new);
    let mut found = Vec::new();
    let updates: Vec<&'static str> = changed
        .iter()
        .copied()
        .filter(|f| !matches!(*f, "last_sign_in_at" | "deleted_at"))
        .collect();
    if !updates.is_empty() {
        found.push((EventType::UserUpdated, changed.clone()));
    }
    // A first email (an anonymous user upgrading, a phone user adding one) is no change
    // of email: `user.updated` names it.
    if old.email.is_some() && old.email != new.email {
        found.push((EventType::EmailChanged, vec!["email"]));
    }
    if old.email_confirmed_at.is_none() && new.email_confirmed_at.is_some() {
        found.push((EventType::EmailConfirmed, vec!["email_confirmed_at"]));
    }
    if old.phone_confirmed_at.is_none() && new.phone_confirmed_at.is_some() {
        found.push((EventType::PhoneConfirmed, vec!["phone_confirmed_at"]));
    }
    if old.is_anonymous && !new.is_anonymous {
        found.push((EventType::AnonymousUpgraded, vec!["is_anonymous"]));
    }
    match (is_banned(old), is_banned(new)) {
        (false, true) => found.push((EventType::UserBanned, vec!["banned_until"])),
        (true, false) => found.push((EventType::UserUnbanned, vec!["banned_until"])),
        _ => {}
    }
    if new.last_sign_in_at > old.last_sign_in_at {
        found.push((EventType::SignedIn, vec!["last_sign_in_at"]));
    }
    if old.deleted_at.is_none() && new.deleted_at.is_some() {
        found.push((EventType::UserDeleted, vec!["deleted_at"]));
    }
    found
}

/// Whether `user` is banned in its own state: `banned_until` is later than the time of
/// the `auth.users` snapshot that carried it (`activity_updated_at`), the moment
/// Supabase said so. The change's own time, never the clock, decides, so the same
/// deliveries make the same events on every replica and in every replay, and a user's
/// `user.banned` and `user.unbanned` alternate. A ban that runs out changes nothing in
/// the mirror; the next snapshot of the user (a sign-in, any edit) shows it over and
/// records `user.unbanned`.
pub fn is_banned(user: &MirrorUser) -> bool {
    match (user.banned_until, user.activity_updated_at) {
        (Some(until), Some(said_at)) => until > said_at,
        _ => false,
    }
}

/// The mirrored fields that differ between `old` and `new`; versions and the row's own
/// times are not fields of the user.
fn user_changes(old: &MirrorUser, new: &MirrorUser) -> Vec<&'static str> {
    let fields: [(&'static str, bool); 16] = [
        ("email", old.email != new.email),
        ("phone", old.phone != new.phone),
        ("first_name", old.first_name != new.first_name),
        ("last_name", old.last_name != new.last_name),
        ("avatar_url", old.avatar_url != new.avatar_url),
        ("auth_provider", old.auth_provider != new.auth_provider),
        ("providers", old.providers != new.providers),
        ("is_anonymous", old.is_anonymous != new.is_anonymous),
        (
            "email_confirmed_at",
            old.email_confirmed_at != new.email_confirmed_at,
        ),
        (
            "phone_confirmed_at",
            old.phone_confirmed_at != new.phone_confirmed_at,
        ),
        (
            "last_sign_in_at",
            old.last_sign_in_at != new.last_sign_in_at,
        ),
        ("user_metadata", old.user_metadata != new.user_metadata),
        ("app_metadata", old.app_metadata != new.app_metadata),
        (
            "auth_created_at",
            old.auth_created_at != new.auth_created_at,
        ),
        ("banned_until", old.banned_until != new.banned_until),
        ("deleted_at", old.deleted_at != new.deleted_at),
    ];
    fields
        .into_iter()
        .filter_map(|(name, differs)| differs.then_some(name))
        .collect()
}

/// The profile fields supahook writes that differ between `was` and `is`.
fn profile_changes(was: &Profile, is: &Profile) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if was.display_name != is.display_name {
        changed.push("display_name");
    }
    if was.avatar_url != is.avatar_url {
        changed.push("avatar_url");
    }
    changed
}

/// The user as `GET /v1/users/{id}` shows it (the profile without its `settings`,
/// which the application owns and edits through the API).
pub fn user_json(user: &MirrorUser, profile: Option<&Profile>) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "phone": user.phone,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "avatar_url": user.avatar_url,
        "auth_provider": user.auth_provider,
        "providers": user.providers,
        "is_anonymous": user.is_anonymous,
        "email_confirmed_at": user.email_confirmed_at,
        "phone_confirmed_at": user.phone_confirmed_at,
        "last_sign_in_at": user.last_sign_in_at,
        "user_metadata": user.user_metadata,
        "app_metadata": user.app_metadata,
        "is_onboarded": user.is_onboarded,
        "auth_created_at": user.auth_created_at,
        "source_updated_at": user.source_updated_at,
        "activity_updated_at": user.activity_updated_at,
        "deleted_at": user.deleted_at,
        "provisional": user.provisional,
        "banned_until": user.banned_until,
        "is_sso_user": user.is_sso_user,
        "policy_violation": user.policy_violation,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "profile": profile.map(|p| json!({
            "display_name": p.display_name,
            "avatar_url": p.avatar_url,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
        })),
    })
}

/// An event's id: the same for the same change wherever and however often it is
/// applied. `origin` names the change (a delivery's idempotency key, or for a change
/// without one the user and the versions it reached), `kind` the event.
pub fn event_id(origin: &str, kind: EventType) -> Uuid {
    let digest = Sha256::new()
        .chain_update(origin.as_bytes())
        .chain_update([0])
        .chain_update(kind.as_str().as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The origin of a change that came without an idempotency key (reconciliation, the
/// flush of skipped refreshes): the user and the state it reached.
pub fn keyless_origin(user_id: Uuid, after: &Current) -> String {
    let versions = after.user.as_ref().map(|u| {
        (
            u.source_updated_at,
            u.activity_updated_at,
            u.deleted_at,
            u.updated_at,
        )
    });
    let deleted: Option<DateTime<Utc>> = after.tombstone.map(|t| t.deleted_at);
    format!("{user_id}:{versions:?}:{deleted:?}")
}

#[cfg(test)]
mod tests;
