//! The read and edit API's queries on PostgreSQL: the reads from the shared template
//! ([`read_queries!`]), the profile edit here.

use super::PgStore;
use super::rows::{DeliveryRow, UserRow};
use super::schema::{DELIVERY_ROW, PROFILE_DETAILS, profiles, users, webhook_events};
use crate::storage::StorageError;
use crate::storage::read::ProfileChanges;
use crate::storage::read_queries::read_queries;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

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
}

read_queries!(PgStore, id: |id: Uuid| id, time: |t: DateTime<Utc>| t, error: StorageError::from);
