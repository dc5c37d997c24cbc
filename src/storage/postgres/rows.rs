//! Row structs of the PostgreSQL backend and their conversion to domain types.

use super::schema::{profiles, users, webhook_events};
use crate::mirror::{MirrorUser, Outcome, Profile};
use crate::storage::apply::LedgerEntry;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

/// A whole `users` row. `None` is inserted as NULL, never as DEFAULT, so that the
/// insert is one statement whatever the values, prepared once per connection.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
pub struct UserRow {
    pub id: Uuid,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub avatar_url: Option<String>,
    pub auth_provider: Option<String>,
    pub providers: Vec<String>,
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
}

/// The columns a sync may write; `is_onboarded` and `created_at` belong to the row's first insert.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserChanges<'a> {
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub avatar_url: Option<&'a str>,
    pub auth_provider: Option<&'a str>,
    pub providers: &'a [String],
    pub is_anonymous: bool,
    pub email_confirmed_at: Option<DateTime<Utc>>,
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub user_metadata: &'a Value,
    pub app_metadata: &'a Value,
    pub auth_created_at: Option<DateTime<Utc>>,
    pub source_updated_at: DateTime<Utc>,
    pub activity_updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl<'a> From<&'a MirrorUser> for UserChanges<'a> {
    fn from(u: &'a MirrorUser) -> Self {
        Self {
            email: u.email.as_deref(),
            phone: u.phone.as_deref(),
            first_name: u.first_name.as_deref(),
            last_name: u.last_name.as_deref(),
            avatar_url: u.avatar_url.as_deref(),
            auth_provider: u.auth_provider.as_deref(),
            providers: &u.providers,
            is_anonymous: u.is_anonymous,
            email_confirmed_at: u.email_confirmed_at,
            phone_confirmed_at: u.phone_confirmed_at,
            last_sign_in_at: u.last_sign_in_at,
            user_metadata: &u.user_metadata,
            app_metadata: &u.app_metadata,
            auth_created_at: u.auth_created_at,
            source_updated_at: u.source_updated_at,
            activity_updated_at: u.activity_updated_at,
            deleted_at: u.deleted_at,
            updated_at: u.updated_at,
        }
    }
}

impl From<UserRow> for MirrorUser {
    fn from(r: UserRow) -> Self {
        Self {
            id: r.id,
            email: r.email,
            phone: r.phone,
            first_name: r.first_name,
            last_name: r.last_name,
            avatar_url: r.avatar_url,
            auth_provider: r.auth_provider,
            providers: r.providers,
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
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<&MirrorUser> for UserRow {
    fn from(u: &MirrorUser) -> Self {
        let u = u.clone();
        Self {
            id: u.id,
            email: u.email,
            phone: u.phone,
            first_name: u.first_name,
            last_name: u.last_name,
            avatar_url: u.avatar_url,
            auth_provider: u.auth_provider,
            providers: u.providers,
            is_anonymous: u.is_anonymous,
            email_confirmed_at: u.email_confirmed_at,
            phone_confirmed_at: u.phone_confirmed_at,
            last_sign_in_at: u.last_sign_in_at,
            user_metadata: u.user_metadata,
            app_metadata: u.app_metadata,
            is_onboarded: u.is_onboarded,
            auth_created_at: u.auth_created_at,
            source_updated_at: u.source_updated_at,
            activity_updated_at: u.activity_updated_at,
            deleted_at: u.deleted_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = profiles, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
pub struct ProfileRow {
    pub user_id: Uuid,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ProfileRow {
    pub fn new(user_id: Uuid, p: Profile) -> Self {
        Self {
            user_id,
            display_name: p.display_name,
            avatar_url: p.avatar_url,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl From<ProfileRow> for Profile {
    fn from(r: ProfileRow) -> Self {
        Self {
            display_name: r.display_name,
            avatar_url: r.avatar_url,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_events, treat_none_as_default_value = false)]
pub struct NewDelivery<'a> {
    pub idempotency_key: &'a str,
    pub hook: &'a str,
    pub webhook_id: &'a str,
    pub user_id: Option<Uuid>,
    pub outcome: &'a str,
    pub received_at: DateTime<Utc>,
}

impl<'a> NewDelivery<'a> {
    /// The ledger row of a delivery applied with `outcome`.
    pub fn new(e: LedgerEntry<'a>, outcome: Outcome) -> Self {
        Self {
            idempotency_key: e.key,
            hook: e.hook,
            webhook_id: e.webhook_id,
            user_id: e.user_id,
            outcome: outcome.as_str(),
            received_at: e.received_at,
        }
    }
}
