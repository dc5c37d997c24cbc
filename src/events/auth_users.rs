//! Rows of `auth.users`, as Database Webhooks and `reconcile` see them.
//!
//! Only the columns supahook mirrors are declared. The password hash and every
//! `*_token` column are never read into memory, so they cannot be stored or logged.

use super::limits::contact;
use super::user_fields::{object_or_empty, provider, providers};
use super::{
    Activity, Deletion, Delivery, HookKind, ParseError, UserChange, UserRecord, avatar_url,
    non_empty, person_name, to_micros,
};
use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// A row of `auth.users`. Columns not listed here (the password hash, tokens, ...) are
/// ignored and never stored.
#[derive(Object, Deserialize, Debug, Clone)]
pub struct AuthUserRow {
    /// The user id.
    pub id: Uuid,
    /// Email, `null` when none. Replaced by a hash when the user is soft-deleted.
    #[oai(nullable, validator(max_length = 255))]
    #[serde(default, deserialize_with = "contact")]
    pub email: Option<String>,
    /// Phone (E.164 digits, no `+`), `null` when none. Replaced by a hash on soft delete.
    #[oai(nullable, validator(max_length = 255))]
    #[serde(default, deserialize_with = "contact")]
    pub phone: Option<String>,
    /// The user's `user_metadata`.
    #[oai(nullable)]
    pub raw_user_meta_data: Option<Value>,
    /// The user's `app_metadata`.
    #[oai(nullable)]
    pub raw_app_meta_data: Option<Value>,
    /// Whether the user signed in anonymously.
    #[oai(nullable)]
    pub is_anonymous: Option<bool>,
    /// When the email was confirmed.
    #[oai(nullable)]
    pub email_confirmed_at: Option<DateTime<Utc>>,
    /// When the phone was confirmed.
    #[oai(nullable)]
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    /// The last sign-in.
    #[oai(nullable)]
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// When the user was created.
    #[oai(nullable)]
    pub created_at: Option<DateTime<Utc>>,
    /// When Supabase Auth last changed the row; the version supahook orders changes by.
    /// Without `changed_at`, a row needs this or `created_at`.
    #[oai(nullable)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Set when the user is soft-deleted.
    #[oai(nullable)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// The user is banned until then; `null` when not banned.
    #[oai(nullable)]
    pub banned_until: Option<DateTime<Utc>>,
    /// Whether the user signed in through SSO (an email is unique in `auth.users`
    /// only among non-SSO users).
    #[oai(nullable)]
    pub is_sso_user: Option<bool>,
}

impl AuthUserRow {
    /// The row as a snapshot at `version`. Its `deleted_at` is not read here: a
    /// soft-deleted row holds hashes, not the user's email and phone (see [`row_change`]).
    pub fn snapshot(&self, version: DateTime<Utc>) -> UserRecord {
        let user_metadata = object_or_empty(self.raw_user_meta_data.as_ref());
        let app_metadata = object_or_empty(self.raw_app_meta_data.as_ref());
        UserRecord {
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
                banned_until: self.banned_until.map(to_micros),
            }),
            auth_created_at: self.created_at.map(to_micros),
            provisional: false,
            metadata_blanked: false,
            is_sso_user: self.is_sso_user,
        }
    }

    /// The version Supabase Auth gave the row: `updated_at`, else `created_at`.
    /// Direct SQL edits do not move it.
    pub fn auth_version(&self) -> Result<DateTime<Utc>, ParseError> {
        self.updated_at.or(self.created_at).ok_or_else(|| {
            ParseError::Shape("updated_at: both updated_at and created_at are null".into())
        })
    }
}

