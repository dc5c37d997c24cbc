//! Statements that run a whole group of row operations at once (see [`in_groups`]).
//!
//! Each binds one array per column and `unnest`s them into rows, so its SQL text is
//! the same whatever the number of rows: it is prepared once per connection (a static
//! query id), and a batch of sign-ups costs three statements, not three per sign-up.
//!
//! [`in_groups`]: crate::storage::op_groups::in_groups

use super::statements::{
    CHANGES_CHANNEL, Column, EVENTS_CHANNEL, EVENTS_LOCK_CLASS, Time, static_query_id, write,
};
use crate::mirror::{MirrorUser, Outcome, Profile, Tombstone};
use crate::storage::apply::{LedgerEntry, Op, OutboxEvent};
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use serde_json::Value;
use uuid::Uuid;

static_query_id!(
    InsertUsers,
    UpdateUsers,
    InsertProfiles,
    FollowProfiles,
    RecordDeliveries,
    RecordEvents
);

/// Every column of `users`, one element per user.
pub struct UserColumns<'a> {
    id: Vec<Uuid>,
    email: Vec<Option<&'a str>>,
    phone: Vec<Option<&'a str>>,
    first_name: Vec<Option<&'a str>>,
    last_name: Vec<Option<&'a str>>,
    avatar_url: Vec<Option<&'a str>>,
    auth_provider: Vec<Option<&'a str>>,
    /// Each user's providers as a JSON array: `unnest` would flatten an array of arrays.
    providers: Vec<String>,
    is_anonymous: Vec<bool>,
    email_confirmed_at: Vec<Option<Time>>,
    phone_confirmed_at: Vec<Option<Time>>,
    last_sign_in_at: Vec<Option<Time>>,
    user_metadata: Vec<&'a Value>,
    app_metadata: Vec<&'a Value>,
    is_onboarded: Vec<bool>,
    auth_created_at: Vec<Option<Time>>,
    source_updated_at: Vec<Time>,
    activity_updated_at: Vec<Option<Time>>,
    deleted_at: Vec<Option<Time>>,
    created_at: Vec<Time>,
    updated_at: Vec<Time>,
    provisional: Vec<bool>,
    banned_until: Vec<Option<Time>>,
    is_sso_user: Vec<bool>,
    policy_violation: Vec<bool>,
}

