//! Reverts applied migrations by running their shipped `down.sql`, newest first, in
//! one transaction: each step is first tried and undone, to see which tables and
//! columns it removes and how much they hold, then run. When a step would drop data
//! and that is not allowed, the whole revert is rolled back and only reported.

mod plan;

pub use plan::{Removed, RevertPlan, RevertStep, Reverted};

use super::StorageError;
use diesel::connection::{Connection, TransactionManager};
use diesel::migration::{Migration, MigrationSource};
use diesel::query_builder::SqlQuery;
use diesel::query_dsl::methods::LoadQuery;
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use diesel_async::AsyncConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use std::collections::BTreeSet;

/// One column of one of the tables in supahook's schema.
#[derive(QueryableByName)]
pub(super) struct CatalogRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// How many rows, or values that are not null, a table or column holds.
#[derive(QueryableByName)]
pub(super) struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs `plan` on `conn`, whose `catalog` query lists every column of the schema's
/// tables, and hands the connection back. Migrations run blocking, as diesel's
/// harness does (a multi-threaded runtime is needed).
pub(super) fn run<C>(
    conn: C,
    migrations: EmbeddedMigrations,
    plan: &RevertPlan,
    drop_data: bool,
    catalog: &str,
) -> (C, Result<Reverted, StorageError>)
where
    C: AsyncConnection + 'static,
    AsyncConnectionWrapper<C>: Connection<Backend = C::Backend> + MigrationHarness<C::Backend>,
    EmbeddedMigrations: MigrationSource<C::Backend>,
    SqlQuery: LoadQuery<'static, AsyncConnectionWrapper<C>, CatalogRow>
        + LoadQuery<'static, AsyncConnectionWrapper<C>, Count>,
{
    tokio::task::block_in_place(|| {
        let mut sync = AsyncConnectionWrapper::<C>::from(conn);
        let result = in_transaction(&mut sync, &migrations, plan, drop_data, catalog);
        (sync.into_inner(), result)
    })
}

fn in_transaction<Conn>(
    conn: &mut Conn,
    migrations: &EmbeddedMigrations,
    plan: &RevertPlan,
    drop_data: bool,
    catalog: &str,
) -> Result<Reverted, StorageError>
where
    Conn: Connection + MigrationHarness<Conn::Backend>,
    EmbeddedMigrations: MigrationSource<Conn::Backend>,
    SqlQuery: LoadQuery<'static, Conn, CatalogRow> + LoadQuery<'static, Conn, Count>,
{
    let known = migrations.migrations().map_err(failed)?;
    let applied: Vec<String> = conn
        .applied_migrations()
        .map_err(failed)?
        .iter()
        .map(ToString::to_string)
        .collect();
    let names: Vec<String> = known
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let chosen = plan::choose(&applied, &names, plan).map_err(StorageError::Revert)?;

    Conn::TransactionManager::begin_transaction(conn)?;
    let result = steps(conn, &known, &chosen, catalog).map(|steps| {
        let mut reverted = Reverted {
            steps,
            applied: true,
        };
        reverted.applied = drop_data || !reverted.drops_data();
        reverted
    });
    match &result {
        Ok(reverted) if reverted.applied => Conn::TransactionManager::commit_transaction(conn)?,
        _ => Conn::TransactionManager::rollback_transaction(conn)?,
    }
    result
}

/// Reverts each of `chosen` in turn, after a trial that tells what it removes.
fn steps<Conn>(
    conn: &mut Conn,
    known: &[Box<dyn Migration<Conn::Backend>>],
    chosen: &[String],
    catalog: &str,
) -> Result<Vec<RevertStep>, StorageError>
where
    Conn: Connection + MigrationHarness<Conn::Backend>,
    SqlQuery: LoadQuery<'static, Conn, CatalogRow> + LoadQuery<'static, Conn, Count>,
{
    let mut steps = Vec::new();
    for version in chosen {
        let Some(migration) = known
            .iter()
            .find(|m| m.name().version().to_string() == *version)
        else {
            return Err(StorageError::Revert(format!("unknown migration {version}")));
        };
        let before = columns(conn, catalog)?;
        Conn::TransactionManager::begin_transaction(conn)?;
        let trial = conn
            .revert_migration(migration.as_ref())
            .map_err(failed)
            .and_then(|_| columns(conn, catalog));
        Conn::TransactionManager::rollback_transaction(conn)?;
        let mut removed = Vec::new();
        for (table, column) in plan::vanished(&before, &trial?) {
            removed.push(measure(conn, table, column)?);
        }
        conn.revert_migration(migration.as_ref()).map_err(failed)?;
        steps.push(RevertStep {
            name: migration.name().to_string(),
            removed,
        });
    }
    Ok(steps)
}

fn columns<Conn>(conn: &mut Conn, catalog: &str) -> Result<BTreeSet<(String, String)>, StorageError>
where
    Conn: Connection,
    SqlQuery: LoadQuery<'static, Conn, CatalogRow>,
{
    let rows: Vec<CatalogRow> = diesel::sql_query(catalog).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.table_name, row.column_name))
        .collect())
}

/// How much the table, or the column of it, holds.
fn measure<Conn>(
    conn: &mut Conn,
    table: String,
    column: Option<String>,
) -> Result<Removed, StorageError>
where
    Conn: Connection,
    SqlQuery: LoadQuery<'static, Conn, Count>,
{
    let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let counted = match &column {
        None => "*".to_owned(),
        Some(column) => quoted(column),
    };
    let sql = format!("SELECT count({counted}) AS n FROM {}", quoted(&table));
    let Count { n } = diesel::sql_query(sql)
        .load::<Count>(conn)?
        .pop()
        .unwrap_or(Count { n: 0 });
    Ok(match column {
        None => Removed::Table { table, rows: n },
        Some(column) => Removed::Column {
            table,
            column,
            values: n,
        },
    })
}

/// A failure of diesel's migration harness.
fn failed(error: Box<dyn std::error::Error + Send + Sync>) -> StorageError {
    StorageError::Migration(error.to_string())
}
