//! Parses verified hook payloads into domain changes.
//!
//! Everything past this module works with [`Delivery`] and [`UserRecord`],
//! never with raw JSON.

mod auth_hooks;
mod auth_users;
mod limits;
mod session;
mod user_fields;

pub use auth_hooks::{
    AfterUserCreatedInput, AuthUser, BeforeUserCreatedInput, CustomAccessTokenInput, HookMetadata,
};
pub use auth_users::{AuthUserRow, AuthUsersChange, Operation, row_change};
pub use limits::MAX_CONTACT_CHARS;
pub use session::{claims_delivery, session_delivery};
pub use user_fields::{PersonName, avatar_url, person_name};

use crate::signature::VerifiedBody;
use chrono::{DateTime, Timelike, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// Which endpoint a delivery came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookKind {
    /// `POST /hooks/custom-access-token`
    CustomAccessToken,
    /// `POST /hooks/before-user-created`
    BeforeUserCreated,
    /// `POST /hooks/after-user-created`
    AfterUserCreated,
    /// `POST /hooks/auth-users` (Database Webhook on `auth.users`)
    AuthUsers,
    /// `POST /api/auth/users/sync` (the frontend, with the user's access token)
    UsersSync,
}

impl HookKind {
    /// The name recorded in the delivery ledger and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomAccessToken => "custom-access-token",
            Self::BeforeUserCreated => "before-user-created",
            Self::AfterUserCreated => "after-user-created",
            Self::AuthUsers => "auth-users",
            Self::UsersSync => "users-sync",
        }
    }
}

/// One verified delivery, reduced to what the mirror needs. Serializable, so that a
/// delivery acknowledged during a database outage can wait in the local spool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// Which endpoint received it.
    pub hook: HookKind,
    /// `metadata.uuid` when present (stable across Supabase's retries), else `webhook-id`.
    pub idempotency_key: String,
    /// The `webhook-id` header of this attempt.
    pub webhook_id: String,
    /// What the delivery asks of the mirror.
    pub change: UserChange,
}

/// What a delivery asks of the mirror.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum UserChange {
    /// The user as a snapshot at one version: create it, or update the parts it is newer for.
    Upsert(Arc<UserRecord>),
    /// The user was deleted upstream.
    Delete(Box<Deletion>),
    /// `reconcile --prune` found the user missing from `auth.users`: a provisional
    /// user was never created there and goes; a confirmed one was deleted there.
    /// Never spooled: only reconcile makes it.
    #[serde(skip)]
    Missing(Uuid),
    /// Nothing confirmed the provisional user before `mirrored_before`: its sign-up
    /// failed after before-user-created, and it goes. A confirmed user stays.
    /// Never spooled: only `serve`'s own sweep makes it.
    #[serde(skip)]
    Unconfirmed {
        /// The user.
        id: Uuid,
        /// Only a user mirrored before this time goes.
        mirrored_before: DateTime<Utc>,
    },
    /// Nothing to mirror (for example an OAuth sign-up whose id is throw-away).
    /// Never spooled: it needs no storage.
    #[serde(skip)]
    Skip(#[serde(skip)] &'static str),
}

/// A user deleted upstream: removed from `auth.users`, or soft-deleted there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deletion {
    /// The deleted user.
    pub id: Uuid,
    /// When it was deleted, when the event says; `None` means the time it is applied.
    pub at: Option<DateTime<Utc>>,
    /// `true` when the row left `auth.users` (a DELETE), `false` for a soft delete.
    pub removed: bool,
    /// The user's last real state before the delete, when the event carries it
    /// (the `old_record`, at its own version).
    pub last: Option<UserRecord>,
}

impl UserChange {
    /// The user this change is about, when there is one.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Self::Upsert(user) => Some(user.id),
            Self::Delete(deletion) => Some(deletion.id),
            Self::Missing(id) | Self::Unconfirmed { id, .. } => Some(*id),
            Self::Skip(_) => None,
        }
    }
}

/// A user as one event describes it, at one point in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// The Supabase user id.
    pub id: Uuid,
    /// The source time of this snapshot; an older snapshot never overwrites a newer one.
    pub version: DateTime<Utc>,
    /// `None` for an empty or absent email.
    pub email: Option<String>,
    /// `None` for an empty or absent phone.
    pub phone: Option<String>,
    /// Names taken from `user_metadata`.
    pub name: PersonName,
    /// `avatar_url`, else `picture`, from `user_metadata`.
    pub avatar_url: Option<String>,
    /// `app_metadata.provider`.
    pub auth_provider: Option<String>,
    /// `app_metadata.providers`.
    pub providers: Vec<String>,
    /// Anonymous sign-in.
    pub is_anonymous: bool,
    /// `user_metadata` as sent.
    pub user_metadata: Value,
    /// `app_metadata` as sent.
    pub app_metadata: Value,
    /// Confirmation and sign-in times. Present only in full snapshots of the user
    /// row (Database Webhooks, reconcile, the user-created hooks), never in token claims.
    pub activity: Option<Activity>,
    /// When Supabase created the user, when the source knows it.
    pub auth_created_at: Option<DateTime<Utc>>,
    /// Said only by before-user-created, whose sign-up can still roll back: the
    /// snapshot does not show that Supabase kept the user.
    #[serde(default)]
    pub provisional: bool,
    /// Set when the source blanked `user_metadata` (an invited user's
    /// after-user-created carries `{}`): the snapshot's identity then counts as
    /// older than any other's, so it fills a new row but never overwrites names.
    #[serde(default)]
    pub metadata_blanked: bool,
    /// `auth.users.is_sso_user`, from the sources that carry it (rows of
    /// `auth.users`); `None` from the hooks, which leave it out.
    #[serde(default)]
    pub is_sso_user: Option<bool>,
}

