//! The claims query on SQLite: run with `PRAGMA query_only`, so it cannot write. All
//! three steps run in one blocking task, so the flag is always reset before the
//! connection serves anything else. SQLite cannot stop a statement midway: past its
//! timeout the answer is given up.

use super::{Conn, busy};
use crate::storage::StorageError;
use diesel::QueryableByName;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{Nullable, Text};
use diesel_async::pooled_connection::deadpool::Object;
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

/// The one value the query answers with, as JSON text.
#[derive(QueryableByName)]
struct Answer {
    #[diesel(sql_type = Nullable<Text>)]
    answer: Option<String>,
}

/// Runs `sql` with the user id (hyphenated text, as SQLite stores it) as `$1`: its
/// one JSON value (the first row's; `None` for no row or NULL).
pub(super) async fn claims_query(
    mut conn: Object<Conn>,
    sql: &str,
    id: Uuid,
    timeout: Duration,
) -> Result<Option<Value>, StorageError> {
    let statement = format!("SELECT ({sql}) AS answer");
    let id = id.hyphenated().to_string();
    let run = conn.spawn_blocking(move |c| {
        c.batch_execute("PRAGMA query_only = 1")?;
        let query = diesel::sql_query(statement).bind::<Text, _>(id);
        let answer = diesel::RunQueryDsl::get_result::<Answer>(query, c);
        c.batch_execute("PRAGMA query_only = 0")?;
        answer
    });
    let answer = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| {
            StorageError::Unavailable(format!(
                "the claims query did not finish within {} ms",
                timeout.as_millis()
            ))
        })?
        .map_err(busy)?;
    match answer.answer {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            StorageError::Query(diesel::result::Error::DeserializationError(Box::new(e)))
        }),
    }
}
