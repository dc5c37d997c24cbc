//! The application's own SQL on the token path: the claims query, run read-only, and
//! the chained access-token hook's function. Each runs in a transaction of its own
//! with its own statement timeout, so neither can hold up the mirror's writes.

use super::statements::CLAIMS_CHANNEL;
use crate::storage::StorageError;
use diesel::QueryableByName;
use diesel::sql_types::{Jsonb, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

/// The one value a statement answers with.
#[derive(QueryableByName)]
struct Answer {
    #[diesel(sql_type = Nullable<Jsonb>)]
    answer: Option<Value>,
}

/// `SET LOCAL statement_timeout` for the transaction about to run.
fn time_limit(timeout: Duration) -> String {
    format!(
        "SET LOCAL statement_timeout = {}",
        timeout.as_millis().max(1)
    )
}

/// Runs `sql` with `id` as `$1` in a `READ ONLY` transaction: its one JSON value (a
/// scalar subquery, so more than one row is an error and none is `None`).
pub(super) async fn claims_query(
    conn: &mut AsyncPgConnection,
    sql: &str,
    id: Uuid,
    timeout: Duration,
) -> Result<Option<Value>, StorageError> {
    let statement = format!("SELECT ({sql})::jsonb AS answer");
    let limit = time_limit(timeout);
    conn.build_transaction()
        .read_only()
        .run(async |conn| -> Result<Option<Value>, StorageError> {
            conn.batch_execute(&limit).await?;
            let row: Answer = diesel::sql_query(&statement)
                .bind::<diesel::sql_types::Uuid, _>(id)
                .get_result(conn)
                .await
                .map_err(query_fault)?;
            Ok(row.answer)
        })
        .await
}

/// A write refused by the `READ ONLY` transaction is the query's fault, not a sign
/// of a server in recovery (as it is for the mirror's own writes).
fn query_fault(error: diesel::result::Error) -> StorageError {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => {
            StorageError::Query(error)
        }
        other => other.into(),
    }
}

/// Calls `"schema"."function"($1::jsonb)` with `event`, as Supabase Auth calls a
/// `pg-functions://` hook: in a transaction with `statement_timeout` set.
pub(super) async fn call_hook_function(
    conn: &mut AsyncPgConnection,
    schema: &str,
    function: &str,
    event: &str,
    timeout: Duration,
) -> Result<Option<Value>, StorageError> {
    let statement = format!(
        "SELECT ({}.{}($1::jsonb))::jsonb AS answer",
        quoted(schema),
        quoted(function)
    );
    let limit = time_limit(timeout);
    conn.transaction(async |conn| -> Result<Option<Value>, StorageError> {
        conn.batch_execute(&limit).await?;
        let row: Answer = diesel::sql_query(&statement)
            .bind::<Text, _>(event)
            .get_result(conn)
            .await?;
        Ok(row.answer)
    })
    .await
}

/// Announces on `supahook_claims`, at the commit of the transaction on `conn`, that
/// the token claims of user `id` changed: every replica drops what it kept.
pub(super) async fn announce(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<()> {
    diesel::sql_query(format!("SELECT pg_notify('{CLAIMS_CHANNEL}', $1)"))
        .bind::<Text, _>(id.to_string())
        .execute(conn)
        .await
        .map(drop)
}

/// `name` as a quoted identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
