//! Rows of `auth.users`, as Database Webhooks and `reconcile` see them.
//!
//! Only the columns supahook mirrors are declared. The password hash and every
//! `*_token` column are never read into memory, so they cannot be stored or logged.

use super::user_fields::{object_or_empty, provider, providers};
use super::{
    Activity, DeleteMode, Delivery, HookKind, ParseError, UserChange, UserRecord, avatar_url,
    non_empty, person_name, to_micros,
};
use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// A row of `auth.users`. Columns not listed here (the password hash, tokens, ...) are
/// ignored and never stored.
#[derive(Object, Deserialize, Debug, Clone)]
pub struct AuthUserRow {
    /// The user id.
    pub id: Uuid,
    /// Email, `null` when none. Replaced by a hash when the user is soft-deleted.
    pub email: Option<String>,
    /// Phone (E.164 digits, no `+`), `null` when none. Replaced by a hash on soft delete.
    pub phone: Option<String>,
    /// The user's `user_metadata`.
    pub raw_user_meta_data: Option<Value>,
    /// The user's `app_metadata`.
    pub raw_app_meta_data: Option<Value>,
    /// Whether the user signed in anonymously.
    pub is_anonymous: Option<bool>,
    /// When the email was confirmed.
    pub email_confirmed_at: Option<DateTime<Utc>>,
    /// When the phone was confirmed.
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    /// The last sign-in.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// When the user was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When Supabase Auth last changed the row; the version supahook orders changes by.
    pub updated_at: Option<DateTime<Utc>>,
    /// Set when the user is soft-deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl AuthUserRow {
    /// The row as a versioned snapshot: `updated_at`, else `created_at`.
    pub fn record(&self) -> Result<UserRecord, ParseError> {
        let version = self.updated_at.or(self.created_at).ok_or_else(|| {
            ParseError::Shape("updated_at: both updated_at and created_at are null".into())
        })?;
        let user_metadata = object_or_empty(self.raw_user_meta_data.as_ref());
        let app_metadata = object_or_empty(self.raw_app_meta_data.as_ref());
        Ok(UserRecord {
            id: self.id,
            version: to_micros(version),
            email: non_empty(self.email.as_deref()),
            phone: non_empty(self.phone.as_deref()),
            name: person_name(&user_metadata),
            avatar_url: avatar_url(&user_metadata),
            auth_provider: provider(&app_metadata),
            providers: providers(&app_metadata),
            is_anonymous: self.is_anonymous.unwrap_or(false),
            user_metadata,
            app_metadata,
            activity: Some(Activity {
                email_confirmed_at: self.email_confirmed_at.map(to_micros),
                phone_confirmed_at: self.phone_confirmed_at.map(to_micros),
                last_sign_in_at: self.last_sign_in_at.map(to_micros),
            }),
            auth_created_at: self.created_at.map(to_micros),
            deleted_at: self.deleted_at.map(to_micros),
        })
    }
}

/// The statement that changed the row.
#[derive(Enum, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "UPPERCASE")]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// A new user; `record` is the row.
    Insert,
    /// A changed user; `record` is the new row, `old_record` the previous one.
    Update,
    /// A removed user; `old_record` is the last row.
    Delete,
}

/// A Database Webhook for a change to `auth.users`, as Supabase's `pg_net` trigger
/// (or supahook's signed trigger in `deploy/supabase`) sends it.
#[derive(Object, Deserialize, Debug, Clone)]
pub struct AuthUsersChange {
    /// `INSERT`, `UPDATE` or `DELETE`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub operation: Operation,
    /// Must be `users`.
    pub table: String,
    /// Must be `auth`.
    pub schema: String,
    /// The row after the change; `null` for `DELETE`.
    pub record: Option<AuthUserRow>,
    /// The row before the change; `null` for `INSERT`.
    pub old_record: Option<AuthUserRow>,
}

impl AuthUsersChange {
    /// The mirror change this event asks for. The key is the `webhook-id`, which
    /// supahook's trigger makes fresh for each event.
    pub fn delivery(
        &self,
        webhook_id: &str,
        on_delete: DeleteMode,
    ) -> Result<Delivery, ParseError> {
        if (self.schema.as_str(), self.table.as_str()) != ("auth", "users") {
            return Err(ParseError::Shape(format!(
                "schema, table: this endpoint takes changes to auth.users, not {}.{}",
                self.schema, self.table
            )));
        }
        let change = match self.operation {
            Operation::Insert | Operation::Update => {
                let row = self.record.as_ref().ok_or_else(|| {
                    ParseError::Shape("record: required for INSERT and UPDATE".into())
                })?;
                UserChange::Upsert(Box::new(row.record()?))
            }
            Operation::Delete => {
                let row = self
                    .old_record
                    .as_ref()
                    .ok_or_else(|| ParseError::Shape("old_record: required for DELETE".into()))?;
                UserChange::Delete {
                    id: row.id,
                    version: row.record()?.version,
                    mode: on_delete,
                }
            }
        };
        Ok(Delivery {
            hook: HookKind::AuthUsers,
            idempotency_key: webhook_id.to_owned(),
            webhook_id: webhook_id.to_owned(),
            change,
        })
    }
}
