//! Row structs of the SQLite backend and their conversion to domain types.

use super::schema::{users, webhook_events};
use crate::mirror::{MirrorUser, Outcome};
use crate::storage::apply::LedgerEntry;
use chrono::{DateTime, SubsecRound, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteValue};
use serde_json::Value;
use uuid::Uuid;

/// `t` cut to whole microseconds, as PostgreSQL stores it, so that both
/// backends read back the same value (and the text stays at most 6 digits).
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// A user id as SQLite stores it.
pub type Id = TextUuid;
/// The shared rows (`storage::rows`) with SQLite's types.
pub type UserRow = crate::storage::rows::UserRow<Id, JsonList>;
pub type ProfileRow = crate::storage::rows::ProfileRow<Id>;
pub type DeliveryRow = crate::storage::rows::DeliveryRow<Id>;

/// A uuid stored as hyphenated lower-case text, the form PostgreSQL prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct TextUuid(pub Uuid);

impl ToSql<Text, Sqlite> for TextUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl From<Uuid> for TextUuid {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl From<TextUuid> for Uuid {
    fn from(id: TextUuid) -> Self {
        id.0
    }
}

impl FromSql<Text, Sqlite> for TextUuid {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(Self(Uuid::parse_str(&text)?))
    }
}

/// A list of strings stored as a JSON array in text.
#[derive(Debug, Clone, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct JsonList(pub Vec<String>);

impl ToSql<Text, Sqlite> for JsonList {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(serde_json::to_string(&self.0)?);
        Ok(IsNull::No)
    }
}

impl From<JsonList> for Vec<String> {
    fn from(list: JsonList) -> Self {
        list.0
    }
}

impl FromSql<Text, Sqlite> for JsonList {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(Self(serde_json::from_str(&text)?))
    }
}

/// The columns a sync may write; `is_onboarded` and `created_at` belong to the row's
/// first insert, which adds them (and the id) to these.
#[derive(Debug, Clone, AsChangeset, Insertable)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserChanges<'a> {
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub avatar_url: Option<&'a str>,
    pub auth_provider: Option<&'a str>,
    pub providers: JsonList,
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
    pub provisional: bool,
    pub banned_until: Option<DateTime<Utc>>,
    pub is_sso_user: bool,
    pub policy_violation: bool,
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
            providers: JsonList(u.providers.clone()),
            is_anonymous: u.is_anonymous,
            email_confirmed_at: u.email_confirmed_at.map(micros),
            phone_confirmed_at: u.phone_confirmed_at.map(micros),
            last_sign_in_at: u.last_sign_in_at.map(micros),
            user_metadata: &u.user_metadata,
            app_metadata: &u.app_metadata,
            auth_created_at: u.auth_created_at.map(micros),
            source_updated_at: micros(u.source_updated_at),
            activity_updated_at: u.activity_updated_at.map(micros),
            deleted_at: u.deleted_at.map(micros),
            updated_at: micros(u.updated_at),
            provisional: u.provisional,
            banned_until: u.banned_until.map(micros),
            is_sso_user: u.is_sso_user,
            policy_violation: u.policy_violation,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_events)]
pub struct NewDelivery<'a> {
    pub idempotency_key: &'a str,
    pub hook: &'a str,
    pub webhook_id: &'a str,
    pub user_id: Option<TextUuid>,
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
            user_id: e.user_id.map(TextUuid),
            outcome: outcome.as_str(),
            received_at: micros(e.received_at),
        }
    }
}
