//! The spool's one thread: every read and write of the file happens here, in order.

use super::{Depth, Entry, SetAside, SpoolError, bound, set_aside};
use crate::events::Delivery;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use tokio::sync::oneshot;

/// At most this many appends share one commit.
const MAX_APPENDS: usize = 256;

type Reply<T> = oneshot::Sender<Result<T, SpoolError>>;

/// A request to the spool's thread.
pub(super) enum Command {
    Append {
        delivery: Delivery,
        received_at: DateTime<Utc>,
        reply: Reply<()>,
    },
    Oldest {
        limit: usize,
        reply: Reply<Vec<Entry>>,
    },
    Remove {
        seqs: Vec<i64>,
        reply: Reply<()>,
    },
    SetAside {
        seq: i64,
        reason: String,
        reply: Reply<()>,
    },
    SetAsideEntries {
        reply: Reply<Vec<SetAside>>,
    },
    Retry {
        seq: i64,
        reply: Reply<bool>,
    },
    Discard {
        seq: i64,
        reply: Reply<bool>,
    },
}

/// Counts what waits, then serves `commands` on a thread of its own until every
/// sender is gone.
pub(super) fn start(
    mut conn: SqliteConnection,
    commands: Receiver<Command>,
    depth: Arc<Depth>,
) -> Result<(), SpoolError> {
    refresh(&mut conn, &depth);
    std::thread::Builder::new()
        .name("supahook-spool".into())
        .spawn(move || serve(conn, commands, depth))
        .map(drop)
        .map_err(|e| SpoolError::Io {
            path: super::FILE_NAME.into(),
            reason: e.to_string(),
        })
}

