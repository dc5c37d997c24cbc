//! The types the read and edit API exchanges with storage: users with their
//! application-owned profiles, page by page; profile edits; the delivery ledger; the
//! profile claim.

use super::StoredUser;
use crate::mirror::{MirrorUser, Profile};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A mirrored user with its application-owned profile, settings included.
#[derive(Debug, Clone, PartialEq)]
pub struct UserDetails {
    /// The mirrored user.
    pub user: MirrorUser,
    /// Its profile; `None` only if the application removed it.
    pub profile: Option<ProfileDetails>,
}

impl From<UserDetails> for StoredUser {
    /// The user and its profile, without the profile's settings.
    fn from(details: UserDetails) -> Self {
        Self {
            user: details.user,
            profile: details.profile.map(|p| Profile {
                display_name: p.display_name,
                avatar_url: p.avatar_url,
                created_at: p.created_at,
                updated_at: p.updated_at,
            }),
        }
    }
}

/// The application-owned profile of a user.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDetails {
    /// Name shown in the application.
    pub display_name: Option<String>,
    /// Avatar shown in the application.
    pub avatar_url: Option<String>,
    /// The application's settings for the user, a JSON object.
    pub settings: Value,
    /// When the profile was created.
    pub created_at: DateTime<Utc>,
    /// When the application (or the first sync) last changed it.
    pub updated_at: DateTime<Utc>,
}

/// An edit of the application-owned fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileChanges {
    /// `users.is_onboarded`.
    pub is_onboarded: Option<bool>,
    /// `Some(None)` clears the name.
    pub display_name: Option<Option<String>>,
    /// `Some(None)` clears the avatar.
    pub avatar_url: Option<Option<String>>,
    /// Replaces the settings object.
    pub settings: Option<Value>,
}

impl ProfileChanges {
    /// Whether the edit changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Which users a listing returns; every filter given must hold.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// The email, compared without regard to case.
    pub email: Option<String>,
    /// Only users marked deleted (`true`) or only users not marked deleted (`false`).
    pub deleted: Option<bool>,
    /// Only users whose mirror row changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
    /// List provisional users too (see [`MirrorUser::provisional`]); left out otherwise.
    pub provisional: bool,
}

/// Which ledger rows a listing returns; every filter given must hold.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// The recorded outcome, such as `created` or `duplicate`.
    pub outcome: Option<String>,
    /// The endpoint, such as `custom-access-token`.
    pub hook: Option<String>,
    /// The user concerned.
    pub user_id: Option<Uuid>,
    /// The one delivery with this idempotency key.
    pub idempotency_key: Option<String>,
}

/// Where a newest-first listing of deliveries goes on: after this row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryCursor {
    /// The `received_at` of the last row returned.
    pub received_at: DateTime<Utc>,
    /// Its idempotency key, which breaks ties between equal times.
    pub idempotency_key: String,
}

/// One row of the delivery ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    /// The key that makes the delivery apply once.
    pub idempotency_key: String,
    /// The endpoint it came through.
    pub hook: String,
    /// The `webhook-id` of the attempt that was applied (or the session, for a sync).
    pub webhook_id: String,
    /// The user concerned.
    pub user_id: Option<Uuid>,
    /// What it did to the mirror.
    pub outcome: String,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// The profile facts an access token can carry.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileClaim {
    /// `users.is_onboarded`.
    pub is_onboarded: bool,
    /// `profiles.display_name`.
    pub display_name: Option<String>,
    /// `profiles.updated_at`; `None` when the user has no profile.
    pub profile_updated_at: Option<DateTime<Utc>>,
}
