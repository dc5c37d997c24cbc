//! The statements of the load step: the users' locks, then one read of everything the
//! plan needs (rows, profiles, tombstones and the ledger keys already recorded).
//!
//! Both `unnest` their arrays through a scalar subquery, `(SELECT $1)`, so that the
//! planner cannot see how many elements they hold, in a custom plan any more than in
//! the generic one. A custom plan then costs as much as the generic plan plus its own
//! planning, and PostgreSQL keeps the generic plan after its fifth execution instead
//! of planning the statement again on every call. Each table is read in a `LATERAL`
//! subquery fenced with `OFFSET 0`, so that the generic plan can only be one primary-key
//! lookup per element, whatever the statistics said when it was made (a plan made on an
//! empty table would otherwise scan the whole table once it has grown).

use super::rows::{ProfileRow, UserRow};
use super::schema::users;
use super::statements::{USER_LOCK_CLASS, static_query_id, write};
use crate::mirror::{Current, Tombstone};
use crate::storage::apply::Loaded;
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment};
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamptz};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Takes each user's lock, in the order of the ids (ascending, so that two
/// transactions never wait for each other), until the transaction ends.
pub struct LockUsers<'a>(pub &'a [Uuid]);

impl QueryFragment<Pg> for LockUsers<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT pg_advisory_xact_lock(");
        out.push_bind_param::<Integer, _>(&USER_LOCK_CLASS)?;
        write(
            &mut out,
            ", hashtext(id::text)) FROM unnest((SELECT {})) AS id",
            &[&self.0],
        )
    }
}

/// Reads each user's row, profile and tombstone, and which of the ledger keys are
/// recorded: one row per position of the two lists (the shorter one is padded with
/// NULLs), each part NULL where there is nothing. Runs after [`LockUsers`], as a
/// statement of its own, so that it sees every change committed before the locks
/// were granted.
pub struct ReadCurrent<'a> {
    pub ids: &'a [Uuid],
    pub keys: &'a [&'a str],
}

static_query_id!(LockUsers, ReadCurrent);

/// One row of [`ReadCurrent`]; the parts of an element that does not exist are `None`.
pub type CurrentRow = (
    Option<UserRow>,
    Option<ProfileRow>,
    Option<(Uuid, DateTime<Utc>, bool)>,
    Option<String>,
);

type ProfileSql = (
    diesel::sql_types::Uuid,
    Nullable<Text>,
    Nullable<Text>,
    Timestamptz,
    Timestamptz,
);

impl Query for ReadCurrent<'_> {
    type SqlType = (
        Nullable<users::SqlType>,
        Nullable<ProfileSql>,
        Nullable<(diesel::sql_types::Uuid, Timestamptz, Bool)>,
        Nullable<Text>,
    );
}

impl QueryFragment<Pg> for ReadCurrent<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // The user columns in the table's order, which is `UserRow`'s.
        write(
            &mut out,
            "SELECT u.*, p.*, d.*, w.idempotency_key \
             FROM unnest((SELECT {}), (SELECT {})) AS i(id, key) \
             LEFT JOIN LATERAL (SELECT id, email, phone, first_name, last_name, avatar_url, \
             auth_provider, providers, is_anonymous, email_confirmed_at, phone_confirmed_at, \
             last_sign_in_at, user_metadata, app_metadata, is_onboarded, auth_created_at, \
             source_updated_at, activity_updated_at, deleted_at, created_at, updated_at, \
             provisional, banned_until, is_sso_user, policy_violation \
             FROM users WHERE users.id = i.id OFFSET 0) AS u ON true \
             LEFT JOIN LATERAL (SELECT user_id, display_name, avatar_url, created_at, updated_at \
             FROM profiles WHERE profiles.user_id = i.id OFFSET 0) AS p ON true \
             LEFT JOIN LATERAL (SELECT id, deleted_at, removed \
             FROM deleted_users WHERE deleted_users.id = i.id OFFSET 0) AS d ON true \
             LEFT JOIN LATERAL (SELECT idempotency_key \
             FROM webhook_events WHERE webhook_events.idempotency_key = i.key OFFSET 0) AS w \
             ON true",
            &[&self.ids, &self.keys],
        )
    }
}

/// The users' states, in the order of `ids`, and the keys recorded, from the rows of
/// [`ReadCurrent`].
pub fn loaded(ids: &[Uuid], rows: Vec<CurrentRow>) -> Loaded {
    let mut found: HashMap<Uuid, Current> = HashMap::with_capacity(ids.len());
    let mut recorded = HashSet::new();
    for (user, profile, tombstone, key) in rows {
        if let Some(user) = user {
            let id = user.id;
            found.entry(id).or_default().user = Some(user.into());
        }
        if let Some(profile) = profile {
            let id = profile.user_id;
            found.entry(id).or_default().profile = Some(profile.into());
        }
        if let Some((id, deleted_at, removed)) = tombstone {
            found.entry(id).or_default().tombstone = Some(Tombstone {
                deleted_at,
                removed,
            });
        }
        recorded.extend(key);
    }
    let users = ids
        .iter()
        .map(|id| found.remove(id).unwrap_or_default())
        .collect();
    Loaded { users, recorded }
}
