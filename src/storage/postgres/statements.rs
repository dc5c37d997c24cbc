//! Statements of the PostgreSQL backend that diesel's query builder cannot express.
//!
//! Each has a static query id, so diesel-async prepares it once per connection and
//! keeps it, like every other statement on the hot path.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};

/// The first key of the per-user advisory locks taken by every change ("supa"),
/// the same since the first release, so replicas of different versions agree.
pub const USER_LOCK_CLASS: i32 = 0x7375_7061;

/// The channel on which a write announces the users it changed.
pub const CHANGES_CHANNEL: &str = "supahook_users";

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
