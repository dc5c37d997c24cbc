//! The claims custom-access-token answers with: the project's own hook chained behind
//! supahook (a Postgres function in the style of Supabase's RBAC guide, an HTTP hook
//! signed with its own secret), the claims query, and the per-user cache with its
//! drops (`NOTIFY supahook_claims`, profile edits).

mod support;

#[path = "token_claims/chain_server.rs"]
mod chain_server;

use chain_server::ChainServer;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{ADMIN_TOKEN, Backend, Options, Running, TestApp, TestDb, fixture_json, json};
use uuid::Uuid;

/// The user of `custom-access-token.json`.
const ADA: &str = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";

/// The project's secret for its own hook, not supahook's.
const CHAIN_SECRET: &str = "v1,whsec_c2VjcmV0LW9mLXRoZS1wcm9qZWN0cy1vd24taG9vaw==";

/// The RBAC guide's table and hook, as a project has them before it adds supahook.
const RBAC_HOOK: &str = r#"
create type public.app_role as enum ('admin', 'editor', 'banned');
create table public.user_roles (user_id uuid primary key, role public.app_role not null);
create or replace function public.custom_access_token_hook(event jsonb)
returns jsonb language plpgsql stable as $$
  declare
    claims jsonb;
    user_role public.app_role;
  begin
    select role into user_role from public.user_roles
      where user_id = (event->>'user_id')::uuid;
    if user_role = 'banned' then
      return jsonb_build_object('error', jsonb_build_object(
        'http_code', 403, 'message', 'This account is suspended'));
    end if;
    claims := event->'claims';
    if user_role is not null then
      claims := jsonb_set(claims, '{user_role}', to_jsonb(user_role));
    else
      claims := jsonb_set(claims, '{user_role}', 'null');
    end if;
    event := jsonb_set(event, '{claims}', claims);
    return event;
  end;
$$;
"#;

/// The trigger the README tells an application to add to its roles table.
const CLAIMS_TRIGGER: &str = r#"
create or replace function public.supahook_claims_changed() returns trigger
language plpgsql as $$
begin
  perform pg_notify('supahook_claims', coalesce(new.user_id, old.user_id)::text);
  return null;
end;
$$;
create trigger supahook_claims after insert or update or delete on public.user_roles
  for each row execute function public.supahook_claims_changed();
"#;

/// Ada's `n`-th token: a refresh `n` seconds after the fixture's, with its own key.
fn token(n: i64) -> Value {
    let mut body = fixture_json("custom-access-token.json");
    body["metadata"]["uuid"] = json!(Uuid::new_v4());
    body["claims"]["iat"] = json!(body["claims"]["iat"].as_i64().unwrap() + n);
    body["claims"]["exp"] = json!(body["claims"]["exp"].as_i64().unwrap() + n);
    body
}

/// Sends Ada's `n`-th token; the answer's body.
async fn refresh(app: &Running, n: i64) -> Value {
    let response = support::send(
        &app.client,
        "/hooks/custom-access-token",
        token(n).to_string().as_bytes(),
    )
    .await;
    response.assert_status_is_ok();
    json(response).await
}

