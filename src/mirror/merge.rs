//! The convergence rule for snapshots of one user.
//!
//! A user has two version families, because sources see different parts of it:
//! token claims carry the identity (email, phone, metadata) but not the confirmation
//! and sign-in times, which only full snapshots of the `auth.users` row carry. Each
//! family holds the snapshot with the greatest version; at equal versions the greater
//! content wins, so that no arrival order can matter. `auth_created_at` never changes
//! upstream and is the earliest one seen; `is_sso_user` never changes either and
//! holds once any snapshot says so. A user is provisional while every snapshot
//! applied to it is provisional (only before-user-created spoke of it).
//!
//! An invited user's after-user-created carries `user_metadata: {}`, blanked in
//! memory by Supabase Auth: its identity counts as older than any other snapshot's
//! (the epoch), so it fills a new row and never blanks the names another source gave.

use super::MirrorUser;
use crate::events::{Activity, UserRecord};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::cmp::Ordering;

/// The identity content a snapshot carries, in the order ties are broken.
type IdentityKey = (
    Option<String>,
    Option<String>,
    bool,
    String,
    String,
    Option<String>,
);

/// The activity content a snapshot carries, in the order ties are broken.
type ActivityKey = (
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

fn identity_of_record(r: &UserRecord) -> IdentityKey {
    (
        r.email.clone(),
        r.phone.clone(),
        r.is_anonymous,
        canonical(&r.user_metadata),
        canonical(&r.app_metadata),
        r.auth_provider.clone(),
    )
}

fn identity_of_user(u: &MirrorUser) -> IdentityKey {
    (
        u.email.clone(),
        u.phone.clone(),
        u.is_anonymous,
        canonical(&u.user_metadata),
        canonical(&u.app_metadata),
        u.auth_provider.clone(),
    )
}

fn activity_of_record(a: &Activity) -> ActivityKey {
    (
        a.email_confirmed_at,
        a.phone_confirmed_at,
        a.last_sign_in_at,
        a.banned_until,
    )
}

fn activity_of_user(u: &MirrorUser) -> ActivityKey {
    (
        u.email_confirmed_at,
        u.phone_confirmed_at,
        u.last_sign_in_at,
        u.banned_until,
    )
}

/// The version of the identity a snapshot carries: its own, or the epoch when the
/// source blanked `user_metadata`.
fn identity_version(r: &UserRecord) -> DateTime<Utc> {
    match r.metadata_blanked {
        true => DateTime::UNIX_EPOCH,
        false => r.version,
    }
}

/// A fingerprint of the identity a snapshot carries: equal for equal identities.
pub fn identity_fingerprint(r: &UserRecord) -> [u8; 32] {
    fingerprint((
        r.email.as_deref(),
        r.phone.as_deref(),
        r.is_anonymous,
        &r.user_metadata,
        &r.app_metadata,
        r.auth_provider.as_deref(),
    ))
}

/// A fingerprint of the identity a stored user holds, comparable with a snapshot's.
pub fn stored_identity_fingerprint(u: &MirrorUser) -> [u8; 32] {
    fingerprint((
        u.email.as_deref(),
        u.phone.as_deref(),
        u.is_anonymous,
        &u.user_metadata,
        &u.app_metadata,
        u.auth_provider.as_deref(),
    ))
}

/// The digest of the identity's JSON text: equal exactly when the parts
/// [`IdentityKey`] compares are (serde_json's map is ordered by key).
fn fingerprint(identity: impl serde::Serialize) -> [u8; 32] {
    use sha2::Digest;
    let text = serde_json::to_vec(&identity).unwrap_or_default();
    sha2::Sha256::digest(text).into()
}

/// JSON text with object keys sorted (serde_json's map is ordered by key).
fn canonical(value: &Value) -> String {
    value.to_string()
}

/// How a snapshot compares with what is stored, family by family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Freshness {
    /// The identity family: `Greater` means the snapshot's identity wins.
    pub identity: Ordering,
    /// The activity family; `None` when the snapshot carries no activity.
    pub activity: Option<Ordering>,
}

impl Freshness {
    /// Older than what is stored in every family it carries.
    pub fn is_stale(self) -> bool {
        self.identity == Ordering::Less && self.activity.is_none_or(|o| o == Ordering::Less)
    }

    fn of(stored: &MirrorUser, incoming: &UserRecord) -> Self {
        let identity = identity_version(incoming)
            .cmp(&stored.source_updated_at)
            .then_with(|| identity_of_record(incoming).cmp(&identity_of_user(stored)));
        let activity =
            incoming
                .activity
                .as_ref()
                .map(|activity| match stored.activity_updated_at {
                    None => Ordering::Greater,
                    Some(version) => incoming
                        .version
                        .cmp(&version)
                        .then_with(|| activity_of_record(activity).cmp(&activity_of_user(stored))),
                });
        Self { identity, activity }
    }
}

/// `stored` with `incoming` merged in: each family takes the snapshot's content when
/// the snapshot wins it, and says how the snapshot compared. Bookkeeping
/// (`updated_at`, `deleted_at`) is left to the caller.
pub(super) fn merge(stored: &MirrorUser, incoming: &UserRecord) -> (MirrorUser, Freshness) {
    let fresh = Freshness::of(stored, incoming);
    (merge_with(stored, incoming, fresh), fresh)
}

fn merge_with(stored: &MirrorUser, incoming: &UserRecord, fresh: Freshness) -> MirrorUser {
    let mut next = stored.clone();
    if fresh.identity == Ordering::Greater {
        next.source_updated_at = identity_version(incoming);
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
    }
    if let Some(activity) = incoming.activity.as_ref()
        && fresh.activity == Some(Ordering::Greater)
    {
        next.activity_updated_at = Some(incoming.version);
        next.email_confirmed_at = activity.email_confirmed_at;
        next.phone_confirmed_at = activity.phone_confirmed_at;
        next.last_sign_in_at = activity.last_sign_in_at;
        next.banned_until = activity.banned_until;
    }
    next.provisional = stored.provisional && incoming.provisional;
    next.is_sso_user = stored.is_sso_user || incoming.is_sso_user == Some(true);
    next.auth_created_at = match (stored.auth_created_at, incoming.auth_created_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    next
}

impl MirrorUser {
    /// A user with nothing known yet but its id, versioned at the epoch, created at
    /// `now`; provisional, since nothing has confirmed it.
    pub fn blank(id: uuid::Uuid, now: DateTime<Utc>) -> Self {
        MirrorUser {
            id,
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
            source_updated_at: DateTime::UNIX_EPOCH,
            activity_updated_at: None,
            deleted_at: None,
            provisional: true,
            banned_until: None,
            is_sso_user: false,
            policy_violation: false,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The row for a user seen for the first time, created at `now`.
pub fn new_user(incoming: &UserRecord, now: DateTime<Utc>) -> MirrorUser {
    let blank = MirrorUser::blank(incoming.id, now);
    let fresh = Freshness {
        identity: Ordering::Greater,
        activity: incoming.activity.as_ref().map(|_| Ordering::Greater),
    };
    merge_with(&blank, incoming, fresh)
}

/// Equal in everything but the bookkeeping times.
pub(super) fn same_content(a: &MirrorUser, b: &MirrorUser) -> bool {
    let bookkeeping = |u: &MirrorUser| MirrorUser {
        source_updated_at: DateTime::UNIX_EPOCH,
        activity_updated_at: None,
        updated_at: DateTime::UNIX_EPOCH,
        ..u.clone()
    };
    bookkeeping(a) == bookkeeping(b)
}
