//! The two steps of a PostgreSQL transaction, each one round trip.
//!
//! Every statement of a step is sent at once (diesel-async pipelines futures polled
//! together on a shared connection) and PostgreSQL runs them in order, so a step costs
//! one round trip whatever the batch size: *load* is `BEGIN`, the users' locks and three
//! reads; *write* is the row operations and `COMMIT`. The order only holds when every
//! statement is already prepared, which [`warm_up`] ensures for each new connection.

use super::rows::{NewDelivery, ProfileRow, UserChanges, UserRow};
use super::schema::{deleted_users, profiles, users, webhook_events};
use super::statements::{Announce, Begin, Commit, LockUser, Rollback};
use crate::mirror::{Current, MirrorUser, Outcome, Profile, Tombstone};
use crate::storage::apply::{LedgerEntry, Loaded, MirrorTx, Op};
use crate::storage::{StorageError, StoredUser};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::{BoxFuture, try_join_all};
use std::collections::HashMap;
use uuid::Uuid;

/// A transaction in progress on one connection. `replica` names this process in the
/// change announcements, so that it can ignore its own.
pub(super) struct PgTx<'c> {
    pub conn: &'c AsyncPgConnection,
    pub replica: &'c str,
}

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

type Execute<'c> = BoxFuture<'c, QueryResult<usize>>;

impl PgTx<'_> {
    fn op(&self, op: &Op<'_>) -> Execute<'_> {
        let mut conn = self.conn;
        match *op {
            Op::InsertUser(user) => diesel::insert_into(users::table)
                .values(UserRow::from(user))
                .execute(&mut conn),
            Op::UpdateUser(user) => diesel::update(users::table.find(user.id))
                .set(UserChanges::from(user))
                .execute(&mut conn),
            Op::DeleteUser(id) => diesel::delete(users::table.find(id)).execute(&mut conn),
            Op::InsertProfile(id, profile) => diesel::insert_into(profiles::table)
                .values(ProfileRow::new(id, profile.clone()))
                .on_conflict_do_nothing()
                .execute(&mut conn),
            Op::FollowProfile { id, from, to } => diesel::update(profiles::table.find(id))
                .filter(
                    profiles::display_name
                        .is_not_distinct_from(from.display_name.clone())
                        .and(profiles::avatar_url.is_not_distinct_from(from.avatar_url.clone())),
                )
                .set((
                    profiles::display_name.eq(to.display_name.clone()),
                    profiles::avatar_url.eq(to.avatar_url.clone()),
                    profiles::updated_at.eq(to.updated_at),
                ))
                .execute(&mut conn),
            Op::InsertTombstone(id, t) => diesel::insert_into(deleted_users::table)
                .values((
                    deleted_users::id.eq(id),
                    deleted_users::deleted_at.eq(t.deleted_at),
                    deleted_users::removed.eq(t.removed),
                ))
                .execute(&mut conn),
            Op::UpdateTombstone(id, t) => diesel::update(deleted_users::table.find(id))
                .set((
                    deleted_users::deleted_at.eq(t.deleted_at),
                    deleted_users::removed.eq(t.removed),
                ))
                .execute(&mut conn),
            Op::Record(entry, outcome) => diesel::insert_into(webhook_events::table)
                .values(NewDelivery::new(entry, outcome))
                .on_conflict_do_nothing()
                .execute(&mut conn),
            Op::Announce(id) => Announce(format!("{}:{id}", self.replica)).execute(&mut conn),
        }
    }
}

impl MirrorTx for PgTx<'_> {
    async fn lock_and_read(&mut self, ids: &[Uuid], keys: &[&str]) -> Result<Loaded, StorageError> {
        let mut conn = self.conn;
        let begin = Begin::default().execute(&mut conn);
        let locks = try_join_all(ids.iter().map(|id| LockUser(*id).execute(&mut conn)));
        let found = users::table
            .left_join(profiles::table)
            .filter(users::id.eq_any(ids))
            .select((UserRow::as_select(), Option::<ProfileRow>::as_select()))
            .load::<(UserRow, Option<ProfileRow>)>(&mut conn);
        let tombstones = deleted_users::table
            .filter(deleted_users::id.eq_any(ids))
            .select((
                deleted_users::id,
                deleted_users::deleted_at,
                deleted_users::removed,
            ))
            .load::<(Uuid, DateTime<Utc>, bool)>(&mut conn);
        let recorded = webhook_events::table
            .filter(webhook_events::idempotency_key.eq_any(keys))
            .select(webhook_events::idempotency_key)
            .load::<String>(&mut conn);
        let (_, _, found, tombstones, recorded) =
            futures_util::try_join!(begin, locks, found, tombstones, recorded)?;

        let mut rows: HashMap<Uuid, (UserRow, Option<ProfileRow>)> =
            found.into_iter().map(|row| (row.0.id, row)).collect();
        let mut tombstones: HashMap<Uuid, Tombstone> = tombstones
            .into_iter()
            .map(|(id, deleted_at, removed)| {
                (
                    id,
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

    async fn write_and_commit(&mut self, ops: &[Op<'_>], commit: bool) -> Result<(), StorageError> {
        let mut conn = self.conn;
        let mut statements: Vec<Execute<'_>> = ops.iter().map(|op| self.op(op)).collect();
        if commit {
            statements.push(Commit::default().execute(&mut conn));
        } else {
            statements.push(Rollback::default().execute(&mut conn));
        }
        try_join_all(statements).await?;
        Ok(())
    }
}

/// Prepares every statement of the two steps on a new connection, one at a time and
/// inside a transaction that is rolled back, so that later steps can send theirs at
/// once and have them run in the order sent.
pub(super) async fn warm_up(conn: &AsyncPgConnection) -> QueryResult<()> {
    // Its own id and key, so that connections warming up at once never wait on each other.
    let id = Uuid::new_v4();
    let key = format!("warm-up-{id}");
    let user = MirrorUser::blank(id, Utc::now());
    let profile = Profile::seed(&user);
    let tombstone = Tombstone {
        deleted_at: user.created_at,
        removed: true,
    };
    let entry = LedgerEntry {
        key: &key,
        hook: "warm-up",
        webhook_id: "warm-up",
        user_id: Some(id),
        received_at: user.created_at,
    };
    let mut tx = PgTx {
        conn,
        replica: "warm-up",
    };
    tx.lock_and_read(&[id], &[entry.key])
        .await
        .map_err(into_query)?;
    for op in [
        Op::InsertUser(&user),
        Op::UpdateUser(&user),
        Op::InsertProfile(id, &profile),
        Op::FollowProfile {
            id,
            from: &profile,
            to: &profile,
        },
        Op::InsertTombstone(id, tombstone),
        Op::UpdateTombstone(id, tombstone),
        Op::Record(entry, Outcome::Created),
        Op::DeleteUser(id),
        Op::Announce(id),
    ] {
        tx.op(&op).await?;
    }
    let mut c = conn;
    Rollback::default().execute(&mut c).await?;
    Begin::default().execute(&mut c).await?;
    Commit::default().execute(&mut c).await?;
    Ok(())
}

fn into_query(error: StorageError) -> diesel::result::Error {
    match error {
        StorageError::Query(e) => e,
        other => diesel::result::Error::QueryBuilderError(other.to_string().into()),
    }
}
