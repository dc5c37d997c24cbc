//! Before migrating: supahook's schema exists, and holds no table of supahook's
//! names that supahook did not create (most apps have a `users` table of their own).

use crate::storage::{SchemaName, StorageError, TABLES};
use diesel::QueryableByName;
use diesel::sql_types::{Array, Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// The version of supahook's first migration, which creates its tables: recorded in
/// the schema's migrations table once supahook created them.
const FIRST_MIGRATION: &str = "20261121000001";

#[derive(QueryableByName)]
struct Answer {
    #[diesel(sql_type = Bool)]
    yes: bool,
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Creates `schema` when it does not exist yet. Only then: `CREATE SCHEMA IF NOT
/// EXISTS` asks for the privilege to create schemas in the database even when the
/// schema exists, which a role that owns only its schema lacks.
pub async fn create_schema(
    conn: &mut AsyncPgConnection,
    schema: &SchemaName,
) -> Result<(), StorageError> {
    let exists: Answer = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1) AS yes",
    )
    .bind::<Text, _>(schema.as_str().to_owned())
    .get_result(conn)
    .await?;
    if !exists.yes {
        conn.batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
            .await?;
        tracing::info!(schema = %schema, "created the schema for supahook's tables (SUPAHOOK_DB_SCHEMA)");
    }
    Ok(())
}

/// Refuses, with advice, a schema that holds a relation named like one of supahook's
/// tables while its migrations table does not record supahook's first migration.
pub async fn check(conn: &mut AsyncPgConnection, schema: &SchemaName) -> Result<(), StorageError> {
    let has_ledger: Answer =
        diesel::sql_query("SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS yes")
            .get_result(conn)
            .await?;
    if has_ledger.yes {
        let created_by_supahook: Answer = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM __diesel_schema_migrations WHERE version = $1) AS yes",
        )
        .bind::<Text, _>(FIRST_MIGRATION)
        .get_result(conn)
        .await?;
        if created_by_supahook.yes {
            return Ok(());
        }
    }
    let found: Vec<Found> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relname = ANY($1) ORDER BY 1",
    )
    .bind::<Array<Text>, _>(TABLES.to_vec())
    .load(conn)
    .await?;
    match found.is_empty() {
        true => Ok(()),
        false => Err(StorageError::Occupied(advice(
            schema,
            &found.into_iter().map(|f| f.name).collect::<Vec<_>>(),
        ))),
    }
}

/// What to do about `taken`, tables of supahook's names in `schema` that are not its own.
fn advice(schema: &SchemaName, taken: &[String]) -> String {
    let other = match schema.as_str() {
        "supahook" => "supahook_mirror",
        _ => "supahook",
    };
    format!(
        "the schema \"{schema}\" already holds {taken}, which supahook did not create (its \
         migrations there do not record them), and supahook will not touch them. supahook \
         keeps its tables ({all}) in one schema: give it a schema of its own with \
         SUPAHOOK_DB_SCHEMA={other}, created at start. Your tables then reference \
         {other}.users(id), or read it through a view (CREATE VIEW mirrored_users AS SELECT \
         * FROM {other}.users); the README's \"supahook's tables\" has the details",
        taken = taken.join(", "),
        all = TABLES.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advice_names_the_tables_found_and_a_schema_of_its_own() {
        let text = advice(&SchemaName::public(), &["users".to_owned()]);
        assert!(text.contains("\"public\" already holds users"), "{text}");
        assert!(text.contains("SUPAHOOK_DB_SCHEMA=supahook,"), "{text}");
        assert!(text.contains("supahook.users(id)"), "{text}");

        let text = advice(
            &SchemaName::parse("supahook").unwrap(),
            &["users".to_owned()],
        );
        assert!(
            text.contains("SUPAHOOK_DB_SCHEMA=supahook_mirror"),
            "{text}"
        );
    }
}
