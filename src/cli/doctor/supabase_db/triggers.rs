//! The triggers on `auth.users`, as the catalog describes them.

use diesel::QueryableByName;
use diesel::sql_types::{Bool, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::fmt;

/// One trigger on `auth.users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// Its name.
    pub name: String,
    /// The function it runs, as `schema.name(args)`.
    pub function: String,
    /// When it fires: `BEFORE INSERT OR UPDATE`, say.
    pub when: String,
    /// `false` when disabled (`ALTER TABLE ... DISABLE TRIGGER`).
    pub enabled: bool,
}

/// `name (WHEN, function)`.
impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let disabled = if self.enabled { "" } else { ", disabled" };
        write!(
            f,
            "{} ({}, {}{disabled})",
            self.name, self.when, self.function
        )
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    function: String,
    #[diesel(sql_type = Integer)]
    kind: i32,
    #[diesel(sql_type = Bool)]
    enabled: bool,
}

/// The user-defined triggers on `auth.users`, by name.
pub async fn on_auth_users(conn: &mut AsyncPgConnection) -> Result<Vec<Trigger>, String> {
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT t.tgname::text AS name, t.tgfoid::regprocedure::text AS function, \
                t.tgtype::int AS kind, t.tgenabled <> 'D' AS enabled \
         FROM pg_catalog.pg_trigger t \
         WHERE t.tgrelid = to_regclass('auth.users') AND NOT t.tgisinternal \
         ORDER BY t.tgname",
    )
    .load(conn)
    .await
    .map_err(|e| e.to_string())?;
    Ok(rows
        .into_iter()
        .map(|row| Trigger {
            name: row.name,
            function: row.function,
            when: when(row.kind),
            enabled: row.enabled,
        })
        .collect())
}

/// `pg_trigger.tgtype` in words: `BEFORE INSERT OR UPDATE`, `AFTER DELETE FOR EACH
/// STATEMENT` (bits from PostgreSQL's `catalog/pg_trigger.h`).
fn when(kind: i32) -> String {
    const ROW: i32 = 1;
    const BEFORE: i32 = 1 << 1;
    const INSTEAD: i32 = 1 << 6;
    const EVENTS: [(i32, &str); 4] = [
        (1 << 2, "INSERT"),
        (1 << 4, "UPDATE"),
        (1 << 3, "DELETE"),
        (1 << 5, "TRUNCATE"),
    ];
    let timing = match (kind & BEFORE != 0, kind & INSTEAD != 0) {
        (_, true) => "INSTEAD OF",
        (true, false) => "BEFORE",
        (false, false) => "AFTER",
    };
    let events: Vec<&str> = EVENTS
        .iter()
        .filter(|(bit, _)| kind & bit != 0)
        .map(|(_, event)| *event)
        .collect();
    let level = if kind & ROW != 0 {
        ""
    } else {
        " FOR EACH STATEMENT"
    };
    format!("{timing} {}{level}", events.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::when;

    #[test]
    fn the_trigger_kind_reads_as_sql_says_it() {
        // AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW: 1 + 4 + 8 + 16.
        assert_eq!(when(29), "AFTER INSERT OR UPDATE OR DELETE");
        // BEFORE INSERT FOR EACH ROW.
        assert_eq!(when(7), "BEFORE INSERT");
        assert_eq!(when(16), "AFTER UPDATE FOR EACH STATEMENT");
    }
}
