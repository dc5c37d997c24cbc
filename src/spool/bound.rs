//! The spool's size bound (`SUPAHOOK_SPOOL_MAX_BYTES`): past it, a delivery is refused
//! (the hooks answer 503 with `Retry-After`, as in `closed` mode) instead of filling
//! the disk that the spool shares with everything else on the machine.
//!
//! The spool counts the bytes of its file that hold data: SQLite's pages in use, not
//! the free pages that drained entries leave behind, which SQLite reuses before the
//! file grows. So the file holds at most the bound plus the last commit's margin
//! (appends are estimated by the size of their JSON, a little under what SQLite
//! stores), and its write-ahead log, which checkpoints keep to a few MiB.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

/// What SQLite stores beside an entry's JSON, key and hook name: the row's sequence
/// number, time and record header.
const ROW_OVERHEAD: u64 = 32;

/// How many of the appends, in order, fit in `room` bytes, given their sizes.
pub(super) fn admitted(room: u64, sizes: &[u64]) -> usize {
    let mut left = room;
    sizes
        .iter()
        .take_while(|size| match left.checked_sub(**size) {
            Some(rest) => {
                left = rest;
                true
            }
            None => false,
        })
        .count()
}

/// The bytes an entry of this JSON, idempotency key and hook name takes, near enough.
pub(super) fn entry_size(json: &str, key: &str, hook: &str) -> u64 {
    (json.len() + key.len() + hook.len()) as u64 + ROW_OVERHEAD
}

#[derive(QueryableByName)]
struct Used {
    #[diesel(sql_type = BigInt)]
    used: i64,
}

/// The bytes of the spool file in use: its pages less the free ones, including what
/// the write-ahead log holds and has not yet copied back.
pub(super) fn used_bytes(conn: &mut SqliteConnection) -> QueryResult<u64> {
    let used: Used = diesel::sql_query(
        "SELECT (p.page_count - f.freelist_count) * s.page_size AS used \
         FROM pragma_page_count() AS p, pragma_freelist_count() AS f, pragma_page_size() AS s",
    )
    .get_result(conn)?;
    Ok(u64::try_from(used.used).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_are_admitted_in_order_while_they_fit() {
        assert_eq!(admitted(1000, &[400, 400, 400]), 2);
        assert_eq!(admitted(1200, &[400, 400, 400]), 3);
        assert_eq!(admitted(0, &[1]), 0);
        assert_eq!(admitted(100, &[]), 0);
    }

    #[test]
    fn an_append_that_does_not_fit_stops_the_ones_behind_it() {
        // Order is kept: a small delivery never overtakes a refused one.
        assert_eq!(admitted(500, &[100, 900, 100]), 1);
    }
}
