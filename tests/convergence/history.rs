//! Random histories of Supabase users and the deliveries they cause.
//!
//! A history is what happened upstream: each user signs up, changes over time
//! (confirmations, sign-ins, renames, email changes, direct SQL edits) and may be
//! soft-deleted and/or removed. Every change causes deliveries: the Auth Hooks,
//! the signed trigger's events, token refreshes. Times are microseconds.

use proptest::prelude::*;
use serde_json::{Value, json};

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// 2026-03-01T10:00:00Z.
const BASE: Micros = 1_772_359_200_000_000;
const SECOND: Micros = 1_000_000;

/// One user's state in `auth.users` at some point.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub email: String,
    pub full_name: String,
    pub confirmed_at: Option<Micros>,
    pub last_sign_in_at: Option<Micros>,
    /// Moved by Supabase Auth's writes, not by direct SQL edits.
    pub updated_at: Micros,
    pub banned_until: Option<Micros>,
    /// An SSO user: set at creation, never changed.
    pub sso: bool,
}

/// What one delivery says, in terms the reference model reads.
#[derive(Debug, Clone)]
pub enum Said {
    /// before-user-created, at the hook's `metadata.time`.
    BeforeCreated { at: Micros, state: State },
    /// after-user-created with the stored user; an invited user's carries
    /// `user_metadata: {}`.
    AfterCreated { state: State, invited: bool },
    /// A trigger INSERT or UPDATE at `at` (its `changed_at`).
    Row { at: Micros, state: State },
    /// custom-access-token issued at `iat` (whole seconds).
    Token { iat: Micros, state: State },
    /// A trigger UPDATE of a soft-deleted row; `old` is the real state before, if it was real.
    SoftDeleted {
        at: Micros,
        deleted_at: Micros,
        old: Option<State>,
    },
    /// A trigger DELETE; `old` is the real state before, if it was real.
    Removed {
        at: Micros,
        deleted_at: Option<Micros>,
        old: Option<State>,
    },
}

/// Stands for the user's id in bodies; each run replaces it with a fresh id.
pub const PLACEHOLDER_ID: &str = "ffffffff-ffff-4fff-bfff-ffffffffffff";

/// One delivery: where it goes, its idempotency identity, its body and what it says.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub user: usize,
    /// When the user was created upstream.
    pub created: Micros,
    pub path: &'static str,
    /// The `webhook-id` of a trigger event, which its copies share.
    pub webhook_id: String,
    pub body: Value,
    pub said: Said,
}

/// How one user's life goes.
#[derive(Debug, Clone)]
pub struct Life {
    /// Changes after the sign-up, in order.
    pub steps: Vec<Step>,
    pub ending: Ending,
    pub before_created: bool,
    pub after_created: bool,
    /// The sign-up rolled back after before-user-created: nothing else happens.
    pub rolled_back: bool,
    pub invited: bool,
    pub sso: bool,
    /// After which states a token is issued (index into the states).
    pub tokens: Vec<usize>,
}

#[derive(Debug, Clone, Copy)]
pub enum Step {
    Confirm,
    SignIn,
    Rename(usize),
    ChangeEmail(usize),
    /// An admin's `UPDATE auth.users SET email = ...`: `updated_at` stays.
    SqlEmail(usize),
    /// An admin bans the user until second `n` of its life, or (`None`) lifts the ban.
    Ban(Option<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ending {
    None,
    SoftDelete,
    /// Soft delete, then the update that empties the metadata.
    SoftDeleteTwice,
    Remove,
    SoftDeleteThenRemove,
}

const NAMES: [&str; 4] = ["Ada Lovelace", "Grace Brewster Hopper", "Alan", ""];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Confirm),
        Just(Step::SignIn),
        (0..NAMES.len()).prop_map(Step::Rename),
        (0..3usize).prop_map(Step::ChangeEmail),
        (0..3usize).prop_map(Step::SqlEmail),
        prop::option::of(any::<u8>()).prop_map(Step::Ban),
    ]
}

fn ending() -> impl Strategy<Value = Ending> {
    prop_oneof![
        3 => Just(Ending::None),
        1 => Just(Ending::SoftDelete),
        1 => Just(Ending::SoftDeleteTwice),
        2 => Just(Ending::Remove),
        1 => Just(Ending::SoftDeleteThenRemove),
    ]
}

