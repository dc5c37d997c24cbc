//! The Supabase database: supahook's signed trigger on `auth.users` and its Vault
//! secrets, and every other trigger there that could fail a sign-up.
//!
//! Other triggers are tried, not guessed at: a sign-up (an INSERT into `auth.users`)
//! and a sign-in (an UPDATE of its `last_sign_in_at`) are rehearsed in a transaction
//! that is always rolled back, with deferred constraints checked at once. Nothing
//! stays: the row, whatever the triggers wrote, and pg_net's queued requests (sent only
//! after a commit) all go with the rollback.

mod triggers;

use super::report::Check;
use crate::infra::pg_connect::PgTarget;
use crate::signature::SigningKey;
use diesel::QueryableByName;
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use triggers::Trigger;

/// The trigger and function deploy/supabase installs.
const TRIGGER: &str = "supahook_auth_users_webhook";
const FUNCTION: &str = "supahook.auth_users_webhook()";
const MIGRATION: &str = "deploy/supabase/migrations/20260101000000_supahook_auth_users_webhook.sql";

/// What the database says: a finding per check, and the Vault secret's keys.
pub struct Findings {
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// The keys the trigger signs with, for the test event.
    pub secrets: Option<Vec<SigningKey>>,
}

/// Checks the Supabase database at `url`; `accepted` are supahook's keys.
pub async fn check(url: &str, accepted: &[SigningKey]) -> Findings {
    let mut findings = Findings {
        checks: Vec::new(),
        secrets: None,
    };
    let name = "Supabase database";
    let target = match PgTarget::parse(url) {
        Ok(target) => target,
        Err(error) => {
            findings.checks.push(Check::problem(
                name,
                error.to_string(),
                "correct --source-url (or SUPAHOOK_SOURCE_DATABASE_URL)",
            ));
            return findings;
        }
    };
    let mut conn = match target.connect().await {
        Ok(conn) => conn,
        Err(error) => {
            findings.checks.push(Check::problem(
                name,
                format!("cannot connect to {}: {error}", target.describe()),
                "correct --source-url (or SUPAHOOK_SOURCE_DATABASE_URL): the Supabase \
                 database's connection string, as `postgres`",
            ));
            return findings;
        }
    };
    findings.checks.push(Check::ok(
        name,
        format!("connected to {}", target.describe()),
    ));
    let triggers = match triggers::on_auth_users(&mut conn).await {
        Ok(triggers) => triggers,
        Err(error) => {
            findings.checks.push(Check::problem(
                "triggers on auth.users",
                format!("cannot read them: {error}"),
                "connect to the Supabase project's database, as `postgres`",
            ));
            return findings;
        }
    };
    findings.checks.push(own_trigger(&triggers));
    let (vault, keys) = vault_secret(&mut conn, accepted).await;
    findings.checks.push(vault);
    findings.secrets = keys;
    findings.checks.push(vault_url(&mut conn).await);
    findings
        .checks
        .push(other_triggers(&mut conn, &triggers).await);
    findings
}

/// supahook's own trigger: present, enabled, calling supahook's function.
fn own_trigger(triggers: &[Trigger]) -> Check {
    let name = "supahook trigger on auth.users";
    match triggers.iter().find(|t| t.name == TRIGGER) {
        None => Check::problem(
            name,
            format!(
                "auth.users has no {TRIGGER} trigger: updates and deletes never reach supahook"
            ),
            format!("apply {MIGRATION} (supabase db push, or paste it into the SQL editor)"),
        ),
        Some(t) if !t.enabled => Check::problem(
            name,
            format!("{TRIGGER} is disabled"),
            format!("ALTER TABLE auth.users ENABLE TRIGGER {TRIGGER}"),
        ),
        Some(t) if t.function != FUNCTION => Check::problem(
            name,
            format!("{TRIGGER} calls {}, not {FUNCTION}", t.function),
            format!("apply {MIGRATION} again"),
        ),
        Some(t) => Check::ok(name, format!("{TRIGGER} ({}) calls {FUNCTION}", t.when)),
    }
}

#[derive(QueryableByName)]
struct Secret {
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
}

/// The Vault secret `name`, trimmed as the trigger trims it.
async fn vault_value(conn: &mut AsyncPgConnection, name: &str) -> Result<Option<String>, String> {
    let rows: Vec<Secret> = diesel::sql_query(
        "SELECT decrypted_secret AS value FROM vault.decrypted_secrets WHERE name = $1 LIMIT 1",
    )
    .bind::<Text, _>(name)
    .load(conn)
    .await
    .map_err(|e| e.to_string())?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|row| row.value)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty()))
}

