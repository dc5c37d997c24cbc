//! The reference model: what the mirror must hold for a set of deliveries, written
//! from the rule's statement alone, without supahook's code.
//!
//! Deletes are final, dated by the earliest delete seen. The identity (email, names,
//! metadata) comes from the snapshot with the greatest version, and so do the
//! confirmation and sign-in times among the snapshots that carry them. The state
//! just before a delete is a snapshot one microsecond before it. The creation time
//! is the earliest one seen. In hard mode a user removed upstream has no row.

use super::history::{Micros, Said, State};

/// What the mirror must hold for one user.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub identity_version: Micros,
    pub confirmed_at: Option<Micros>,
    pub last_sign_in_at: Option<Micros>,
    pub activity_version: Option<Micros>,
    pub created_at: Option<Micros>,
    pub deleted_at: Option<Micros>,
    /// The profile's display name, seeded from the names.
    pub display_name: Option<String>,
}

struct Snapshot<'a> {
    version: Micros,
    state: &'a State,
    /// Row snapshots carry confirmation and sign-in times; tokens do not.
    activity: bool,
    /// before-user-created knows no confirmation or sign-in yet.
    blank_activity: bool,
    created_at: Option<Micros>,
}

/// The expected row for the deliveries in `said` (copies change nothing), or `None`.
pub fn expected(said: &[&Said], created_at: Micros, hard: bool) -> Option<Expected> {
    let mut snapshots = Vec::new();
    let mut deleted_at: Option<Micros> = None;
    let mut removed = false;
    let mut deleted = |at: Micros| deleted_at = Some(deleted_at.map_or(at, |d| d.min(at)));
    for s in said {
        match s {
            Said::BeforeCreated { at, state } => snapshots.push(Snapshot {
                version: *at,
                state,
                activity: true,
                blank_activity: true,
                created_at: None,
            }),
            Said::AfterCreated { state } => snapshots.push(Snapshot {
                version: state.updated_at,
                state,
                activity: true,
                blank_activity: false,
                created_at: Some(created_at),
            }),
            Said::Row { at, state } => snapshots.push(Snapshot {
                version: *at,
                state,
                activity: true,
                blank_activity: false,
                created_at: Some(created_at),
            }),
            Said::Token { iat, state } => snapshots.push(Snapshot {
                version: *iat,
                state,
                activity: false,
                blank_activity: false,
                created_at: None,
            }),
            Said::SoftDeleted {
                at,
                deleted_at: d,
                old,
            } => {
                deleted(*d);
                if let Some(state) = old {
                    snapshots.push(Snapshot {
                        version: at - 1,
                        state,
                        activity: true,
                        blank_activity: false,
                        created_at: Some(created_at),
                    });
                }
            }
            Said::Removed {
                at,
                deleted_at: d,
                old,
            } => {
                removed = true;
                deleted(d.unwrap_or(*at));
                if let Some(state) = old {
                    snapshots.push(Snapshot {
                        version: at - 1,
                        state,
                        activity: true,
                        blank_activity: false,
                        created_at: Some(created_at),
                    });
                }
            }
        }
    }
    if hard && removed {
        return None;
    }
    let identity = snapshots.iter().max_by_key(|s| s.version)?;
    let activity = snapshots
        .iter()
        .filter(|s| s.activity)
        .max_by_key(|s| s.version);
    let (first_name, last_name) = split(&identity.state.full_name);
    let display_name = match (&first_name, &last_name) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, _) => f.clone(),
    };
    Some(Expected {
        email: Some(identity.state.email.clone()),
        first_name,
        last_name,
        identity_version: identity.version,
        confirmed_at: activity.and_then(|a| {
            (!a.blank_activity)
                .then_some(a.state.confirmed_at)
                .flatten()
        }),
        last_sign_in_at: activity.and_then(|a| {
            (!a.blank_activity)
                .then_some(a.state.last_sign_in_at)
                .flatten()
        }),
        activity_version: activity.map(|a| a.version),
        created_at: snapshots.iter().filter_map(|s| s.created_at).min(),
        deleted_at,
        display_name,
    })
}

/// A full name split at its first space.
fn split(full: &str) -> (Option<String>, Option<String>) {
    match full.split_once(' ') {
        Some((first, last)) => (Some(first.to_owned()), Some(last.to_owned())),
        None if full.is_empty() => (None, None),
        None => (Some(full.to_owned()), None),
    }
}
