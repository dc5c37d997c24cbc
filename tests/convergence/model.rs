//! The reference model: what the mirror must hold for a set of deliveries, written
//! from the rule's statement alone, without supahook's code.
//!
//! Deletes are final, dated by the earliest delete seen. The identity (email, names,
//! metadata) comes from the snapshot with the greatest version, and so do the
//! confirmation and sign-in times among the snapshots that carry them. The state
//! just before a delete is a snapshot one microsecond before it. The creation time
//! is the earliest one seen. In hard mode a user removed upstream has no row.
//! A user only before-user-created spoke of is provisional. The ban comes with the
//! confirmation and sign-in times; an SSO user is one any row snapshot says is. An
//! invited user's after-user-created has blank metadata and its identity counts as
//! older than every other.

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
    pub provisional: bool,
    pub banned_until: Option<Micros>,
    pub is_sso_user: bool,
}

struct Snapshot<'a> {
    version: Micros,
    /// The identity's version: `version`, or 0 for blanked metadata.
    identity_version: Micros,
    /// The metadata, and so the names, were blanked.
    blank_names: bool,
    /// A row of `auth.users`, which carries `is_sso_user`.
    row: bool,
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
                identity_version: *at,
                blank_names: false,
                row: false,
                state,
                activity: true,
                blank_activity: true,
                created_at: None,
            }),
            Said::AfterCreated { state, invited } => snapshots.push(Snapshot {
                version: state.updated_at,
                identity_version: if *invited { 0 } else { state.updated_at },
                blank_names: *invited,
                row: false,
                state,
                activity: true,
                blank_activity: false,
                created_at: Some(created_at),
            }),
            Said::Row { at, state } => snapshots.push(Snapshot {
                version: *at,
                identity_version: *at,
                blank_names: false,
                row: true,
                state,
                activity: true,
                blank_activity: false,
                created_at: Some(created_at),
            }),
            Said::Token { iat, state } => snapshots.push(Snapshot {
                version: *iat,
                identity_version: *iat,
                blank_names: false,
                row: false,
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
                        identity_version: at - 1,
                        blank_names: false,
                        row: true,
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
                        identity_version: at - 1,
                        blank_names: false,
                        row: true,
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
    let identity = snapshots.iter().max_by_key(|s| s.identity_version)?;
    let activity = snapshots
        .iter()
        .filter(|s| s.activity)
        .max_by_key(|s| s.version);
    let (first_name, last_name) = match identity.blank_names {
        true => (None, None),
        false => split(&identity.state.full_name),
    };
    let display_name = match (&first_name, &last_name) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, _) => f.clone(),
    };
    Some(Expected {
        email: Some(identity.state.email.clone()),
        first_name,
        last_name,
        identity_version: identity.identity_version,
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
        provisional: said.iter().all(|s| matches!(s, Said::BeforeCreated { .. })),
        banned_until: activity.and_then(|a| {
            (!a.blank_activity)
                .then_some(a.state.banned_until)
                .flatten()
        }),
        is_sso_user: snapshots.iter().any(|s| s.row && s.state.sso),
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