impl<'a> UserColumns<'a> {
    /// The users of a group of inserts or updates.
    pub fn of(group: &[Op<'a>]) -> Self {
        let users: Vec<&'a MirrorUser> = group
            .iter()
            .filter_map(|op| match *op {
                Op::InsertUser(user) | Op::UpdateUser(user) => Some(user),
                _ => None,
            })
            .collect();
        let text = |field: fn(&'a MirrorUser) -> &'a Option<String>| -> Vec<Option<&'a str>> {
            users.iter().map(|u| field(u).as_deref()).collect()
        };
        let each = |field: fn(&'a MirrorUser) -> Time| users.iter().map(|u| field(u)).collect();
        let maybe = |field: fn(&'a MirrorUser) -> Option<Time>| -> Vec<Option<Time>> {
            users.iter().map(|u| field(u)).collect()
        };
        let flag = |field: fn(&'a MirrorUser) -> bool| users.iter().map(|u| field(u)).collect();
        Self {
            id: users.iter().map(|u| u.id).collect(),
            email: text(|u| &u.email),
            phone: text(|u| &u.phone),
            first_name: text(|u| &u.first_name),
            last_name: text(|u| &u.last_name),
            avatar_url: text(|u| &u.avatar_url),
            auth_provider: text(|u| &u.auth_provider),
            providers: users
                .iter()
                .map(|u| Value::from(u.providers.as_slice()).to_string())
                .collect(),
            is_anonymous: flag(|u| u.is_anonymous),
            email_confirmed_at: maybe(|u| u.email_confirmed_at),
            phone_confirmed_at: maybe(|u| u.phone_confirmed_at),
            last_sign_in_at: maybe(|u| u.last_sign_in_at),
            user_metadata: users.iter().map(|u| &u.user_metadata).collect(),
            app_metadata: users.iter().map(|u| &u.app_metadata).collect(),
            is_onboarded: flag(|u| u.is_onboarded),
            auth_created_at: maybe(|u| u.auth_created_at),
            source_updated_at: each(|u| u.source_updated_at),
            activity_updated_at: maybe(|u| u.activity_updated_at),
            deleted_at: maybe(|u| u.deleted_at),
            created_at: each(|u| u.created_at),
            updated_at: each(|u| u.updated_at),
            provisional: flag(|u| u.provisional),
            banned_until: maybe(|u| u.banned_until),
            is_sso_user: flag(|u| u.is_sso_user),
            policy_violation: flag(|u| u.policy_violation),
        }
    }

    /// Every column, in the table's order.
    fn all(&self) -> [&dyn Column; 25] {
        [
            &self.id,
            &self.email,
            &self.phone,
            &self.first_name,
            &self.last_name,
            &self.avatar_url,
            &self.auth_provider,
            &self.providers,
            &self.is_anonymous,
            &self.email_confirmed_at,
            &self.phone_confirmed_at,
            &self.last_sign_in_at,
            &self.user_metadata,
            &self.app_metadata,
            &self.is_onboarded,
            &self.auth_created_at,
            &self.source_updated_at,
            &self.activity_updated_at,
            &self.deleted_at,
            &self.created_at,
            &self.updated_at,
            &self.provisional,
            &self.banned_until,
            &self.is_sso_user,
            &self.policy_violation,
        ]
    }
}

/// Inserts new users.
pub struct InsertUsers<'a>(pub UserColumns<'a>);

impl QueryFragment<Pg> for InsertUsers<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        write(
            &mut out,
            "INSERT INTO users (id, email, phone, first_name, last_name, avatar_url, \
             auth_provider, providers, is_anonymous, email_confirmed_at, phone_confirmed_at, \
             last_sign_in_at, user_metadata, app_metadata, is_onboarded, auth_created_at, \
             source_updated_at, activity_updated_at, deleted_at, created_at, updated_at, \
             provisional, banned_until, is_sso_user, policy_violation) \
             SELECT id, email, phone, first_name, last_name, avatar_url, auth_provider, \
             ARRAY(SELECT json_array_elements_text(providers::json)), is_anonymous, \
             email_confirmed_at, phone_confirmed_at, last_sign_in_at, user_metadata, \
             app_metadata, is_onboarded, auth_created_at, source_updated_at, \
             activity_updated_at, deleted_at, created_at, updated_at, provisional, \
             banned_until, is_sso_user, policy_violation \
             FROM unnest({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) \
             AS u(id, email, phone, first_name, last_name, avatar_url, auth_provider, providers, \
             is_anonymous, email_confirmed_at, phone_confirmed_at, last_sign_in_at, user_metadata, \
             app_metadata, is_onboarded, auth_created_at, source_updated_at, activity_updated_at, \
             deleted_at, created_at, updated_at, provisional, banned_until, is_sso_user, \
             policy_violation)",
            &self.0.all(),
        )
    }
}

/// Writes every synced column of existing users; never `is_onboarded` or `created_at`,
/// which belong to the row's first insert.
pub struct UpdateUsers<'a>(pub UserColumns<'a>);