pub fn life() -> impl Strategy<Value = Life> {
    (
        prop::collection::vec(step(), 0..5),
        ending(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(0..6usize, 0..4),
        (prop::bool::weighted(0.15), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                steps,
                ending,
                before_created,
                after_created,
                tokens,
                (rolled_back, invited, sso),
            )| {
                Life {
                    steps,
                    ending,
                    before_created: before_created || rolled_back,
                    after_created,
                    rolled_back,
                    invited,
                    sso,
                    tokens,
                }
            },
        )
}

/// A small deterministic generator for the parts of a case proptest need not shrink.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn rfc3339(t: Micros) -> String {
    chrono::DateTime::from_timestamp_micros(t)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// The deliveries of user number `n`, in the order they happened.
pub fn deliveries(n: usize, life: &Life, rng: &mut Rng) -> Vec<Delivery> {
    let id = PLACEHOLDER_ID;
    let start = BASE + n as Micros * 1000 * SECOND;
    // Change k happens at start + 10 s * k plus a few microseconds, never on a whole second.
    let at = |k: usize, rng: &mut Rng| {
        start + k as Micros * 10 * SECOND + 1 + rng.below(999_998) as Micros
    };
    let created = at(0, rng);
    let mut state = State {
        email: format!("user{n}.0@example.com"),
        full_name: NAMES[n % NAMES.len()].to_owned(),
        confirmed_at: None,
        last_sign_in_at: None,
        updated_at: created,
        banned_until: None,
        sso: life.sso,
    };
    let mut states = vec![(created, state.clone())];
    for (k, step) in life.steps.iter().enumerate() {
        let t = at(k + 1, rng);
        match *step {
            Step::Confirm => state.confirmed_at = Some(t),
            Step::SignIn => state.last_sign_in_at = Some(t),
            Step::Rename(i) => state.full_name = NAMES[i].to_owned(),
            Step::ChangeEmail(i) => state.email = format!("user{n}.{}@example.com", i + 1),
            Step::SqlEmail(i) => state.email = format!("user{n}.sql{i}@example.com"),
            Step::Ban(until) => {
                state.banned_until = until.map(|s| start + Micros::from(s) * SECOND)
            }
        }
        if !matches!(step, Step::SqlEmail(_)) {
            state.updated_at = t;
        }
        states.push((t, state.clone()));
    }

    let mut out = Vec::new();
    let mut push = |path: &'static str, body: Value, said: Said| {
        let webhook_id = uuid::Uuid::new_v4().to_string();
        out.push(Delivery {
            user: n,
            created,
            path,
            webhook_id,
            body,
            said,
        });
    };
    let first = &states[0].1;
    if life.before_created {
        let t = start - 5 * SECOND + 7;
        push(
            "/hooks/before-user-created",
            hook_body("before-user-created", id, first, t, None, false),
            Said::BeforeCreated {
                at: t,
                state: first.clone(),
            },
        );
    }
    if life.rolled_back {
        return out;
    }
    for (k, (t, s)) in states.iter().enumerate() {
        let old = (k > 0).then(|| &states[k - 1].1);
        let kind = if k == 0 { "INSERT" } else { "UPDATE" };
        push(
            "/hooks/auth-users",
            trigger_body(
                kind,
                id,
                Some((s, None)),
                old.map(|o| (o, None)),
                *t,
                created,
            ),
            Said::Row {
                at: *t,
                state: s.clone(),
            },
        );
        if k == 0 && life.after_created {
            push(
                "/hooks/after-user-created",
                hook_body(
                    "after-user-created",
                    id,
                    s,
                    s.updated_at,
                    Some(created),
                    life.invited,
                ),
                Said::AfterCreated {
                    state: s.clone(),
                    invited: life.invited,
                },
            );
        }
    }
    for &k in &life.tokens {
        let Some((t, s)) = states.get(k) else {
            continue;
        };
        // Issued between this change and the next, on a whole second.
        let iat = (t / SECOND + 3) * SECOND;
        push(
            "/hooks/custom-access-token",
            token_body(id, s, iat),
            Said::Token {
                iat,
                state: s.clone(),
            },
        );
    }

    let last = states.last().unwrap().1.clone();
    let mut k = states.len();
    let deleted_at = at(k, rng);
    if matches!(
        life.ending,
        Ending::SoftDelete | Ending::SoftDeleteTwice | Ending::SoftDeleteThenRemove
    ) {
        let t = deleted_at;
        push(
            "/hooks/auth-users",
            trigger_body(
                "UPDATE",
                id,
                Some((&last, Some(t))),
                Some((&last, None)),
                t,
                created,
            ),
            Said::SoftDeleted {
                at: t,
                deleted_at: t,
                old: Some(last.clone()),
            },
        );
        k += 1;
        if life.ending == Ending::SoftDeleteTwice {
            let t2 = at(k, rng);
            push(
                "/hooks/auth-users",
                trigger_body(
                    "UPDATE",
                    id,
                    Some((&last, Some(deleted_at))),
                    Some((&last, Some(deleted_at))),
                    t2,
                    created,
                ),
                Said::SoftDeleted {
                    at: t2,
                    deleted_at,
                    old: None,
                },
            );
            k += 1;
        }
    }
    match life.ending {
        Ending::Remove => {
            let t = at(k, rng);
            push(
                "/hooks/auth-users",
                trigger_body("DELETE", id, None, Some((&last, None)), t, created),
                Said::Removed {
                    at: t,
                    deleted_at: None,
                    old: Some(last.clone()),
                },
            );
        }
        Ending::SoftDeleteThenRemove => {
            let t = at(k, rng);
            push(
                "/hooks/auth-users",
                trigger_body(
                    "DELETE",
                    id,
                    None,
                    Some((&last, Some(deleted_at))),
                    t,
                    created,
                ),
                Said::Removed {
                    at: t,
                    deleted_at: Some(deleted_at),
                    old: None,
                },
            );
        }
        _ => {}
    }
    out
}