/// Options with these settings.
fn with(env: &[(&'static str, &str)]) -> Options {
    Options {
        env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        ..Options::default()
    }
}

/// The app over a new PostgreSQL database prepared with `sql`.
async fn on_postgres(sql: &str, options: Options) -> (TestDb, Running) {
    let db = TestDb::create_postgres().await;
    // The app's tables first, as a project has them, then supahook.
    db.batch(sql).await;
    let running = support::start(&db.url, options).await;
    (db, running)
}

/// Every claim of `answer` but `added` equals the fixture's, so Supabase's claims
/// went through untouched.
fn only_added(answer: &Value, added: &[&str], sent: &Value) {
    let mut claims = answer["claims"].as_object().unwrap().clone();
    for name in added {
        claims.remove(*name);
    }
    let mut sent = sent["claims"].as_object().unwrap().clone();
    sent.remove("iat");
    sent.remove("exp");
    claims.remove("iat");
    claims.remove("exp");
    assert_eq!(claims, sent);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_in_the_style_of_the_rbac_guide_adds_user_role() {
    let setup = format!("{RBAC_HOOK} insert into user_roles values ('{ADA}', 'admin');");
    let chain = "pg-functions://postgres/public/custom_access_token_hook";
    let (_db, app) = on_postgres(&setup, with(&[("SUPAHOOK_ACCESS_TOKEN_CHAIN", chain)])).await;

    let answer = refresh(&app, 1).await;

    assert_eq!(answer["claims"]["user_role"], "admin");
    only_added(&answer, &["user_role"], &token(1));
    assert_eq!(answer["claims"]["iat"], token(1)["claims"]["iat"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mirror_databases_own_name_is_taken_and_another_refused() {
    let db = TestDb::create_postgres().await;
    db.batch(RBAC_HOOK).await;
    let own = db.url.rsplit('/').next().unwrap().to_owned();

    let running = support::start(
        &db.url,
        with(&[(
            "SUPAHOOK_ACCESS_TOKEN_CHAIN",
            &format!("pg-functions://{own}/public/custom_access_token_hook"),
        )]),
    )
    .await;
    assert_eq!(
        refresh(&running, 1).await["claims"]["user_role"],
        Value::Null
    );

    let (settings, wiring) = support::settings(
        &db.url,
        with(&[(
            "SUPAHOOK_ACCESS_TOKEN_CHAIN",
            "pg-functions://elsewhere/public/custom_access_token_hook",
        )]),
    );
    let refused = supahook::app::App::build(&settings, wiring)
        .await
        .err()
        .unwrap();
    assert!(refused.to_string().contains(&own), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_functions_error_reaches_supabase_as_its_error_object() {
    let setup = format!("{RBAC_HOOK} insert into user_roles values ('{ADA}', 'banned');");
    let chain = "pg-functions://postgres/public/custom_access_token_hook";
    let (db, app) = on_postgres(&setup, with(&[("SUPAHOOK_ACCESS_TOKEN_CHAIN", chain)])).await;

    let answer = refresh(&app, 1).await;

    assert_eq!(
        answer,
        json!({"error": {"http_code": 403, "message": "This account is suspended"}})
    );
    assert_eq!(
        db.scalar("select count(*) from users").await,
        1,
        "the user is mirrored all the same"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_whose_claims_supabase_would_refuse_gives_a_clear_error() {
    let broken = "create function public.broken(event jsonb) returns jsonb language sql as \
                  $$ select jsonb_build_object('claims', (event->'claims') - 'role') $$;";
    let chain = "pg-functions://postgres/public/broken";
    let (_db, app) = on_postgres(broken, with(&[("SUPAHOOK_ACCESS_TOKEN_CHAIN", chain)])).await;

    let answer = refresh(&app, 1).await;

    assert_eq!(answer["error"]["http_code"], 500);
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("`role` is missing"), "{message}");
    assert!(answer.get("claims").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_hook_signed_with_its_own_secret_adds_its_claims() {
    let server = ChainServer::start(CHAIN_SECRET, Duration::ZERO, 200).await;
    let app = TestApp::spawn_with(with(&[
        ("SUPAHOOK_ACCESS_TOKEN_CHAIN", &server.url),
        ("SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS", CHAIN_SECRET),
    ]))
    .await;

    let answer = refresh(&app, 1).await;

    assert_eq!(answer["claims"]["tenant"], "acme");
    only_added(&answer, &["tenant"], &token(1));
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].signed, "the hook's own secret signed the call");
    assert_eq!(
        received[0].body["metadata"]["name"], "customize-access-token",
        "the hook gets the event as Supabase sent it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_that_is_too_slow_fails_the_token_when_closed_and_not_when_open() {
    let server = ChainServer::start(CHAIN_SECRET, Duration::from_millis(1500), 200).await;
    let settings = |policy: &'static str| {
        with(&[
            ("SUPAHOOK_ACCESS_TOKEN_CHAIN", &server.url),
            ("SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS", CHAIN_SECRET),
            ("SUPAHOOK_ACCESS_TOKEN_CHAIN_TIMEOUT_MS", "300"),
            ("SUPAHOOK_ACCESS_TOKEN_CHAIN_ON_FAILURE", policy),
        ])
    };
    let closed = TestApp::spawn_with(settings("closed")).await;
    let open = TestApp::spawn_with(settings("open")).await;

    let started = Instant::now();
    let refused = refresh(&closed, 1).await;
    assert!(started.elapsed() < Duration::from_millis(1200));
    assert_eq!(refused["error"]["http_code"], 422);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("300 ms")
    );

    let passed = refresh(&open, 1).await;
    only_added(&passed, &[], &token(1));
    assert!(passed["claims"].get("tenant").is_none());
    let metrics = metrics(&open).await;
    assert!(
        metrics.contains(r#"supahook_token_claims_failures_total{source="chain",policy="open"}"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_that_fails_fails_the_token_when_closed_and_not_when_open() {
    let server = ChainServer::start(CHAIN_SECRET, Duration::ZERO, 500).await;
    let settings = |policy: &'static str| {
        with(&[
            ("SUPAHOOK_ACCESS_TOKEN_CHAIN", &server.url),
            ("SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS", CHAIN_SECRET),
            ("SUPAHOOK_ACCESS_TOKEN_CHAIN_ON_FAILURE", policy),
        ])
    };
    let closed = TestApp::spawn_with(settings("closed")).await;
    let open = TestApp::spawn_with(settings("open")).await;

    let refused = refresh(&closed, 1).await;
    assert_eq!(
        refused,
        json!({"error": {"http_code": 500, "message": "the access token hook answered HTTP 500"}})
    );
    only_added(&refresh(&open, 1).await, &[], &token(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_signed_with_another_secret_is_refused_by_it() {
    let server = ChainServer::start(CHAIN_SECRET, Duration::ZERO, 200).await;
    let app = TestApp::spawn_with(with(&[
        ("SUPAHOOK_ACCESS_TOKEN_CHAIN", &server.url),
        ("SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS", support::OTHER_SECRET),
    ]))
    .await;

    let refused = refresh(&app, 1).await;

    assert_eq!(refused["error"]["http_code"], 500);
    assert!(!server.received()[0].signed);
}

/// A claims query for this backend: Ada's role, and claims named like Supabase's.
fn role_query(backend: Backend) -> (&'static str, &'static str) {
    match backend {
        Backend::Postgres => (
            "create table user_roles (user_id uuid primary key, role text not null);",
            "select jsonb_build_object('role', role, 'sub', 'someone-else', \
             'aud', 'service', 'roles', jsonb_build_array(role)) \
             from user_roles where user_id = $1",
        ),
        Backend::Sqlite => (
            "create table user_roles (user_id text primary key, role text not null);",
            "select json_object('role', role, 'sub', 'someone-else', \
             'aud', 'service', 'roles', json_array(role)) \
             from user_roles where user_id = $1",
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_claims_query_adds_claims_and_cannot_override_supabases() {
    let (table, query) = role_query(Backend::from_env());
    let app = TestApp::spawn_with(with(&[("SUPAHOOK_TOKEN_CLAIMS_QUERY", query)])).await;
    app.db.execute(table).await;
    app.db
        .execute(&format!("insert into user_roles values ('{ADA}', 'admin')"))
        .await;

    let answer = refresh(&app, 1).await;

    assert_eq!(
        answer["claims"]["app"],
        json!({"role": "admin", "sub": "someone-else", "aud": "service", "roles": ["admin"]})
    );
    assert_eq!(answer["claims"]["sub"], ADA);
    assert_eq!(answer["claims"]["role"], "authenticated");
    assert_eq!(answer["claims"]["aud"], "authenticated");
    only_added(&answer, &["app"], &token(1));

    // The next tokens, answered from the kept claims, say the same, whatever `app`
    // their own claims carry.
    let kept = refresh(&app, 2).await;
    assert_eq!(kept["claims"]["app"], answer["claims"]["app"]);
    only_added(&kept, &["app"], &token(2));
    let mut carrying = token(3);
    carrying["claims"]["app"] = json!({"role": "owner"});
    let response = support::send(
        &app.client,
        "/hooks/custom-access-token",
        carrying.to_string().as_bytes(),
    )
    .await;
    response.assert_status_is_ok();
    let answer = json(response).await;
    assert_eq!(answer["claims"]["app"], kept["claims"]["app"]);
    only_added(&answer, &["app"], &token(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_claims_query_runs_read_only() {
    let forget = "create function forget(id uuid) returns jsonb language sql as \
                  $$ delete from users where users.id = forget.id returning '{}'::jsonb $$;";
    let writes = "select forget($1)";
    let (db, app) = on_postgres(
        "",
        with(&[
            ("SUPAHOOK_TOKEN_CLAIMS_QUERY", writes),
            ("SUPAHOOK_ACCESS_TOKEN_CHAIN_ON_FAILURE", "closed"),
        ]),
    )
    .await;
    db.batch(forget).await;

    let answer = refresh(&app, 1).await;

    assert_eq!(answer["error"]["http_code"], 500);
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("read-only"), "{message}");
    assert_eq!(db.scalar("select count(*) from users").await, 1);
}

/// A claims query for this backend whose value changes at every run: tokens that
/// agree on it were answered from the cache.
fn clock_query(backend: Backend, more: &str) -> String {
    match backend {
        Backend::Postgres => format!(
            "select jsonb_build_object('at', clock_timestamp(){more}) \
             from (select $1::uuid as id) me left join user_roles r on r.user_id = me.id"
        ),
        Backend::Sqlite => format!(
            "select json_object('at', strftime('%Y-%m-%d %H:%M:%f', 'now'){more}) \
             from (select $1 as id) me left join user_roles r on r.user_id = me.id"
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notify_after_a_role_change_gives_the_next_token_the_new_role_at_once() {
    let (table, _) = role_query(Backend::Postgres);
    let setup = format!("{table} insert into user_roles values ('{ADA}', 'admin');");
    let query = clock_query(Backend::Postgres, ", 'role', r.role");
    let (db, app) = on_postgres(
        &setup,
        with(&[
            ("SUPAHOOK_TOKEN_CLAIMS_QUERY", &query),
            ("SUPAHOOK_TOKEN_CLAIMS_TTL", "600"),
        ]),
    )
    .await;
    let mut n = wait_until_kept(&app).await;
    assert_eq!(refresh(&app, n).await["claims"]["app"]["role"], "admin");

    // Changed without an announcement: the kept claims stand (and cost no query).
    db.execute("update user_roles set role = 'editor'").await;
    n += 1;
    assert_eq!(refresh(&app, n).await["claims"]["app"]["role"], "admin");

    // With the documented trigger, the change is announced and shows at once.
    db.batch(CLAIMS_TRIGGER).await;
    db.execute("update user_roles set role = 'banned'").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        n += 1;
        let role = refresh(&app, n).await["claims"]["app"]["role"].clone();
        if role == "banned" {
            break;
        }
        assert!(Instant::now() < deadline, "still {role} after the NOTIFY");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_edit_shows_in_the_next_token_despite_the_cache() {
    let backend = Backend::from_env();
    let (table, _) = role_query(backend);
    let query = clock_query(backend, "");
    let app = TestApp::spawn_with(Options {
        profile_claim: Some("app_profile".into()),
        ..with(&[
            ("SUPAHOOK_TOKEN_CLAIMS_QUERY", &query),
            ("SUPAHOOK_TOKEN_CLAIMS_TTL", "600"),
        ])
    })
    .await;
    app.db.execute(table).await;
    let mut n = wait_until_kept(&app).await;
    assert_eq!(
        refresh(&app, n).await["claims"]["app_profile"]["is_onboarded"],
        false
    );

    let patched = app
        .client
        .patch(format!("/v1/users/{ADA}/profile"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body_json(&json!({"is_onboarded": true}))
        .send()
        .await;
    patched.assert_status_is_ok();
    n += 1;

    let answer = refresh(&app, n).await;
    assert_eq!(answer["claims"]["app_profile"]["is_onboarded"], true);
}

/// Sends refreshes until two in a row carry the same `app.at`: the claims are kept
/// (both listeners are up). Returns the number of the last token sent.
async fn wait_until_kept(app: &Running) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 1;
    let mut last = refresh(app, n).await["claims"]["app"]["at"].clone();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        n += 1;
        let at = refresh(app, n).await["claims"]["app"]["at"].clone();
        assert!(!at.is_null(), "the query gave no value");
        if at == last {
            return n;
        }
        last = at;
        assert!(Instant::now() < deadline, "the claims are never kept");
    }
}

async fn metrics(app: &Running) -> String {
    let response = app.client.get("/metrics").send().await;
    response.0.into_body().into_string().await.unwrap()
}
