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
///
/// diesel walks a statement several times per execution (binds, caching, SQL), so the
/// places are found with a byte search in one pass rather than a substring searcher.
pub(super) fn write<'b>(
    out: &mut AstPass<'_, 'b, Pg>,
    sql: &'static str,
    columns: &[&'b dyn Column],
) -> QueryResult<()> {
    let mut columns_left = columns.iter();
    let (mut rest, mut from) = (sql, 0);
    while let Some(at) = rest[from..].find('{').map(|at| from + at) {
        if !rest[at + 1..].starts_with('}') {
            from = at + 1;
            continue;
        }
        let Some(column) = columns_left.next() else {
            return Err(mismatch(sql, columns.len()));
        };
        out.push_sql(&rest[..at]);
        column.push(out)?;
        (rest, from) = (&rest[at + 2..], 0);
    }
    if columns_left.next().is_some() {
        return Err(mismatch(sql, columns.len()));
    }
    out.push_sql(rest);
    Ok(())
}

/// The error for a statement whose `{}` places and columns do not match.
fn mismatch(sql: &str, columns: usize) -> diesel::result::Error {
    let places = sql.matches("{}").count();
    let error = format!("{places} places for {columns} columns in: {sql}");
    diesel::result::Error::QueryBuilderError(error.into())
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

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::pg::PgQueryBuilder;
    use diesel::query_builder::QueryBuilder;

    /// A statement whose SQL is `sql` with its places filled by two columns.
    struct Template(&'static str, Vec<Uuid>, Vec<bool>);

    impl QueryFragment<Pg> for Template {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
            write(&mut out, self.0, &[&self.1, &self.2])
        }
    }

    fn sql(template: &'static str) -> QueryResult<String> {
        let mut builder = PgQueryBuilder::new();
        Template(template, vec![], vec![]).to_sql(&mut builder, &Pg)?;
        Ok(builder.finish())
    }

    #[test]
    fn each_place_is_the_next_columns_parameter() {
        assert_eq!(
            sql("SELECT {} AS a, '{x' || '{' AS b FROM unnest({})").unwrap(),
            "SELECT $1 AS a, '{x' || '{' AS b FROM unnest($2)"
        );
        assert_eq!(sql("{{}}{}").unwrap(), "{$1}$2");
    }

    #[test]
    fn places_and_columns_must_match() {
        for template in ["SELECT {}", "SELECT {}, {}, {}", "SELECT 1"] {
            let error = sql(template).unwrap_err().to_string();
            assert!(error.contains("columns in: SELECT"), "{error}");
        }
    }
}
