//! The row operations of the SQLite backend, run inside one immediate transaction.

use super::Conn;
use super::rows::{NewDelivery, ProfileRow, TextUuid, UserChanges, UserRow, micros};
use super::schema::{deleted_users, profiles, users, webhook_events};
use crate::mirror::{MirrorUser, Outcome, Profile};
use crate::storage::StorageError;
use crate::storage::apply::{LedgerEntry, MirrorTx};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

/// Row operations on one SQLite connection inside an immediate transaction.
pub(super) struct SqliteTx<'c>(pub(super) &'c mut Conn);

impl MirrorTx for SqliteTx<'_> {
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

    /// No `FOR UPDATE` in SQLite: the immediate transaction already holds the
    /// database's only write lock, so no other writer can change the row.
    async fn lock_id(&mut self, _id: Uuid) -> Result<(), StorageError> {
        // The IMMEDIATE transaction already holds the database's only write lock.
        Ok(())
    }

    async fn lock_user(&mut self, id: Uuid) -> Result<Option<MirrorUser>, StorageError> {
        let row = users::table
            .find(TextUuid(id))
            .select(UserRow::as_select())
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
        diesel::update(users::table.find(TextUuid(user.id)))
            .set(UserChanges::from(user))
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn delete_user(&mut self, id: Uuid) -> Result<(), StorageError> {
        diesel::delete(users::table.find(TextUuid(id)))
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn bury(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<(), StorageError> {
        diesel::insert_into(deleted_users::table)
            .values((
                deleted_users::id.eq(TextUuid(id)),
                deleted_users::deleted_at.eq(micros(at)),
            ))
            .on_conflict_do_nothing()
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn is_buried(&mut self, id: Uuid) -> Result<bool, StorageError> {
        let found = deleted_users::table
            .find(TextUuid(id))
            .select(deleted_users::id)
            .first::<TextUuid>(self.0)
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
        diesel::update(users::table.find(TextUuid(id)))
            .set((
                users::source_updated_at.eq(micros(source_updated_at)),
                users::activity_updated_at.eq(activity_updated_at.map(micros)),
            ))
            .execute(self.0)
            .await?;
        Ok(())
    }
}