/// What the current state of one `auth.users` row asks of the mirror, at `version`:
/// a snapshot, or for a soft-deleted row a soft delete (its email and phone are hashes).
pub fn row_change(row: &AuthUserRow, version: DateTime<Utc>) -> UserChange {
    match row.deleted_at {
        None => UserChange::Upsert(Arc::new(row.snapshot(version))),
        Some(at) => UserChange::Delete(Box::new(Deletion {
            id: row.id,
            at: Some(to_micros(at)),
            removed: false,
            last: None,
        })),
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
    #[oai(validator(pattern = "^users$"))]
    pub table: String,
    /// Must be `auth`.
    #[oai(validator(pattern = "^auth$"))]
    pub schema: String,
    /// The row after the change: required for `INSERT` and `UPDATE`, `null` for `DELETE`.
    #[oai(nullable)]
    pub record: Option<AuthUserRow>,
    /// The row before the change, the same user as `record`: required for `DELETE`,
    /// `null` for `INSERT`.
    #[oai(nullable)]
    pub old_record: Option<AuthUserRow>,
    /// When the change happened in the database (`clock_timestamp()` in the trigger).
    /// Sent by supahook's signed trigger, not by dashboard webhooks. When present,
    /// changes are ordered by it, so a direct SQL edit, which leaves `updated_at` alone,
    /// still counts as newer than the tokens issued before it.
    #[oai(nullable)]
    pub changed_at: Option<DateTime<Utc>>,
}

impl AuthUsersChange {
    /// The mirror change this event asks for. The key is the `webhook-id`, which
    /// supahook's trigger makes fresh for each event.
    pub fn delivery(&self, webhook_id: &str) -> Result<Delivery, ParseError> {
        if (self.schema.as_str(), self.table.as_str()) != ("auth", "users") {
            return Err(ParseError::Shape(format!(
                "schema, table: this endpoint takes changes to auth.users, not {}.{}",
                self.schema, self.table
            )));
        }
        if let (Some(new), Some(old)) = (&self.record, &self.old_record)
            && new.id != old.id
        {
            return Err(ParseError::Shape(
                "old_record.id: differs from record.id, and one change is about one user".into(),
            ));
        }
        let change = match self.operation {
            Operation::Insert | Operation::Update => {
                let row = self.record.as_ref().ok_or_else(|| {
                    ParseError::Shape("record: required for INSERT and UPDATE".into())
                })?;
                match row_change(row, self.version_of(row)?) {
                    UserChange::Delete(mut deletion) => {
                        deletion.last = self.last_real_state()?;
                        UserChange::Delete(deletion)
                    }
                    upsert => upsert,
                }
            }
            Operation::Delete => {
                let row = self
                    .old_record
                    .as_ref()
                    .ok_or_else(|| ParseError::Shape("old_record: required for DELETE".into()))?;
                UserChange::Delete(Box::new(Deletion {
                    id: row.id,
                    at: row.deleted_at.or(self.changed_at).map(to_micros),
                    removed: true,
                    last: self.last_real_state()?,
                }))
            }
        };
        Ok(Delivery {
            hook: HookKind::AuthUsers,
            idempotency_key: webhook_id.to_owned(),
            webhook_id: webhook_id.to_owned(),
            change,
        })
    }

    /// The version of `record`: the time of the change when the trigger sent it,
    /// else the row's own `updated_at`.
    fn version_of(&self, record: &AuthUserRow) -> Result<DateTime<Utc>, ParseError> {
        match self.changed_at {
            Some(changed_at) => Ok(changed_at),
            None => record.auth_version(),
        }
    }

    /// `old_record` as a snapshot, unless it too is soft-deleted. Its version is the
    /// instant before the change when the trigger sent the change's time (the row held
    /// these values until then), else its own `updated_at`.
    fn last_real_state(&self) -> Result<Option<UserRecord>, ParseError> {
        let Some(old) = self.old_record.as_ref().filter(|r| r.deleted_at.is_none()) else {
            return Ok(None);
        };
        let version = match self.changed_at {
            Some(changed_at) => {
                let changed_at = to_micros(changed_at);
                changed_at
                    .checked_sub_signed(chrono::TimeDelta::microseconds(1))
                    .unwrap_or(changed_at)
            }
            None => old.auth_version()?,
        };
        Ok(Some(old.snapshot(version)))
    }
}
