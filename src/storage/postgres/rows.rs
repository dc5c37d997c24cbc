//! Row structs of the PostgreSQL backend and their conversion to domain types.

use super::schema::{profiles, users};
use crate::mirror::{MirrorUser, Profile};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

/// A whole `users` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
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

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = profiles, check_for_backend(diesel::pg::Pg))]
pub struct ProfileRow {
    pub user_id: Uuid,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
