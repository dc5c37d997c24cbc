use super::*;
use crate::mirror::{MirrorUser, Outcome, Profile, Tombstone};
use crate::storage::apply::LedgerEntry;
use chrono::{DateTime, Utc};
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::HashSet;

const USERS: usize = 4;

/// The values the operations of a test borrow.
struct World {
    users: Vec<MirrorUser>,
    profiles: Vec<Profile>,
    keys: Vec<String>,
    now: DateTime<Utc>,
}

impl World {
    fn new() -> Self {
        let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let users: Vec<MirrorUser> = (0..USERS)
            .map(|n| MirrorUser::blank(Uuid::from_u128(n as u128 + 1), now))
            .collect();
        Self {
            profiles: users.iter().map(Profile::seed).collect(),
            keys: (0..USERS).map(|n| format!("key-{n}")).collect(),
            users,
            now,
        }
    }

    /// Operation `kind` (0..9) on user `n`.
    fn op(&self, kind: u8, n: usize) -> Op<'_> {
        let (user, profile) = (&self.users[n], &self.profiles[n]);
        let tombstone = Tombstone {
            deleted_at: self.now,
            removed: n.is_multiple_of(2),
        };
        match kind {
            0 => Op::InsertUser(user),
            1 => Op::UpdateUser(user),
            2 => Op::DeleteUser(user.id),
            3 => Op::InsertProfile(user.id, profile),
            4 => Op::FollowProfile {
                id: user.id,
                from: profile,
                to: profile,
            },
            5 => Op::InsertTombstone(user.id, tombstone),
            6 => Op::UpdateTombstone(user.id, tombstone),
            7 => Op::Record(
                LedgerEntry {
                    key: &self.keys[n],
                    hook: "test",
                    webhook_id: "msg",
                    user_id: Some(user.id),
                    received_at: self.now,
                },
                Outcome::Updated,
            ),
            _ => Op::Announce(user.id),
        }
    }
}

/// What an operation is, to compare lists of them.
fn text(op: &Op<'_>) -> String {
    format!("{op:?}")
}

fn of_user(ops: &[Op<'_>], id: Uuid) -> Vec<String> {
    ops.iter()
        .filter(|op| user_of(op) == Some(id))
        .map(text)
        .collect()
}

proptest! {
    #[test]
    fn groups_hold_every_operation_and_keep_each_users_order(
        picks in vec((0u8..9, 0..USERS), 0..40),
    ) {
        let world = World::new();
        let ops: Vec<Op<'_>> = picks.iter().map(|&(kind, n)| world.op(kind, n)).collect();

        let groups = in_groups(&ops);
        let flat: Vec<Op<'_>> = groups.iter().flatten().copied().collect();

        let mut given: Vec<String> = ops.iter().map(text).collect();
        let mut ran: Vec<String> = flat.iter().map(text).collect();
        given.sort();
        ran.sort();
        prop_assert_eq!(given, ran, "every operation exactly once");
        for user in &world.users {
            prop_assert_eq!(of_user(&ops, user.id), of_user(&flat, user.id));
        }
        let unowned = |ops: &[Op<'_>]| -> Vec<String> {
            ops.iter().filter(|op| user_of(op).is_none()).map(text).collect()
        };
        let mut ledger_then_announcements = unowned(&ops);
        ledger_then_announcements.sort_by_key(|t| !t.starts_with("Record"));
        prop_assert_eq!(unowned(&flat), ledger_then_announcements);
        let first_unowned = flat.iter().position(|op| user_of(op).is_none());
        if let Some(first) = first_unowned {
            prop_assert!(flat[first..].iter().all(|op| user_of(op).is_none()));
        }
        for group in &groups {
            prop_assert!(!group.is_empty());
            prop_assert!(group.iter().all(|op| kind(op) == kind(&group[0])));
            let users: Vec<Uuid> = group.iter().filter_map(user_of).collect();
            let distinct: HashSet<&Uuid> = users.iter().collect();
            prop_assert_eq!(distinct.len(), users.len(), "a user twice in one group");
        }
    }
}

#[test]
fn sign_ups_of_a_batch_are_three_statements() {
    let world = World::new();
    let ops: Vec<Op<'_>> = (0..3)
        .flat_map(|n| [world.op(0, n), world.op(3, n), world.op(7, n)])
        .collect();

    let kinds: Vec<(u8, usize)> = in_groups(&ops)
        .iter()
        .map(|group| (kind(&group[0]), group.len()))
        .collect();

    assert_eq!(kinds, [(2, 3), (3, 3), (7, 3)]);
}

#[test]
fn a_user_deleted_and_inserted_again_keeps_that_order() {
    let world = World::new();
    let ops = [
        world.op(0, 0),
        world.op(2, 0),
        world.op(0, 0),
        world.op(0, 1),
    ];

    let kinds: Vec<Vec<u8>> = in_groups(&ops)
        .iter()
        .map(|group| group.iter().map(kind).collect())
        .collect();

    assert_eq!(kinds, [vec![2, 2], vec![0], vec![2]]);
}
