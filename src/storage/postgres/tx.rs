//! The two steps of a PostgreSQL transaction, each one round trip.
//!
//! Every statement of a step is sent at once (diesel-async pipelines futures polled
//! together on a shared connection) and PostgreSQL runs them in order, so a step costs
//! one round trip whatever the batch size: *load* is `BEGIN`, the users' locks and one
//! read (see [`super::load`]); *write* is the row operations and `COMMIT`. The order
//! only holds when every statement is already prepared, which [`warm_up`] ensures for
//! each new connection.

use super::bulk::{
    Announce, DeleteUsers, FollowProfiles, InsertProfiles, InsertUsers, RecordDeliveries,
    RecordEvents, UpdateUsers, UserColumns, WriteTombstones,
};
use super::load::{CurrentRow, LockUsers, ReadCurrent, loaded};
use super::statements::{Begin, Commit, Rollback};
use crate::mirror::{MirrorUser, Outcome, Profile, Tombstone};
use crate::storage::StorageError;
use crate::storage::apply::{LedgerEntry, Loaded, MirrorTx, Op, OutboxEvent};
use crate::storage::op_groups::in_groups;
use chrono::Utc;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::{BoxFuture, try_join_all};
use uuid::Uuid;

/// A transaction in progress on one connection. `replica` names this process in the
/// change announcements, so that it can ignore its own.
pub(super) struct PgTx<'c> {
    pub conn: &'c AsyncPgConnection,
    pub replica: &'c str,
}

type Execute<'c> = BoxFuture<'c, QueryResult<usize>>;

impl PgTx<'_> {
    /// The one statement that runs `group`, operations of one kind (see [`in_groups`]).
    fn statement<'q>(&'q self, group: &[Op<'q>]) -> Execute<'q> {
        let mut conn = self.conn;
        match group.first() {
            Some(Op::InsertUser(_)) => InsertUsers(UserColumns::of(group)).execute(&mut conn),
            Some(Op::UpdateUser(_)) => UpdateUsers(UserColumns::of(group)).execute(&mut conn),
            Some(Op::DeleteUser(_)) => {
                let ids = group.iter().filter_map(|op| match *op {
                    Op::DeleteUser(id) => Some(id),
                    _ => None,
                });
                DeleteUsers(ids.collect()).execute(&mut conn)
            }
            Some(Op::InsertProfile(..)) => InsertProfiles::of(group).execute(&mut conn),
            Some(Op::FollowProfile { .. }) => FollowProfiles::of(group).execute(&mut conn),
            Some(Op::InsertTombstone(..)) => WriteTombstones::<true>::of(group).execute(&mut conn),
            Some(Op::UpdateTombstone(..)) => WriteTombstones::<false>::of(group).execute(&mut conn),
            Some(Op::Record(..)) => RecordDeliveries::of(group).execute(&mut conn),
            Some(Op::Announce(_)) => Announce::of(group, self.replica).execute(&mut conn),
            Some(Op::Event(_)) => RecordEvents::of(group).execute(&mut conn),
            None => Box::pin(std::future::ready(Ok(0))),
        }
    }
}

impl MirrorTx for PgTx<'_> {
    async fn lock_and_read(&mut self, ids: &[Uuid], keys: &[&str]) -> Result<Loaded, StorageError> {
        let mut conn = self.conn;
        let begin = Begin::default().execute(&mut conn);
        let locks = LockUsers(ids).execute(&mut conn);
        let read = ReadCurrent { ids, keys }.load::<CurrentRow>(&mut conn);
        let (_, _, rows) = futures_util::try_join!(begin, locks, read)?;
        Ok(loaded(ids, rows))
    }

    async fn write_and_commit(&mut self, ops: &[Op<'_>], commit: bool) -> Result<(), StorageError> {
        let mut conn = self.conn;
        let groups = in_groups(ops);
        let mut statements: Vec<Execute<'_>> =
            groups.iter().map(|group| self.statement(group)).collect();
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
    let event = OutboxEvent {
        id,
        kind: "warm-up",
        user_id: id,
        offset: 1,
        recorded_at: user.created_at,
        data: serde_json::Value::Null,
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
        Op::Event(&event),
    ] {
        tx.statement(&[op]).await?;
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
