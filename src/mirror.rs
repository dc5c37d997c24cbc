//! The mirrored user and the rule that decides how a delivery changes it.
//!
//! Pure code: storage reads the user's current state inside its transaction,
//! asks [`plan`] what to write, and writes exactly that.
//!
//! The rule ([`merge`]): the mirror's end state is a function of the set of
//! deliveries, not of their order, their copies, or which replica applied them.
//! Deletes are final; each version family (identity, activity) holds its newest
//! snapshot; a delete's last real state is a snapshot like any other.

mod lifecycle;
mod merge;
mod plan;

pub use crate::policy::SignUpPolicy;
pub use lifecycle::{
    EventType, EventTypes, LifecycleEvent, event_id, keyless_origin, lifecycle, user_json,
};
pub use merge::{identity_fingerprint, new_user, stored_identity_fingerprint};
pub use plan::{Current, Decision, ProfileWrite, Tombstone, UserWrite, plan};

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
    /// the confirmation and sign-in times; `None` until one arrives.
    pub activity_updated_at: Option<DateTime<Utc>>,
    /// When the user was deleted upstream (the earliest delete seen); final once set.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Only before-user-created has spoken of the user, and its sign-up can still
    /// roll back; cleared for good by any other source, which shows Supabase kept it.
    pub provisional: bool,
    /// Banned until then, from the newest full snapshot of the `auth.users` row.
    pub banned_until: Option<DateTime<Utc>>,
    /// An SSO user. Supabase sets it when it creates the user and never changes it,
    /// so once any source says so it stays.
    pub is_sso_user: bool,
    /// The email is one the sign-up policy refuses: the user came by a path that never
    /// calls before-user-created (an admin, an email change).
    pub policy_violation: bool,
    /// When the mirror row was created.
    pub created_at: DateTime<Utc>,
    /// When the mirror row last changed.
    pub updated_at: DateTime<Utc>,
}

/// The profile the application owns. supahook seeds its name and avatar from the
/// user's identity and keeps them in step while they still hold the seeded values;
/// once the application changes them, they are the application's.
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
    /// The profile seeded from `user`'s identity data.
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

/// What a delete upstream does to the mirror (`SUPAHOOK_ON_DELETE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeleteMode {
    /// Set `deleted_at` and keep the row, so application foreign keys stay valid.
    #[default]
    Soft,
    /// Remove the row of a user removed from `auth.users`; its profile goes with it.
    /// A soft-deleted user keeps its row, marked deleted.
    Hard,
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

#[cfg(test)]
mod tests;