fn serve(mut conn: SqliteConnection, commands: Receiver<Command>, depth: Arc<Depth>) {
    let mut next = commands.recv().ok();
    while let Some(command) = next.take() {
        match command {
            Command::Append {
                delivery,
                received_at,
                reply,
            } => {
                let mut appends = vec![(delivery, received_at, reply)];
                while appends.len() < MAX_APPENDS {
                    match commands.try_recv() {
                        Ok(Command::Append {
                            delivery,
                            received_at,
                            reply,
                        }) => appends.push((delivery, received_at, reply)),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                append_within_bound(&mut conn, &depth, appends);
            }
            Command::Oldest { limit, reply } => {
                let result = oldest(&mut conn, limit);
                refresh(&mut conn, &depth);
                let _ = reply.send(result.map_err(failed));
            }
            Command::Remove { seqs, reply } => {
                let result = remove(&mut conn, &seqs);
                refresh(&mut conn, &depth);
                if result.as_ref().is_ok_and(|gone| *gone > 0) {
                    depth.has_room();
                }
                let _ = reply.send(result.map(drop).map_err(failed));
            }
            Command::SetAsideEntries { reply } => {
                let _ = reply.send(set_aside::entries(&mut conn).map_err(failed));
            }
            Command::Retry { seq, reply } => {
                let result = set_aside::retry(&mut conn, seq);
                refresh(&mut conn, &depth);
                let _ = reply.send(result.map_err(failed));
            }
            Command::Discard { seq, reply } => {
                let result = set_aside::discard(&mut conn, seq);
                let _ = reply.send(result.map_err(failed));
            }
            Command::SetAside { seq, reason, reply } => {
                let result = set_aside::set_aside(&mut conn, seq, &reason);
                refresh(&mut conn, &depth);
                let _ = reply.send(result.map(drop).map_err(failed));
            }
        }
        if next.is_none() {
            next = commands.recv().ok();
        }
    }
}

fn failed(error: diesel::result::Error) -> SpoolError {
    SpoolError::Io {
        path: super::FILE_NAME.into(),
        reason: error.to_string(),
    }
}

/// An append waiting for its commit.
type Pending = (Delivery, DateTime<Utc>, Reply<()>);

/// Writes the appends that fit under the bound in one commit, in order, and refuses
/// the rest with [`SpoolError::Full`].
fn append_within_bound(conn: &mut SqliteConnection, depth: &Depth, appends: Vec<Pending>) {
    let mut rows = Vec::with_capacity(appends.len());
    for (delivery, received_at, reply) in appends {
        match serde_json::to_string(&delivery) {
            Ok(json) => rows.push((delivery, received_at, json, reply)),
            Err(e) => {
                let _ = reply.send(Err(failed(diesel::result::Error::SerializationError(
                    Box::new(e),
                ))));
            }
        }
    }
    let sizes: Vec<u64> = rows
        .iter()
        .map(|(d, _, json, _)| bound::entry_size(json, &d.idempotency_key, d.hook.as_str()))
        .collect();
    let (used, max) = depth.bytes();
    let fit = match depth.is_full() {
        true => 0,
        false => bound::admitted(max.saturating_sub(used), &sizes),
    };
    let refused = rows.split_off(fit);
    if !rows.is_empty() {
        let items: Vec<_> = rows.iter().map(|(d, at, json, _)| (d, *at, json)).collect();
        let result = append(conn, &items).map_err(failed);
        depth.failing.store(result.is_err(), Ordering::Relaxed);
        refresh(conn, depth);
        for (_, _, _, reply) in rows {
            let _ = reply.send(result.clone());
        }
    }
    if !refused.is_empty() {
        depth.refused(refused.len());
        for (_, _, _, reply) in refused {
            let _ = reply.send(Err(SpoolError::Full { used, max }));
        }
    }
}

/// Writes every item in one transaction: one commit, one fsync.
fn append(
    conn: &mut SqliteConnection,
    items: &[(&Delivery, DateTime<Utc>, &String)],
) -> QueryResult<()> {
    conn.immediate_transaction(|conn| {
        for (delivery, received_at, json) in items {
            diesel::sql_query(
                "INSERT INTO spooled (received_at, hook, idempotency_key, delivery) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind::<BigInt, _>(received_at.timestamp_micros())
            .bind::<Text, _>(delivery.hook.as_str())
            .bind::<Text, _>(&delivery.idempotency_key)
            .bind::<Text, _>(json.as_str())
            .execute(conn)?;
        }
        Ok(())
    })
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = BigInt)]
    received_at: i64,
    #[diesel(sql_type = Text)]
    delivery: String,
}

/// The oldest `limit` entries; unreadable ones are set aside on the way.
fn oldest(conn: &mut SqliteConnection, limit: usize) -> QueryResult<Vec<Entry>> {
    let rows: Vec<Row> =
        diesel::sql_query("SELECT seq, received_at, delivery FROM spooled ORDER BY seq LIMIT ?")
            .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(conn)?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        match serde_json::from_str::<Delivery>(&row.delivery) {
            Ok(delivery) => entries.push(Entry {
                seq: row.seq,
                received_at: DateTime::from_timestamp_micros(row.received_at).unwrap_or_default(),
                delivery,
            }),
            Err(error) => {
                // Where, not what: the message of a type error can quote a value.
                let reason = format!(
                    "this version cannot read the entry ({:?} error at column {})",
                    error.classify(),
                    error.column()
                );
                tracing::error!(seq = row.seq, reason, "spooled delivery set aside");
                set_aside::set_aside(conn, row.seq, &reason)?;
            }
        }
    }
    Ok(entries)
}

/// Removes the entries; returns how many there were.
fn remove(conn: &mut SqliteConnection, seqs: &[i64]) -> QueryResult<usize> {
    conn.immediate_transaction(|conn| {
        let mut gone = 0;
        for seq in seqs {
            gone += diesel::sql_query("DELETE FROM spooled WHERE seq = ?")
                .bind::<BigInt, _>(seq)
                .execute(conn)?;
        }
        Ok(gone)
    })
}

#[derive(QueryableByName)]
struct Stats {
    #[diesel(sql_type = BigInt)]
    entries: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    oldest: Option<i64>,
}

/// Counts the entries and reads the oldest one's time before the caller is answered,
/// so that what it reads next is current.
fn refresh(conn: &mut SqliteConnection, depth: &Depth) {
    let stats: QueryResult<Stats> = diesel::sql_query(
        "SELECT count(*) AS entries, \
         (SELECT received_at FROM spooled ORDER BY seq LIMIT 1) AS oldest FROM spooled",
    )
    .get_result(conn);
    match stats {
        Ok(stats) => {
            let entries = u64::try_from(stats.entries).unwrap_or(0);
            depth.entries.store(entries, Ordering::Relaxed);
            depth
                .oldest
                .store(stats.oldest.unwrap_or(0), Ordering::Relaxed);
        }
        Err(error) => tracing::warn!(error = %error, "cannot count the spool's entries"),
    }
    match bound::used_bytes(conn) {
        Ok(used) => depth.used.store(used, Ordering::Relaxed),
        Err(error) => tracing::warn!(error = %error, "cannot measure the spool's size"),
    }
}