/// A row of `auth.users` as the trigger renders it; `deleted` gives the soft-delete time,
/// when Supabase replaces the email and phone by hashes and empties the metadata.
fn row(id: &str, s: &State, deleted: Option<Micros>, created: Micros) -> Value {
    let time = |t: Option<Micros>| t.map_or(Value::Null, |t| json!(rfc3339(t)));
    let (email, phone, meta) = match deleted {
        None => (
            json!(s.email),
            Value::Null,
            json!({ "full_name": s.full_name }),
        ),
        Some(_) => (
            json!("hUQ0MlMeTzjV0c5pZ_uHk2XO3q3lOJdvLmWQK9cq1WI"),
            json!("aGFzaGVkcGhvbmUx"),
            json!({}),
        ),
    };
    json!({
        "id": id, "aud": "authenticated", "role": "authenticated", "email": email, "phone": phone,
        "raw_user_meta_data": meta,
        "raw_app_meta_data": { "provider": "email", "providers": ["email"] },
        "email_confirmed_at": time(s.confirmed_at), "phone_confirmed_at": null,
        "last_sign_in_at": time(s.last_sign_in_at), "is_anonymous": false, "is_sso_user": s.sso,
        "banned_until": time(s.banned_until),
        "created_at": rfc3339(created), "updated_at": rfc3339(deleted.unwrap_or(s.updated_at)),
        "deleted_at": time(deleted),
    })
}

type RowSpec<'a> = (&'a State, Option<Micros>);

fn trigger_body(
    kind: &str,
    id: &str,
    record: Option<RowSpec>,
    old: Option<RowSpec>,
    at: Micros,
    created: Micros,
) -> Value {
    json!({
        "type": kind, "table": "users", "schema": "auth",
        "record": record.map_or(Value::Null, |(s, d)| row(id, s, d, created)),
        "old_record": old.map_or(Value::Null, |(s, d)| row(id, s, d, created)),
        "changed_at": rfc3339(at),
    })
}

fn hook_body(
    name: &str,
    id: &str,
    s: &State,
    at: Micros,
    created: Option<Micros>,
    invited: bool,
) -> Value {
    let zero = "0001-01-01T00:00:00Z".to_owned();
    let mut user = json!({
        "id": id, "aud": "authenticated", "role": if created.is_some() { "authenticated" } else { "" },
        "email": s.email, "phone": "",
        "app_metadata": { "provider": "email", "providers": ["email"] },
        "user_metadata": { "full_name": s.full_name }, "identities": [],
        "created_at": created.map_or(zero.clone(), rfc3339), "updated_at": created.map_or(zero, |_| rfc3339(s.updated_at)),
        "is_anonymous": false,
    });
    if created.is_some() {
        if let Some(t) = s.confirmed_at {
            user["email_confirmed_at"] = json!(rfc3339(t));
        }
        if let Some(t) = s.last_sign_in_at {
            user["last_sign_in_at"] = json!(rfc3339(t));
        }
        if let Some(t) = s.banned_until {
            user["banned_until"] = json!(rfc3339(t));
        }
    }
    if invited {
        user["invited_at"] = json!(rfc3339(at - SECOND));
        user["user_metadata"] = json!({});
    }
    json!({
        "metadata": { "uuid": uuid::Uuid::new_v4(), "time": rfc3339(at), "name": name, "ip_address": "203.0.113.7" },
        "user": user,
    })
}

fn token_body(id: &str, s: &State, iat: Micros) -> Value {
    let iat = iat / SECOND;
    json!({
        "metadata": { "uuid": uuid::Uuid::new_v4(), "time": rfc3339(iat * SECOND), "name": "customize-access-token" },
        "user_id": id,
        "claims": {
            "iss": "https://example.supabase.co/auth/v1", "sub": id, "aud": "authenticated",
            "exp": iat + 3600, "iat": iat, "email": s.email, "phone": "",
            "app_metadata": { "provider": "email", "providers": ["email"] },
            "user_metadata": { "full_name": s.full_name },
            "role": "authenticated", "aal": "aal1", "session_id": "5c0b8f4e-2d6a-4e1b-9c3f-7a8d9e0f1a2b",
            "is_anonymous": false,
        },
        "authentication_method": "token_refresh",
    })
}
