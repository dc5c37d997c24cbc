//! The `set_aside` table: deliveries the database refused for good, out of the queue
//! so they cannot block the entries behind them, until an operator retries or
//! discards them. Run on the spool's thread, like every access to the file.

use super::SetAside;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

/// Moves one queued entry to `set_aside` with `reason`; returns how many left the
/// queue (0 or 1).
pub(super) fn set_aside(conn: &mut SqliteConnection, seq: i64, reason: &str) -> QueryResult<usize> {
    conn.immediate_transaction(|conn| {
        diesel::sql_query(
            "INSERT OR REPLACE INTO set_aside \
             SELECT seq, received_at, hook, idempotency_key, delivery, ?, ? \
             FROM spooled WHERE seq = ?",
        )
        .bind::<Text, _>(reason)
        .bind::<BigInt, _>(Utc::now().timestamp_micros())
        .bind::<BigInt, _>(seq)
        .execute(conn)?;
        diesel::sql_query("DELETE FROM spooled WHERE seq = ?")
            .bind::<BigInt, _>(seq)
            .execute(conn)
    })
}

/// Puts a set-aside entry back at the end of the queue, under a new position, with
/// the time it was first acknowledged; `false` when there is none at `seq`. Nothing
/// else ever moves an entry back: a refusal for good is not retried by itself, as
/// it would block the queue again.
pub(super) fn retry(conn: &mut SqliteConnection, seq: i64) -> QueryResult<bool> {
    conn.immediate_transaction(|conn| {
        let queued = diesel::sql_query(
            "INSERT INTO spooled (received_at, hook, idempotency_key, delivery) \
             SELECT received_at, hook, idempotency_key, delivery FROM set_aside WHERE seq = ?",
        )
        .bind::<BigInt, _>(seq)
        .execute(conn)?;
        discard(conn, seq)?;
        Ok(queued > 0)
    })
}

/// Removes a set-aside entry; `false` when there is none at `seq`.
pub(super) fn discard(conn: &mut SqliteConnection, seq: i64) -> QueryResult<bool> {
    let removed = diesel::sql_query("DELETE FROM set_aside WHERE seq = ?")
        .bind::<BigInt, _>(seq)
        .execute(conn)?;
    Ok(removed > 0)
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    idempotency_key: String,
    #[diesel(sql_type = Text)]
    hook: String,
    #[diesel(sql_type = Text)]
    reason: String,
    #[diesel(sql_type = BigInt)]
    received_at: i64,
    #[diesel(sql_type = BigInt)]
    set_aside_at: i64,
}

/// Every set-aside entry, oldest first.
pub(super) fn entries(conn: &mut SqliteConnection) -> QueryResult<Vec<SetAside>> {
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT seq, idempotency_key, hook, reason, received_at, set_aside_at \
         FROM set_aside ORDER BY seq",
    )
    .load(conn)?;
    let time = |micros| DateTime::from_timestamp_micros(micros).unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|row| SetAside {
            seq: row.seq,
            idempotency_key: row.idempotency_key,
            hook: row.hook,
            reason: row.reason,
            received_at: time(row.received_at),
            set_aside_at: time(row.set_aside_at),
        })
        .collect())
}
