//! The row operations of the PostgreSQL backend, run inside one transaction.

use super::rows::{NewDelivery, ProfileRow, UserChanges, UserRow};
use super::schema::{deleted_users, profiles, users, webhook_events};
use crate::mirror::{MirrorUser, Outcome, Profile};
use crate::storage::StorageError;
use crate::storage::apply::{LedgerEntry, MirrorTx};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// The first key of the per-user advisory locks taken by every change.
const USER_LOCK_CLASS: i32 = 0x7375_7061; // "supa"

/// Row operations on one PostgreSQL connection inside a transaction.
pub(super) struct PgTx<'c>(pub(super) &'c mut AsyncPgConnection);

impl MirrorTx for PgTx<'_> {
    async fn claim(&mut self, entry: LedgerEntry<'_>) -> Result<bool, StorageError> {
        let inserted = diesel::insert_into(webhook_events::table)
            .values(NewDelivery::from(entry))
            .on_conflict_do_nothing()
            .execute(self.0)
            .await?;
        Ok(inserted == 1)
    }

    async fn settle(&mut self, key: &str, outcome: Outcome) -> Result<(), StorageError> {
        diesel::update(webhook_events::table.find(key))
            .set(webhook_events::outcome.eq(outcome.as_str()))
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn lock_id(&mut self, id: Uuid) -> Result<(), StorageError> {
        // Two-key form: its own key space, apart from the migration lock.
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind::<diesel::sql_types::Integer, _>(USER_LOCK_CLASS)
            .bind::<diesel::sql_types::Text, _>(id.to_string())
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn lock_user(&mut self, id: Uuid) -> Result<Option<MirrorUser>, StorageError> {
        let row = users::table
            .find(id)
            .select(UserRow::as_select())
            .for_update()
            .first::<UserRow>(self.0)
            .await
            .optional()?;
        Ok(row.map(Into::into))
    }

    async fn insert_user(&mut self, user: &MirrorUser) -> Result<bool, StorageError> {
        let inserted = diesel::insert_into(users::table)
            .values(UserRow::from(user))
            .on_conflict_do_nothing()
            .execute(self.0)
            .await?;
        Ok(inserted == 1)
    }

    async fn insert_profile(&mut self, id: Uuid, profile: &Profile) -> Result<(), StorageError> {
        diesel::insert_into(profiles::table)
            .values(ProfileRow::new(id, profile.clone()))
            .on_conflict_do_nothing()
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn update_user(&mut self, user: &MirrorUser) -> Result<(), StorageError> {
        diesel::update(users::table.find(user.id))
            .set(UserChanges::from(user))
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn delete_user(&mut self, id: Uuid) -> Result<(), StorageError> {
        diesel::delete(users::table.find(id))
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn bury(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<(), StorageError> {
        diesel::insert_into(deleted_users::table)
            .values((deleted_users::id.eq(id), deleted_users::deleted_at.eq(at)))
            .on_conflict_do_nothing()
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn is_buried(&mut self, id: Uuid) -> Result<bool, StorageError> {
        let found = deleted_users::table
            .find(id)
            .select(deleted_users::id)
            .first::<Uuid>(self.0)
            .await
            .optional()?;
        Ok(found.is_some())
    }

    async fn touch_user(
        &mut self,
        id: Uuid,
        source_updated_at: DateTime<Utc>,
        activity_updated_at: Option<DateTime<Utc>>,
    ) -> Result<(), StorageError> {
        diesel::update(users::table.find(id))
            .set((
                users::source_updated_at.eq(source_updated_at),
                users::activity_updated_at.eq(activity_updated_at),
            ))
            .execute(self.0)
            .await?;
        Ok(())
    }
}
