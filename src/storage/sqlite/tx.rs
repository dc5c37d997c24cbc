//! The two steps of a SQLite transaction: one statement after another, under
//! `BEGIN IMMEDIATE`, which takes the database's only write lock before the first read.

use super::Conn;
use super::rows::{NewDelivery, ProfileRow, TextUuid, UserChanges, UserRow, micros};
use super::schema::{PROFILE_ROW, deleted_users, profiles, users, webhook_events};
use crate::mirror::{Current, MirrorUser, Profile, Tombstone};
use crate::storage::StorageError;
use crate::storage::apply::{Loaded, MirrorTx, Op, OutboxEvent};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use std::collections::HashMap;
use uuid::Uuid;

/// A transaction in progress on one connection.
pub(super) struct SqliteTx<'c>(pub(super) &'c mut Conn);

impl SqliteTx<'_> {
    async fn run(&mut self, op: &Op<'_>) -> QueryResult<usize> {
        let conn = &mut *self.0;
        match *op {
            Op::InsertUser(user) => {
                diesel::insert_into(users::table)
                    .values((
                        users::id.eq(TextUuid(user.id)),
                        users::is_onboarded.eq(user.is_onboarded),
                        users::created_at.eq(micros(user.created_at)),
                        UserChanges::from(user),
                    ))
                    .execute(conn)
                    .await
            }
            Op::UpdateUser(user) => {
                diesel::update(users::table.find(TextUuid(user.id)))
                    .set(UserChanges::from(user))
                    .execute(conn)
                    .await
            }
            Op::DeleteUser(id) => {
                diesel::delete(users::table.find(TextUuid(id)))
                    .execute(conn)
                    .await
            }
            Op::InsertProfile(id, profile) => {
                diesel::insert_into(profiles::table)
                    .values((
                        profiles::user_id.eq(TextUuid(id)),
                        profiles::display_name.eq(profile.display_name.as_deref()),
                        profiles::avatar_url.eq(profile.avatar_url.as_deref()),
                        profiles::created_at.eq(micros(profile.created_at)),
                        profiles::updated_at.eq(micros(profile.updated_at)),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await
            }
            Op::FollowProfile { id, from, to } => {
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
                    .execute(conn)
                    .await
            }
            Op::InsertTombstone(id, t) => {
                diesel::insert_into(deleted_users::table)
                    .values((
                        deleted_users::id.eq(TextUuid(id)),
                        deleted_users::deleted_at.eq(micros(t.deleted_at)),
                        deleted_users::removed.eq(t.removed),
                    ))
                    .execute(conn)
                    .await
            }
            Op::UpdateTombstone(id, t) => {
                diesel::update(deleted_users::table.find(TextUuid(id)))
                    .set((
                        deleted_users::deleted_at.eq(micros(t.deleted_at)),
                        deleted_users::removed.eq(t.removed),
                    ))
                    .execute(conn)
                    .await
            }
            // One writing process: nobody to tell.
            Op::Announce(_) => Ok(0),
            Op::Event(event) => record_event(conn, event).await,
            Op::Record(entry, outcome) => {
                diesel::insert_into(webhook_events::table)
                    .values(NewDelivery::new(entry, outcome))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await
            }
        }
    }
}

/// Records a lifecycle event in the outbox at the user's last sequence plus one: events
/// are inserted one at a time in their offsets' order, so the last sequence already
/// counts the transaction's earlier events. The one writer records in commit order, so
/// positions are in commit order too.
async fn record_event(conn: &mut Conn, event: &OutboxEvent) -> QueryResult<usize> {
    use diesel::sql_types::Text;
    diesel::sql_query(
        "INSERT INTO outbox_events (id, type, user_id, sequence, recorded_at, data) \
         SELECT ?, ?, ?, COALESCE(MAX(sequence), 0) + 1, ?, ? FROM outbox_events \
         WHERE user_id = ? ON CONFLICT (id) DO NOTHING",
    )
    .bind::<Text, _>(TextUuid(event.id))
    .bind::<Text, _>(event.kind)
    .bind::<Text, _>(TextUuid(event.user_id))
    .bind::<diesel::sql_types::TimestamptzSqlite, _>(micros(event.recorded_at))
    .bind::<Text, _>(event.data.to_string())
    .bind::<Text, _>(TextUuid(event.user_id))
    .execute(conn)
    .await
}

impl MirrorTx for SqliteTx<'_> {
    /// No per-user lock: the immediate transaction holds the database's only write
    /// lock, so no other writer can change anything meanwhile.
    async fn lock_and_read(&mut self, ids: &[Uuid], keys: &[&str]) -> Result<Loaded, StorageError> {
        self.0.batch_execute("BEGIN IMMEDIATE").await?;
        read(self.0, ids, keys).await
    }

    async fn write_and_commit(&mut self, ops: &[Op<'_>], commit: bool) -> Result<(), StorageError> {
        for op in ops {
            self.run(op).await?;
        }
        let end = if commit { "COMMIT" } else { "ROLLBACK" };
        self.0.batch_execute(end).await?;
        Ok(())
    }
}

/// Each user's state, in the order of `ids`, and which of `keys` the ledger holds.
pub(super) async fn read(
    conn: &mut Conn,
    ids: &[Uuid],
    keys: &[&str],
) -> Result<Loaded, StorageError> {
    let text_ids: Vec<TextUuid> = ids.iter().copied().map(TextUuid).collect();
    let found: Vec<(UserRow, Option<ProfileRow>)> = users::table
        .left_join(profiles::table)
        .filter(users::id.eq_any(&text_ids))
        .select((users::all_columns, PROFILE_ROW.nullable()))
        .load(conn)
        .await?;
    let tombstones: Vec<(TextUuid, DateTime<Utc>, bool)> = deleted_users::table
        .filter(deleted_users::id.eq_any(&text_ids))
        .select((
            deleted_users::id,
            deleted_users::deleted_at,
            deleted_users::removed,
        ))
        .load(conn)
        .await?;
    let recorded: Vec<String> = match keys {
        [] => Vec::new(),
        keys => {
            webhook_events::table
                .filter(webhook_events::idempotency_key.eq_any(keys))
                .select(webhook_events::idempotency_key)
                .load(conn)
                .await?
        }
    };

    let mut rows: HashMap<Uuid, (UserRow, Option<ProfileRow>)> =
        found.into_iter().map(|row| (row.0.id.0, row)).collect();
    let mut tombstones: HashMap<Uuid, Tombstone> = tombstones
        .into_iter()
        .map(|(id, deleted_at, removed)| {
            (
                id.0,
                Tombstone {
                    deleted_at,
                    removed,
                },
            )
        })
        .collect();
    let users = ids
        .iter()
        .map(|id| {
            let (user, profile) = rows.remove(id).unzip();
            Current {
                user: user.map(MirrorUser::from),
                profile: profile.flatten().map(Profile::from),
                tombstone: tombstones.remove(id),
            }
        })
        .collect();
    Ok(Loaded {
        users,
        recorded: recorded.into_iter().collect(),
    })
}
