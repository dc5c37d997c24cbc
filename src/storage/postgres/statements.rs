//! Statements of the PostgreSQL backend that diesel's query builder cannot express.
//!
//! Each has a static query id, so diesel-async prepares it once per connection and
//! keeps it, like every other statement on the hot path.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, Bool, Jsonb, Nullable, Text, Timestamptz};
use serde_json::Value;
use uuid::Uuid;

pub(super) type Time = DateTime<Utc>;

/// The first key of the per-user advisory locks taken by every change ("supa"),
/// the same since the first release, so replicas of different versions agree.
pub const USER_LOCK_CLASS: i32 = 0x7375_7061;

/// The channel on which a write announces the users it changed.
pub const CHANGES_CHANNEL: &str = "supahook_users";

/// The channel on which the application (and supahook's own profile edits) announce a
/// user whose token claims changed: `NOTIFY supahook_claims, '<user id>'`.
pub const CLAIMS_CHANNEL: &str = "supahook_claims";

/// The first key of the lock a transaction takes before it records lifecycle events,
/// held until it commits, so that outbox positions are handed out in commit order.
pub const EVENTS_LOCK_CLASS: i32 = 0x7375_7062;

/// The session advisory lock the one process publishing the outbox to NATS holds
/// ("supanats"); a single key, apart from the two-key locks above.
pub const PUBLISHER_LOCK_KEY: i64 = 0x7375_7061_6e61_7473;

/// The channel on which a write that recorded lifecycle events says so at its commit,
/// with the last position it recorded (`NOTIFY supahook_changes`).
pub const EVENTS_CHANNEL: &str = "supahook_changes";

/// A statement that is a fixed piece of SQL.
#[derive(Debug, Clone, Copy, Default, QueryId)]
pub struct Fixed<const N: u8>;

/// `BEGIN`
pub type Begin = Fixed<0>;
/// `COMMIT`
pub type Commit = Fixed<1>;
/// `ROLLBACK`
pub type Rollback = Fixed<2>;

impl<const N: u8> QueryFragment<Pg> for Fixed<N> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql(match N {
            0 => "BEGIN",
            1 => "COMMIT",
            _ => "ROLLBACK",
        });
        Ok(())
    }
}

/// One column's values, bound as one array parameter.
pub(super) trait Column {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

macro_rules! columns {
    ($($rust:ty => $sql:ty),* $(,)?) => {$(
        impl Column for Vec<$rust> {
            fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
                out.push_bind_param::<Array<$sql>, _>(self)
            }
        }

        impl Column for &[$rust] {
            fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
                out.push_bind_param::<Array<$sql>, [$rust]>(*self)
            }
        }
    )*};
}

columns! {
    Uuid => diesel::sql_types::Uuid,
    Option<Uuid> => Nullable<diesel::sql_types::Uuid>,
    &str => Text,
    Option<&str> => Nullable<Text>,
    String => Text,
    bool => Bool,
    Time => Timestamptz,
    Option<Time> => Nullable<Timestamptz>,
    &Value => Jsonb,
    i64 => diesel::sql_types::BigInt,
}

/// Writes `sql` with each `{}` replaced by the next column's array parameter.
pub(super) fn write<'b>(
    out: &mut AstPass<'_, 'b, Pg>,
    sql: &'static str,
    columns: &[&'b dyn Column],
) -> QueryResult<()> {
    let places = sql.matches("{}").count();
    if places != columns.len() {
        let error = format!("{places} places for {} columns in: {sql}", columns.len());
        return Err(diesel::result::Error::QueryBuilderError(error.into()));
    }
    for (n, part) in sql.split("{}").enumerate() {
        if let Some(column) = n.checked_sub(1).map(|n| columns[n]) {
            column.push(out)?;
        }
        out.push_sql(part);
    }
    Ok(())
}

/// Statements that borrow their values: the id names the statement, not the borrow.
macro_rules! static_query_id {
    ($($statement:ident),*) => {$(
        impl diesel::query_builder::QueryId for $statement<'_> {
            type QueryId = $statement<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
    )*};
}
pub(super) use static_query_id;