/// The trigger's secret in Vault: present, well-formed and one supahook accepts.
async fn vault_secret(
    conn: &mut AsyncPgConnection,
    accepted: &[SigningKey],
) -> (Check, Option<Vec<SigningKey>>) {
    let name = "Vault supahook_webhook_secret";
    let create = "select vault.create_secret('<supahook's v1,whsec_ secret>', \
                  'supahook_webhook_secret') (or vault.update_secret)";
    let value = match vault_value(conn, "supahook_webhook_secret").await {
        Ok(Some(value)) => value,
        Ok(None) => {
            let problem = "missing or empty: the trigger sends nothing";
            return (Check::problem(name, problem, create), None);
        }
        Err(error) => {
            let problem = format!("cannot read Vault: {error}");
            return (Check::problem(name, problem, "connect as `postgres`"), None);
        }
    };
    let keys = match SigningKey::parse_list(&value) {
        Ok(keys) if !keys.is_empty() => keys,
        _ => {
            let problem = "not of the form v1,whsec_<base64> (several joined with |)";
            return (Check::problem(name, problem, create), None);
        }
    };
    if !keys
        .iter()
        .any(|key| accepted.iter().any(|a| a.same_key(key)))
    {
        let problem = "none of its secrets is one supahook accepts (SUPAHOOK_HOOK_SECRETS): \
                       supahook refuses every change the trigger sends";
        return (Check::problem(name, problem, create), Some(keys));
    }
    let found = format!("{} secret(s), accepted by supahook", keys.len());
    (Check::ok(name, found), Some(keys))
}

/// The URL the trigger posts to: present and supahook's `/hooks/auth-users`.
async fn vault_url(conn: &mut AsyncPgConnection) -> Check {
    let name = "Vault supahook_webhook_url";
    let fix = "select vault.create_secret('https://<supahook>/hooks/auth-users', \
               'supahook_webhook_url') (or vault.update_secret)";
    match vault_value(conn, "supahook_webhook_url").await {
        Ok(Some(url)) if url.ends_with("/hooks/auth-users") => Check::ok(name, url),
        Ok(Some(url)) => Check::problem(
            name,
            format!("{url} is not supahook's /hooks/auth-users"),
            fix,
        ),
        Ok(None) => Check::problem(name, "missing or empty: the trigger sends nothing", fix),
        Err(error) => Check::problem(
            name,
            format!("cannot read Vault: {error}"),
            "connect as `postgres`",
        ),
    }
}

/// The other triggers on `auth.users`, and whether a rehearsed sign-up and sign-in
/// get through them.
async fn other_triggers(conn: &mut AsyncPgConnection, triggers: &[Trigger]) -> Check {
    let name = "other triggers on auth.users";
    let others: Vec<String> = triggers
        .iter()
        .filter(|t| t.name != TRIGGER)
        .map(ToString::to_string)
        .collect();
    let listed = match others.as_slice() {
        [] => "none".to_owned(),
        others => others.join(", "),
    };
    match rehearse(conn).await {
        Ok(()) => Check::ok(
            name,
            format!("{listed}; a sign-up and a sign-in, rehearsed and rolled back, went through"),
        ),
        Err(error) => Check::problem(
            name,
            format!(
                "a sign-up fails in this database (Supabase Auth says \"Database error saving new user\"): {error}; triggers: {listed}"
            ),
            "correct or drop the trigger function that raises this error",
        ),
    }
}

/// Inserts a user into `auth.users` and signs it in, in a transaction that is then
/// rolled back whatever happened.
async fn rehearse(conn: &mut AsyncPgConnection) -> Result<(), String> {
    conn.batch_execute(
        "BEGIN; SET LOCAL statement_timeout = '10s'; SET LOCAL lock_timeout = '5s'; \
         SET CONSTRAINTS ALL IMMEDIATE",
    )
    .await
    .map_err(|e| e.to_string())?;
    let id = uuid::Uuid::new_v4();
    let tried = async {
        diesel::sql_query(
            "INSERT INTO auth.users (instance_id, id, aud, role, email, raw_app_meta_data, \
                 raw_user_meta_data, created_at, updated_at) \
             VALUES ('00000000-0000-0000-0000-000000000000', $1::uuid, 'authenticated', \
                 'authenticated', $2, '{\"provider\": \"email\", \"providers\": [\"email\"]}', \
                 '{}', now(), now())",
        )
        .bind::<Text, _>(id.to_string())
        .bind::<Text, _>(format!("doctor-{}@supahook.invalid", id.simple()))
        .execute(conn)
        .await?;
        diesel::sql_query(
            "UPDATE auth.users SET last_sign_in_at = now(), updated_at = now() WHERE id = $1::uuid",
        )
        .bind::<Text, _>(id.to_string())
        .execute(conn)
        .await
    }
    .await;
    let rolled_back = conn.batch_execute("ROLLBACK").await;
    tried.map_err(|e| e.to_string())?;
    rolled_back.map_err(|e| format!("cannot roll the rehearsal back: {e}"))
}
