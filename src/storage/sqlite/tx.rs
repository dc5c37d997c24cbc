//! The row operations of the SQLite backend, run inside one immediate transaction.

use super::Conn;
use super::rows::{NewDelivery, ProfileRow, TextUuid, UserChanges, UserRow, micros};
use super::schema::{deleted_users, profiles, users, webhook_events};
use crate::mirror::{Current, MirrorUser, Outcome, Profile, Tombstone};
use crate::storage::apply::{LedgerEntry, MirrorTx};
use crate::storage::{StorageError, StoredUser};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

/// The user with its profile.
pub(super) async fn read_user(
    conn: &mut Conn,
    id: Uuid,
) -> Result<Option<StoredUser>, StorageError> {
    let found = users::table
        .left_join(profiles::table)
        .filter(users::id.eq(TextUuid(id)))
        .select((UserRow::as_select(), Option::<ProfileRow>::as_select()))
        .first::<(UserRow, Option<ProfileRow>)>(conn)
        .await
        .optional()?;
    Ok(found.map(|(user, profile)| StoredUser {
        user: user.into(),
        profile: profile.map(Into::into),
    }))
}

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

    /// No lock to take: the immediate transaction already holds the database's
    /// only write lock, so no other writer can change the user meanwhile.
    async fn load(&mut self, id: Uuid) -> Result<Current, StorageError> {
        let found = read_user(self.0, id).await?;
        let tombstone = deleted_users::table
            .find(TextUuid(id))
            .select((deleted_users::deleted_at, deleted_users::removed))
            .first::<(DateTime<Utc>, bool)>(self.0)
            .await
            .optional()?;
        Ok(Current {
            user: found.as_ref().map(|f| f.user.clone()),
            profile: found.and_then(|f| f.profile),
            tombstone: tombstone.map(|(deleted_at, removed)| Tombstone {
                deleted_at,
                removed,
            }),
        })
    }

    async fn insert_user(&mut self, user: &MirrorUser) -> Result<bool, StorageError> {
        let inserted = diesel::insert_into(users::table)
            .values(UserRow::from(user))
            .on_conflict_do_nothing()
            .execute(self.0)
            .await?;
        Ok(inserted == 1)
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

    async fn insert_profile(&mut self, id: Uuid, profile: &Profile) -> Result<(), StorageError> {
        diesel::insert_into(profiles::table)
            .values(ProfileRow::new(id, profile.clone()))
            .on_conflict_do_nothing()
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn follow_profile(
        &mut self,
        id: Uuid,
        from: &Profile,
        to: &Profile,
    ) -> Result<(), StorageError> {
        diesel::update(profiles::table.find(TextUuid(id)))
            .filter(
                profiles::display_name
                    .is(from.display_name.as_deref())
                    .and(profiles::avatar_url.is(from.avatar_url.as_deref())),
            )
            .set((
                profiles::display_name.eq(to.display_name.as_deref()),
                profiles::avatar_url.eq(to.avatar_url.as_deref()),
                profiles::updated_at.eq(micros(to.updated_at)),
            ))
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn put_tombstone(&mut self, id: Uuid, tombstone: Tombstone) -> Result<(), StorageError> {
        let deleted_at = micros(tombstone.deleted_at);
        diesel::insert_into(deleted_users::table)
            .values((
                deleted_users::id.eq(TextUuid(id)),
                deleted_users::deleted_at.eq(deleted_at),
                deleted_users::removed.eq(tombstone.removed),
            ))
            .on_conflict(deleted_users::id)
            .do_update()
            .set((
                deleted_users::deleted_at.eq(deleted_at),
                deleted_users::removed.eq(tombstone.removed),
            ))
            .execute(self.0)
            .await?;
        Ok(())
    }
}
