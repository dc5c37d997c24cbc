//! Row operations gathered into groups of one kind, so that a backend can run each
//! group as one statement over many rows instead of one statement per row.
//!
//! Operations on different users touch different rows, so they may run in any order;
//! only each user's own operations must keep theirs (a profile needs its user row, a
//! delete undoes an insert). So a user's first operation goes in round 0, its second in
//! round 1, and so on; within a round every user appears at most once and operations
//! of one kind form one group. Ledger rows, announcements and outbox events concern no
//! user row and come last, events in the order given (each user's in sequence). Running the groups in order has the same effect as running the
//! operations in order.

use super::apply::Op;
use std::collections::HashMap;
use uuid::Uuid;

/// `ops` as groups of one kind, each user at most once per group, in an order that
/// keeps every user's operations in the order given.
pub fn in_groups<'a>(ops: &[Op<'a>]) -> Vec<Vec<Op<'a>>> {
    let mut rounds_of: HashMap<Uuid, usize> = HashMap::new();
    let mut placed: Vec<(usize, u8, Op<'a>)> = ops
        .iter()
        .map(|op| {
            let round = user_of(op).map_or(usize::MAX, |id| {
                let next = rounds_of.entry(id).or_default();
                *next += 1;
                *next - 1
            });
            (round, kind(op), *op)
        })
        .collect();
    // Stable: within a group, operations keep the order given.
    placed.sort_by_key(|&(round, kind, _)| (round, kind));
    let mut groups: Vec<Vec<Op<'a>>> = Vec::new();
    let mut last = None;
    for (round, kind, op) in placed {
        match groups.last_mut() {
            Some(group) if last == Some((round, kind)) => group.push(op),
            _ => groups.push(vec![op]),
        }
        last = Some((round, kind));
    }
    groups
}

/// The user whose rows `op` writes; none for the ledger and announcements.
fn user_of(op: &Op<'_>) -> Option<Uuid> {
    match *op {
        Op::InsertUser(user) | Op::UpdateUser(user) => Some(user.id),
        Op::DeleteUser(id)
        | Op::InsertProfile(id, _)
        | Op::FollowProfile { id, .. }
        | Op::InsertTombstone(id, _)
        | Op::UpdateTombstone(id, _) => Some(id),
        Op::Record(..) | Op::Announce(_) | Op::Event(_) => None,
    }
}

/// Which statement runs `op`.
fn kind(op: &Op<'_>) -> u8 {
    match op {
        Op::DeleteUser(_) => 0,
        Op::UpdateUser(_) => 1,
        Op::InsertUser(_) => 2,
        Op::InsertProfile(..) => 3,
        Op::FollowProfile { .. } => 4,
        Op::UpdateTombstone(..) => 5,
        Op::InsertTombstone(..) => 6,
        Op::Record(..) => 7,
        Op::Announce(_) => 8,
        Op::Event(_) => 9,
    }
}

#[cfg(test)]
mod tests;
