//! The rows both backends read, and their conversion to domain types.
//!
//! The two store the same columns in the same order and differ in two of them: user
//! ids (`uuid` on PostgreSQL, hyphenated text on SQLite) and the providers list (a
//! text array, a JSON array in text). The rows are generic over those two; each
//! backend names its own (`UserRow<Uuid, Vec<String>>`, `UserRow<TextUuid, JsonList>`)
//! and selects the columns in the fields' order, which is the tables' order.

use super::read::{DeliveryRecord, ProfileDetails, UserDetails};
use crate::mirror::{MirrorUser, Profile};
use chrono::{DateTime, Utc};
use diesel::Queryable;
use serde_json::Value;
use uuid::Uuid;

/// A whole `users` row.
#[derive(Debug, Clone, Queryable)]
pub struct UserRow<Id, Providers> {
    pub id: Id,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub avatar_url: Option<String>,
    pub auth_provider: Option<String>,
    pub providers: Providers,
    pub is_anonymous: bool,
    pub email_confirmed_at: Option<DateTime<Utc>>,
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub user_metadata: Value,
    pub app_metadata: Value,
    pub is_onboarded: bool,
    pub auth_created_at: Option<DateTime<Utc>>,
    pub source_updated_at: DateTime<Utc>,
    pub activity_updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub provisional: bool,
    pub banned_until: Option<DateTime<Utc>>,
    pub is_sso_user: bool,
    pub policy_violation: bool,
}

impl<Id: Into<Uuid>, Providers: Into<Vec<String>>> From<UserRow<Id, Providers>> for MirrorUser {
    fn from(r: UserRow<Id, Providers>) -> Self {
        Self {
            id: r.id.into(),
            email: r.email,
            phone: r.phone,
            first_name: r.first_name,
            last_name: r.last_name,
            avatar_url: r.avatar_url,
            auth_provider: r.auth_provider,
            providers: r.providers.into(),
            is_anonymous: r.is_anonymous,
            email_confirmed_at: r.email_confirmed_at,
            phone_confirmed_at: r.phone_confirmed_at,
            last_sign_in_at: r.last_sign_in_at,
            user_metadata: r.user_metadata,
            app_metadata: r.app_metadata,
            is_onboarded: r.is_onboarded,
            auth_created_at: r.auth_created_at,
            source_updated_at: r.source_updated_at,
            activity_updated_at: r.activity_updated_at,
            deleted_at: r.deleted_at,
            provisional: r.provisional,
            banned_until: r.banned_until,
            is_sso_user: r.is_sso_user,
            policy_violation: r.policy_violation,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The `profiles` columns the mirror reads: all but the application's settings.
#[derive(Debug, Clone, Queryable)]
pub struct ProfileRow<Id> {
    pub user_id: Id,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl<Id> From<ProfileRow<Id>> for Profile {
    fn from(r: ProfileRow<Id>) -> Self {
        Self {
            display_name: r.display_name,
            avatar_url: r.avatar_url,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The `profiles` columns the read API shows, settings included.
#[derive(Debug, Queryable)]
pub struct ProfileDetailsRow {
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub settings: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user row with its profile, for the read API.
pub fn user_details<Id, Providers>(
    (user, profile): (UserRow<Id, Providers>, Option<ProfileDetailsRow>),
) -> UserDetails
where
    Id: Into<Uuid>,
    Providers: Into<Vec<String>>,
{
    UserDetails {
        user: user.into(),
        profile: profile.map(|p| ProfileDetails {
            display_name: p.display_name,
            avatar_url: p.avatar_url,
            settings: p.settings,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }),
    }
}

/// A `webhook_events` row.
#[derive(Debug, Queryable)]
pub struct DeliveryRow<Id> {
    pub idempotency_key: String,
    pub hook: String,
    pub webhook_id: String,
    pub user_id: Option<Id>,
    pub outcome: String,
    pub received_at: DateTime<Utc>,
}

impl<Id: Into<Uuid>> From<DeliveryRow<Id>> for DeliveryRecord {
    fn from(r: DeliveryRow<Id>) -> Self {
        Self {
            idempotency_key: r.idempotency_key,
            hook: r.hook,
            webhook_id: r.webhook_id,
            user_id: r.user_id.map(Into::into),
            outcome: r.outcome,
            received_at: r.received_at,
        }
    }
}

/// Declares, inside a backend's schema module, the column lists of the rows above,
/// each in its row's order (`users::all_columns` is [`UserRow`]'s).
macro_rules! row_columns {
    () => {
        /// The columns of [`ProfileDetailsRow`](crate::storage::rows::ProfileDetailsRow).
        pub const PROFILE_DETAILS: (
            profiles::display_name,
            profiles::avatar_url,
            profiles::settings,
            profiles::created_at,
            profiles::updated_at,
        ) = (
            profiles::display_name,
            profiles::avatar_url,
            profiles::settings,
            profiles::created_at,
            profiles::updated_at,
        );

        /// The columns of [`DeliveryRow`](crate::storage::rows::DeliveryRow).
        pub const DELIVERY_ROW: (
            webhook_events::idempotency_key,
            webhook_events::hook,
            webhook_events::webhook_id,
            webhook_events::user_id,
            webhook_events::outcome,
            webhook_events::received_at,
        ) = (
            webhook_events::idempotency_key,
            webhook_events::hook,
            webhook_events::webhook_id,
            webhook_events::user_id,
            webhook_events::outcome,
            webhook_events::received_at,
        );
    };
}
pub(super) use row_columns;
