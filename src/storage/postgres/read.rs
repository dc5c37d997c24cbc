//! The read and edit API's queries on PostgreSQL.

use super::PgStore;
use super::rows::UserRow;
use super::schema::{DELIVERY_ROW, PROFILE_DETAILS, profiles, users, webhook_events};
use crate::storage::StorageError;
use crate::storage::read::{
    DeliveryCursor, DeliveryFilter, DeliveryRecord, ProfileChanges, ProfileClaim, UserDetails,
    UserFilter,
};
use crate::storage::rows::{DeliveryRow, ProfileDetailsRow, user_details};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

diesel::define_sql_function!(fn lower(x: Nullable<Text>) -> Nullable<Text>);

/// The profile columns an edit sets; `None` leaves a column alone.
#[derive(AsChangeset)]
#[diesel(table_name = profiles)]
struct ProfileEdit<'a> {
    display_name: Option<Option<&'a str>>,
    avatar_url: Option<Option<&'a str>>,
    settings: Option<&'a Value>,
    updated_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = profiles)]
struct NewProfile<'a> {
    user_id: Uuid,
    display_name: Option<&'a str>,
    avatar_url: Option<&'a str>,
    settings: &'a Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl PgStore {
    pub async fn user_details(&self, id: Uuid) -> Result<Option<UserDetails>, StorageError> {
        let mut conn = self.conn().await?;
        let found = users::table
            .left_join(profiles::table)
            .filter(users::id.eq(id))
            .select((users::all_columns, PROFILE_DETAILS.nullable()))
            .first::<(UserRow, Option<ProfileDetailsRow>)>(&mut conn)
            .await
            .optional()?;
        Ok(found.map(user_details))
    }

    pub async fn list_users(
        &self,
        filter: &UserFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<UserDetails>, StorageError> {
        let mut conn = self.conn().await?;
        let mut query = users::table
            .left_join(profiles::table)
            .select((users::all_columns, PROFILE_DETAILS.nullable()))
            .order(users::id)
            .limit(limit as i64)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(users::id.gt(after));
        }
        if let Some(email) = &filter.email {
            query = query.filter(lower(users::email).eq(email.to_lowercase()));
        }
        match filter.deleted {
            Some(true) => query = query.filter(users::deleted_at.is_not_null()),
            Some(false) => query = query.filter(users::deleted_at.is_null()),
            None => {}
        }
        if let Some(since) = filter.updated_since {
            query = query.filter(users::updated_at.ge(since));
        }
        let rows: Vec<(UserRow, Option<ProfileDetailsRow>)> = query.load(&mut conn).await?;
        Ok(rows.into_iter().map(user_details).collect())
    }

    pub async fn update_profile(
        &self,
        id: Uuid,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let mut conn = self.conn().await?;
        conn.transaction::<_, StorageError, _>(async |conn| {
            let exists = users::table
                .find(id)
                .select(users::id)
                .for_update()
                .first::<Uuid>(conn)
                .await
                .optional()?;
            if exists.is_none() {
                return Ok(false);
            }
            if let Some(flag) = changes.is_onboarded {
                diesel::update(users::table.find(id))
                    .set((users::is_onboarded.eq(flag), users::updated_at.eq(now)))
                    .execute(conn)
                    .await?;
            }
            let empty = Value::Object(Default::default());
            let new = NewProfile {
                user_id: id,
                display_name: changes.display_name.as_ref().and_then(|v| v.as_deref()),
                avatar_url: changes.avatar_url.as_ref().and_then(|v| v.as_deref()),
                settings: changes.settings.as_ref().unwrap_or(&empty),
                created_at: now,
                updated_at: now,
            };
            let edit = ProfileEdit {
                display_name: changes.display_name.as_ref().map(|v| v.as_deref()),
                avatar_url: changes.avatar_url.as_ref().map(|v| v.as_deref()),
                settings: changes.settings.as_ref(),
                updated_at: now,
            };
            diesel::insert_into(profiles::table)
                .values(new)
                .on_conflict(profiles::user_id)
                .do_update()
                .set(edit)
                .execute(conn)
                .await?;
            Ok(true)
        })
        .await
    }

    pub async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        cursor: Option<&DeliveryCursor>,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StorageError> {
        use webhook_events::dsl as e;
        let mut conn = self.conn().await?;
        let mut query = e::webhook_events
            .select(DELIVERY_ROW)
            .order((e::received_at.desc(), e::idempotency_key.desc()))
            .limit(limit as i64)
            .into_boxed();
        if let Some(c) = cursor {
            query = query.filter(
                e::received_at.lt(c.received_at).or(e::received_at
                    .eq(c.received_at)
                    .and(e::idempotency_key.lt(&c.idempotency_key))),
            );
        }
        if let Some(outcome) = &filter.outcome {
            query = query.filter(e::outcome.eq(outcome));
        }
        if let Some(hook) = &filter.hook {
            query = query.filter(e::hook.eq(hook));
        }
        let rows: Vec<DeliveryRow<Uuid>> = query.load(&mut conn).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn profile_claim(&self, id: Uuid) -> Result<Option<ProfileClaim>, StorageError> {
        let mut conn = self.conn().await?;
        let found = users::table
            .left_join(profiles::table)
            .filter(users::id.eq(id))
            .select((
                users::is_onboarded,
                profiles::display_name.nullable(),
                profiles::updated_at.nullable(),
            ))
            .first::<(bool, Option<String>, Option<DateTime<Utc>>)>(&mut conn)
            .await
            .optional()?;
        Ok(found.map(
            |(is_onboarded, display_name, profile_updated_at)| ProfileClaim {
                is_onboarded,
                display_name,
                profile_updated_at,
            },
        ))
    }
}