impl QueryFragment<Pg> for UpdateUsers<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut columns = self.0.all().to_vec();
        columns.push(&self.0.id);
        write(
            &mut out,
            "UPDATE users AS t SET email = u.email, phone = u.phone, first_name = u.first_name, \
             last_name = u.last_name, avatar_url = u.avatar_url, auth_provider = u.auth_provider, \
             providers = ARRAY(SELECT json_array_elements_text(u.providers::json)), \
             is_anonymous = u.is_anonymous, email_confirmed_at = u.email_confirmed_at, \
             phone_confirmed_at = u.phone_confirmed_at, last_sign_in_at = u.last_sign_in_at, \
             user_metadata = u.user_metadata, app_metadata = u.app_metadata, \
             auth_created_at = u.auth_created_at, source_updated_at = u.source_updated_at, \
             activity_updated_at = u.activity_updated_at, deleted_at = u.deleted_at, \
             updated_at = u.updated_at, provisional = u.provisional, \
             banned_until = u.banned_until, is_sso_user = u.is_sso_user, \
             policy_violation = u.policy_violation \
             FROM unnest({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) \
             AS u(id, email, phone, first_name, last_name, avatar_url, auth_provider, providers, \
             is_anonymous, email_confirmed_at, phone_confirmed_at, last_sign_in_at, user_metadata, \
             app_metadata, is_onboarded, auth_created_at, source_updated_at, activity_updated_at, \
             deleted_at, created_at, updated_at, provisional, banned_until, is_sso_user, \
             policy_violation) \
             WHERE t.id = u.id AND t.id = ANY({})",
            &columns,
        )
    }
}

/// Removes users; their profiles go with them.
#[derive(QueryId)]
pub struct DeleteUsers(pub Vec<Uuid>);

impl QueryFragment<Pg> for DeleteUsers {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        write(&mut out, "DELETE FROM users WHERE id = ANY({})", &[&self.0])
    }
}

/// Inserts users' first profiles; one the application already made is kept.
pub struct InsertProfiles<'a> {
    id: Vec<Uuid>,
    display_name: Vec<Option<&'a str>>,
    avatar_url: Vec<Option<&'a str>>,
    created_at: Vec<Time>,
    updated_at: Vec<Time>,
}

impl<'a> InsertProfiles<'a> {
    pub fn of(group: &[Op<'a>]) -> Self {
        let profiles: Vec<(Uuid, &'a Profile)> = group
            .iter()
            .filter_map(|op| match *op {
                Op::InsertProfile(id, profile) => Some((id, profile)),
                _ => None,
            })
            .collect();
        Self {
            id: profiles.iter().map(|p| p.0).collect(),
            display_name: profiles
                .iter()
                .map(|p| p.1.display_name.as_deref())
                .collect(),
            avatar_url: profiles.iter().map(|p| p.1.avatar_url.as_deref()).collect(),
            created_at: profiles.iter().map(|p| p.1.created_at).collect(),
            updated_at: profiles.iter().map(|p| p.1.updated_at).collect(),
        }
    }
}

impl QueryFragment<Pg> for InsertProfiles<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        write(
            &mut out,
            "INSERT INTO profiles (user_id, display_name, avatar_url, created_at, updated_at) \
             SELECT * FROM unnest({}, {}, {}, {}, {}) ON CONFLICT DO NOTHING",
            &[
                &self.id,
                &self.display_name,
                &self.avatar_url,
                &self.created_at,
                &self.updated_at,
            ],
        )
    }
}

/// Sets profiles' name, avatar and `updated_at` to the new ones, each only while its
/// name and avatar are still those read (the application may have just changed them).
pub struct FollowProfiles<'a> {
    id: Vec<Uuid>,
    from_name: Vec<Option<&'a str>>,
    from_avatar: Vec<Option<&'a str>>,
    to_name: Vec<Option<&'a str>>,
    to_avatar: Vec<Option<&'a str>>,
    to_updated_at: Vec<Time>,
}

