//! The row operations of the PostgreSQL backend, run inside one transaction.

use super::rows::{NewDelivery, ProfileRow, UserChanges, UserRow};
use super::schema::{deleted_users, profiles, users, webhook_events};
use crate::mirror::{Current, MirrorUser, Outcome, Profile, Tombstone};
use crate::storage::apply::{LedgerEntry, MirrorTx};
use crate::storage::{StorageError, StoredUser};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// The first key of the per-user advisory locks taken by every change.
const USER_LOCK_CLASS: i32 = 0x7375_7061; // "supa"

/// The user with its profile.
pub(super) async fn read_user(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<StoredUser>, StorageError> {
    let found = users::table
        .left_join(profiles::table)
        .filter(users::id.eq(id))
        .select((UserRow::as_select(), Option::<ProfileRow>::as_select()))
        .first::<(UserRow, Option<ProfileRow>)>(conn)
        .await
        .optional()?;
    Ok(found.map(|(user, profile)| StoredUser {
        user: user.into(),
        profile: profile.map(Into::into),
    }))
}

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

    async fn load(&mut self, id: Uuid) -> Result<Current, StorageError> {
        // Two-key form: its own key space, apart from the migration lock. Every change
        // takes it, so it serialises changes to the user even while no row exists.
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind::<diesel::sql_types::Integer, _>(USER_LOCK_CLASS)
            .bind::<diesel::sql_types::Text, _>(id.to_string())
            .execute(self.0)
            .await?;
        let found = read_user(self.0, id).await?;
        let tombstone = deleted_users::table
            .find(id)
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
        diesel::update(profiles::table.find(id))
            .filter(
                profiles::display_name
                    .is_not_distinct_from(from.display_name.as_deref())
                    .and(profiles::avatar_url.is_not_distinct_from(from.avatar_url.as_deref())),
            )
            .set((
                profiles::display_name.eq(to.display_name.as_deref()),
                profiles::avatar_url.eq(to.avatar_url.as_deref()),
                profiles::updated_at.eq(to.updated_at),
            ))
            .execute(self.0)
            .await?;
        Ok(())
    }

    async fn put_tombstone(&mut self, id: Uuid, tombstone: Tombstone) -> Result<(), StorageError> {
        let values = (
            deleted_users::id.eq(id),
            deleted_users::deleted_at.eq(tombstone.deleted_at),
            deleted_users::removed.eq(tombstone.removed),
        );
        diesel::insert_into(deleted_users::table)
            .values(values)
            .on_conflict(deleted_users::id)
            .do_update()
            .set((
                deleted_users::deleted_at.eq(tombstone.deleted_at),
                deleted_users::removed.eq(tombstone.removed),
            ))
            .execute(self.0)
            .await?;
        Ok(())
    }
}