/// Confirmation and sign-in times of a user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// `email_confirmed_at`
    pub email_confirmed_at: Option<DateTime<Utc>>,
    /// `phone_confirmed_at`
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    /// `last_sign_in_at`
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// `banned_until`: the user is banned until then (a time far ahead for a ban
    /// without end); `None` when not banned.
    #[serde(default)]
    pub banned_until: Option<DateTime<Utc>>,
}

/// A verified body that is not a valid payload.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not JSON.
    #[error("the body is not valid JSON: {0}")]
    Syntax(String),
    /// JSON, but not the shape this endpoint takes; the message names the field.
    #[error("{0}")]
    Shape(String),
}

impl ParseError {
    /// Where in the body the problem is (`claims.iat`), without the offending value,
    /// so it can be logged; `body` for a syntax error.
    pub fn field(&self) -> &str {
        match self {
            Self::Syntax(_) => "body",
            Self::Shape(message) => message.split_once(": ").map_or("body", |(field, _)| field),
        }
    }
}

/// Parses a verified body into `T`.
/// A shape error names the path of the offending field, such as `claims.iat`.
pub fn parse<T: DeserializeOwned>(body: &VerifiedBody<'_>) -> Result<T, ParseError> {
    // The usual body is read once, straight into `T`. Unknown fields are only skimmed
    // there, so a body that may hold what a full read refuses in them (a NUL, a lone
    // surrogate), and any body that fails, takes the thorough way: a JSON value first,
    // then `T` from it, which also gives the error its message.
    if let Some(text) = plain_text(body.bytes) {
        let mut reader = serde_json::Deserializer::from_str(text);
        if let Ok(typed) = T::deserialize(&mut reader)
            && reader.end().is_ok()
        {
            return Ok(typed);
        }
    }
    let value: Value =
        serde_json::from_slice(body.bytes).map_err(|e| ParseError::Syntax(e.to_string()))?;
    from_value(&value)
}

/// The body as text when it is UTF-8 and holds no `\u` escape of a NUL or a
/// surrogate, the only ways JSON text can carry those.
fn plain_text(bytes: &[u8]) -> Option<&str> {
    let special = |escape: &[u8]| {
        escape[..2] == *b"\\u"
            && (escape[2..].eq_ignore_ascii_case(b"0000") || escape[2].eq_ignore_ascii_case(&b'd'))
    };
    match bytes.windows(6).any(special) {
        true => None,
        false => std::str::from_utf8(bytes).ok(),
    }
}

/// Reads a JSON value as `T`, refusing first any string or key holding a NUL character.
/// A shape error names the path of the offending field, such as `claims.iat`.
pub(crate) fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ParseError> {
    if let Some(path) = nul_at(value, String::new()) {
        return Err(ParseError::Shape(format!("{path}: {NUL_PROBLEM}")));
    }
    typed_from(value)
}

/// Reads a JSON value known to hold no NUL character as `T`.
fn typed_from<T: DeserializeOwned>(value: &Value) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        match path.as_str() {
            "." => ParseError::Shape(e.into_inner().to_string()),
            _ => ParseError::Shape(format!("{path}: {}", e.into_inner())),
        }
    })
}

/// Why a string holding a NUL character is refused.
pub(crate) const NUL_PROBLEM: &str =
    "contains a NUL character (\\u0000), which PostgreSQL cannot store";

/// The path of the first string (or key) holding a NUL character, if any, below `path`.
/// Supabase's own columns cannot hold one, so a payload with one is refused before storage.
pub(crate) fn nul_at(value: &Value, path: String) -> Option<String> {
    let here = |path: &str| {
        Some(if path.is_empty() {
            ".".to_owned()
        } else {
            path.to_owned()
        })
    };
    match value {
        Value::String(s) if s.contains('\0') => here(&path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_at(item, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match key.contains('\0') {
                true => here(&path),
                false => nul_at(item, path),
            }
        }),
        _ => None,
    }
}

/// Timestamps are kept to the microsecond, the precision both databases store,
/// so that a value read back compares equal to the one that was written.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    // Cut the nanosecond field itself: truncating by a duration counts nanoseconds
    // since 1970 in an i64, which fails before 1677 and after 2262.
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// `""` and whitespace become `None`, as Supabase sends `""` for a NULL column.
pub(crate) fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
pub(crate) mod properties;
#[cfg(test)]
mod tests;