impl<'a> FollowProfiles<'a> {
    pub fn of(group: &[Op<'a>]) -> Self {
        let follows: Vec<(Uuid, &'a Profile, &'a Profile)> = group
            .iter()
            .filter_map(|op| match *op {
                Op::FollowProfile { id, from, to } => Some((id, from, to)),
                _ => None,
            })
            .collect();
        Self {
            id: follows.iter().map(|f| f.0).collect(),
            from_name: follows
                .iter()
                .map(|f| f.1.display_name.as_deref())
                .collect(),
            from_avatar: follows.iter().map(|f| f.1.avatar_url.as_deref()).collect(),
            to_name: follows
                .iter()
                .map(|f| f.2.display_name.as_deref())
                .collect(),
            to_avatar: follows.iter().map(|f| f.2.avatar_url.as_deref()).collect(),
            to_updated_at: follows.iter().map(|f| f.2.updated_at).collect(),
        }
    }
}

impl QueryFragment<Pg> for FollowProfiles<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        write(
            &mut out,
            "UPDATE profiles AS t SET display_name = f.to_name, avatar_url = f.to_avatar, \
             updated_at = f.to_updated_at \
             FROM unnest({}, {}, {}, {}, {}, {}) \
             AS f(id, from_name, from_avatar, to_name, to_avatar, to_updated_at) \
             WHERE t.user_id = f.id AND t.user_id = ANY({}) \
             AND t.display_name IS NOT DISTINCT FROM f.from_name \
             AND t.avatar_url IS NOT DISTINCT FROM f.from_avatar",
            &[
                &self.id,
                &self.from_name,
                &self.from_avatar,
                &self.to_name,
                &self.to_avatar,
                &self.to_updated_at,
                &self.id,
            ],
        )
    }
}

/// Users' tombstones, inserted (`NEW == true`) or replaced.
#[derive(QueryId)]
pub struct WriteTombstones<const NEW: bool> {
    id: Vec<Uuid>,
    deleted_at: Vec<Time>,
    removed: Vec<bool>,
}

impl<const NEW: bool> WriteTombstones<NEW> {
    pub fn of(group: &[Op<'_>]) -> Self {
        let tombstones: Vec<(Uuid, Tombstone)> = group
            .iter()
            .filter_map(|op| match *op {
                Op::InsertTombstone(id, t) if NEW => Some((id, t)),
                Op::UpdateTombstone(id, t) if !NEW => Some((id, t)),
                _ => None,
            })
            .collect();
        Self {
            id: tombstones.iter().map(|t| t.0).collect(),
            deleted_at: tombstones.iter().map(|t| t.1.deleted_at).collect(),
            removed: tombstones.iter().map(|t| t.1.removed).collect(),
        }
    }
}

impl<const NEW: bool> QueryFragment<Pg> for WriteTombstones<NEW> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let sql = if NEW {
            "INSERT INTO deleted_users (id, deleted_at, removed) SELECT * FROM unnest({}, {}, {})"
        } else {
            "UPDATE deleted_users AS t SET deleted_at = d.deleted_at, removed = d.removed \
             FROM unnest({}, {}, {}) AS d(id, deleted_at, removed) \
             WHERE t.id = d.id AND t.id = ANY({})"
        };
        let mut columns: Vec<&dyn Column> = vec![&self.id, &self.deleted_at, &self.removed];
        if !NEW {
            columns.push(&self.id);
        }
        write(&mut out, sql, &columns)
    }
}

/// Records deliveries in the ledger with their outcomes.
pub struct RecordDeliveries<'a> {
    key: Vec<&'a str>,
    hook: Vec<&'a str>,
    webhook_id: Vec<&'a str>,
    user_id: Vec<Option<Uuid>>,
    outcome: Vec<&'a str>,
    received_at: Vec<Time>,
}

