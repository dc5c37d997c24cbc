//! Users the mirror holds that `auth.users` no longer does: found by comparing the
//! two sets of ids, and treated as deleted upstream only with `--prune`.

use super::auth_users::{AuthUsersSource, SourceError};
use super::repair::{Options, ReconcileError, Summary, patiently};
use crate::events::UserChange;
use crate::mirror::Outcome;
use crate::mirroring::Mirroring;
use crate::storage::Queries;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use uuid::Uuid;

/// Ids read per query: ids alone, from the primary key's index.
const ID_PAGE: usize = 50_000;

/// Every id of `auth.users`, for a run that did not read every row.
pub async fn upstream_ids(source: &mut AuthUsersSource) -> Result<HashSet<Uuid>, SourceError> {
    let mut all = HashSet::new();
    let mut after = None;
    loop {
        let ids = source.ids(after, ID_PAGE).await?;
        let Some(last) = ids.last() else {
            return Ok(all);
        };
        after = Some(*last);
        all.extend(ids);
    }
}

/// Finds mirror users missing from `upstream`. Users mirrored within the grace
/// period are left alone, and each candidate is looked up once more, so a user
/// created upstream after `upstream` was read is not taken for a deleted one. With
/// `prune`, the others are deleted as a removal from `auth.users` would delete them.
pub async fn run(
    source: &mut AuthUsersSource,
    mirroring: &Mirroring,
    upstream: &HashSet<Uuid>,
    options: Options,
    summary: &mut Summary,
) -> Result<(), ReconcileError> {
    let grace = chrono::TimeDelta::from_std(options.prune_grace).unwrap_or(chrono::TimeDelta::MAX);
    let mirrored_before = Utc::now()
        .checked_sub_signed(grace)
        .unwrap_or(DateTime::UNIX_EPOCH);
    let mut after = None;
    loop {
        let storage = mirroring.storage();
        let ids = patiently(|| storage.live_user_ids(after, ID_PAGE, mirrored_before)).await?;
        let Some(last) = ids.last() else {
            return Ok(());
        };
        after = Some(*last);
        let mut gone = Vec::new();
        for id in ids.into_iter().filter(|id| !upstream.contains(id)) {
            if !source.contains(id).await? {
                // A provisional user goes; a confirmed one is marked deleted.
                gone.push(UserChange::Missing(id));
            }
        }
        summary.deleted_upstream += gone.len() as u64;
        if options.prune && !gone.is_empty() {
            let outcomes = patiently(|| mirroring.reconcile(&gone, options.dry_run)).await?;
            summary.pruned += outcomes.iter().filter(|&&o| o == Outcome::Deleted).count() as u64;
        }
    }
}