impl<'a> RecordDeliveries<'a> {
    pub fn of(group: &[Op<'a>]) -> Self {
        let entries: Vec<(LedgerEntry<'a>, Outcome)> = group
            .iter()
            .filter_map(|op| match *op {
                Op::Record(entry, outcome) => Some((entry, outcome)),
                _ => None,
            })
            .collect();
        Self {
            key: entries.iter().map(|e| e.0.key).collect(),
            hook: entries.iter().map(|e| e.0.hook).collect(),
            webhook_id: entries.iter().map(|e| e.0.webhook_id).collect(),
            user_id: entries.iter().map(|e| e.0.user_id).collect(),
            outcome: entries.iter().map(|e| e.1.as_str()).collect(),
            received_at: entries.iter().map(|e| e.0.received_at).collect(),
        }
    }
}

impl QueryFragment<Pg> for RecordDeliveries<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        write(
            &mut out,
            "INSERT INTO webhook_events (idempotency_key, hook, webhook_id, user_id, outcome, \
             received_at) SELECT * FROM unnest({}, {}, {}, {}, {}, {}) ON CONFLICT DO NOTHING",
            &[
                &self.key,
                &self.hook,
                &self.webhook_id,
                &self.user_id,
                &self.outcome,
                &self.received_at,
            ],
        )
    }
}

/// Tells the other replicas, at commit, which users changed: `<replica>:<user id>` each.
#[derive(QueryId)]
pub struct Announce(pub Vec<String>);

impl Announce {
    pub fn of(group: &[Op<'_>], replica: &str) -> Self {
        Self(
            group
                .iter()
                .filter_map(|op| match *op {
                    Op::Announce(id) => Some(format!("{replica}:{id}")),
                    _ => None,
                })
                .collect(),
        )
    }
}

impl QueryFragment<Pg> for Announce {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT pg_notify('");
        out.push_sql(CHANGES_CHANNEL);
        write(&mut out, "', m) FROM unnest({}) AS m", &[&self.0])
    }
}

/// Records lifecycle events in the outbox, each at the user's last sequence plus its
/// offset, and says so on [`EVENTS_CHANNEL`] at commit. It first takes the events lock
/// (held until commit), so that positions are handed out in the order the transactions
/// commit and a reader that has seen a position never later finds a smaller one.
pub struct RecordEvents<'a> {
    id: Vec<Uuid>,
    kind: Vec<&'a str>,
    user_id: Vec<Uuid>,
    offset: Vec<i64>,
    recorded_at: Vec<Time>,
    data: Vec<&'a Value>,
}

impl<'a> RecordEvents<'a> {
    pub fn of(group: &[Op<'a>]) -> Self {
        let events: Vec<&'a OutboxEvent> = group
            .iter()
            .filter_map(|op| match *op {
                Op::Event(event) => Some(event),
                _ => None,
            })
            .collect();
        Self {
            id: events.iter().map(|e| e.id).collect(),
            kind: events.iter().map(|e| e.kind).collect(),
            user_id: events.iter().map(|e| e.user_id).collect(),
            offset: events.iter().map(|e| e.offset).collect(),
            recorded_at: events.iter().map(|e| e.recorded_at).collect(),
            data: events.iter().map(|e| &e.data).collect(),
        }
    }
}

impl QueryFragment<Pg> for RecordEvents<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH recorded AS (SELECT pg_advisory_xact_lock(");
        out.push_bind_param::<diesel::sql_types::Integer, _>(&EVENTS_LOCK_CLASS)?;
        write(
            &mut out,
            ", 0) AS turn), added AS (\
             INSERT INTO outbox_events (id, type, user_id, sequence, recorded_at, data) \
             SELECT e.id, e.type, e.user_id, COALESCE((SELECT max(o.sequence) \
             FROM outbox_events o WHERE o.user_id = e.user_id), 0) + e.place, \
             e.recorded_at, e.data \
             FROM recorded, unnest({}, {}, {}, {}, {}, {}) WITH ORDINALITY \
             AS e(id, type, user_id, place, recorded_at, data, n) \
             ORDER BY e.n \
             ON CONFLICT (id) DO NOTHING RETURNING position) \
             SELECT pg_notify('",
            &[
                &self.id,
                &self.kind,
                &self.user_id,
                &self.offset,
                &self.recorded_at,
                &self.data,
            ],
        )?;
        out.push_sql(EVENTS_CHANNEL);
        out.push_sql("', max(position)::text) FROM added HAVING count(*) > 0");
        Ok(())
    }
}
