//! deploy/supabase/remove_auth_users_webhook.sql in a stand-in Supabase database:
//! it takes away the trigger and everything the install created, twice without
//! harm, silences a trigger it may not drop, and keeps a supahook mirror that lives
//! in the same database's schema `supahook`.

mod support;
#[path = "support/upstream.rs"]
mod upstream;

use diesel_async::SimpleAsyncConnection;
use support::{Options, SECRET, TestDb, outcome, send};

const REMOVAL: &str = include_str!("../deploy/supabase/remove_auth_users_webhook.sql");

async fn configure_vault(source: &TestDb) {
    upstream::connect(source)
        .await
        .batch_execute(&format!(
            "SELECT vault.create_secret('{SECRET}', 'supahook_webhook_secret');
             SELECT vault.create_secret('http://127.0.0.1:8080/hooks/auth-users', 'supahook_webhook_url')"
        ))
        .await
        .expect("store the Vault secrets");
}

async fn sign_up(source: &TestDb, email: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    source
        .execute(&format!(
            "INSERT INTO auth.users (id, email, created_at, updated_at)
             VALUES ('{id}', '{email}', now(), now())"
        ))
        .await;
    id
}

async fn captured(source: &TestDb) -> i64 {
    source
        .scalar("SELECT count(*) FROM net.captured_requests")
        .await
}

/// What is left of the install: the trigger, supahook's functions, `user_versions`,
/// the Vault entries and the schema, each counted.
async fn left(source: &TestDb) -> [i64; 5] {
    [
        source
            .scalar("SELECT count(*) FROM pg_trigger WHERE tgname = 'supahook_auth_users_webhook'")
            .await,
        source
            .scalar(
                "SELECT count(*) FROM pg_proc WHERE pronamespace::regnamespace::text = 'supahook'",
            )
            .await,
        source
            .scalar(
                "SELECT count(*) FROM pg_class WHERE oid = to_regclass('supahook.user_versions')",
            )
            .await,
        source
            .scalar("SELECT count(*) FROM vault.secrets WHERE name LIKE 'supahook_%'")
            .await,
        source
            .scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'supahook'")
            .await,
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_removal_takes_away_all_it_installed_and_runs_twice() {
    let source = upstream::supabase_db(true).await;
    configure_vault(&source).await;
    sign_up(&source, "before@example.com").await;
    assert_eq!(captured(&source).await, 1);
    assert_eq!(left(&source).await, [1, 3, 1, 2, 1]);

    let mut conn = upstream::connect(&source).await;
    conn.batch_execute(REMOVAL).await.expect("the removal");
    conn.batch_execute(REMOVAL)
        .await
        .expect("the removal, again");

    assert_eq!(left(&source).await, [0, 0, 0, 0, 0]);
    sign_up(&source, "after@example.com").await;
    assert_eq!(
        captured(&source).await,
        1,
        "a sign-up after the removal sends nothing"
    );
    assert_eq!(
        source.scalar("SELECT count(*) FROM auth.users").await,
        2,
        "auth.users keeps its rows"
    );
    let extensions = source
        .scalar("SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'")
        .await;
    assert_eq!(extensions, 1, "pgcrypto is kept");
}

/// Like `postgres` on Supabase without supautils: ALL privileges on `auth.users`,
/// not its owner, so it may create the trigger but not drop it.
const NON_OWNER: &str = "supahook_test_remover";

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_may_not_drop_the_trigger_silences_it_and_the_owner_finishes() {
    let source = upstream::supabase_db(false).await;
    configure_vault(&source).await;
    upstream::role_that_does_not_own_auth_users(&source, NON_OWNER).await;
    let mut conn = upstream::connect(&source).await;
    let as_non_owner = |sql: &str| format!("SET ROLE {NON_OWNER}; {sql}; RESET ROLE;");
    conn.batch_execute(&as_non_owner(upstream::TRIGGER))
        .await
        .expect("install as the non-owner");
    sign_up(&source, "before@example.com").await;
    assert_eq!(captured(&source).await, 1);

    conn.batch_execute(&as_non_owner(REMOVAL))
        .await
        .expect("the removal as the non-owner does not fail");

    assert_eq!(
        left(&source).await,
        [1, 1, 0, 0, 1],
        "the trigger and its function stay; the rest is gone"
    );
    sign_up(&source, "silenced@example.com").await;
    assert_eq!(captured(&source).await, 1, "the kept trigger sends nothing");

    conn.batch_execute(REMOVAL)
        .await
        .expect("the removal as the owner");
    assert_eq!(left(&source).await, [0, 0, 0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mirror_in_schema_supahook_of_the_supabase_database_lives_beside_the_trigger() {
    let source = upstream::supabase_db(true).await;
    configure_vault(&source).await;
    let options = Options {
        env: vec![("SUPAHOOK_DB_SCHEMA", "supahook".to_owned())],
        ..Options::default()
    };
    let app = support::start(&source.url, options).await;
    let id = sign_up(&source, "ada@example.com").await;
    let request = upstream::text(
        &source,
        "SELECT json_build_object('id', headers->>'webhook-id', 'ts', headers->>'webhook-timestamp',
                'sig', headers->>'webhook-signature', 'body', body)::text
         FROM net.captured_requests ORDER BY id DESC LIMIT 1",
    )
    .await;
    let request: serde_json::Value = serde_json::from_str(&request).unwrap();
    let header = |name: &str| request[name].as_str().unwrap().to_owned();

    let delivered = app
        .client
        .post("/hooks/auth-users")
        .header("content-type", "application/json")
        .header("webhook-id", header("id"))
        .header("webhook-timestamp", header("ts"))
        .header("webhook-signature", header("sig"))
        .body(header("body"))
        .send()
        .await;

    assert_eq!(outcome(&delivered), "created");
    let in_schema = |table: &str| format!("SELECT count(*) FROM supahook.{table}");
    assert_eq!(source.scalar(&in_schema("users")).await, 1);
    assert_eq!(source.scalar(&in_schema("user_versions")).await, 1);
    assert_eq!(
        source
            .scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .await,
        0,
        "nothing of supahook's in public"
    );

    let mut conn = upstream::connect(&source).await;
    conn.batch_execute(REMOVAL).await.expect("the removal");

    assert_eq!(left(&source).await, [0, 0, 0, 0, 1], "the schema stays");
    assert_eq!(
        source.scalar(&in_schema("users")).await,
        1,
        "the mirror stays"
    );
    let user = support::webhooks::user(&app, &id)
        .await
        .expect("the mirrored user");
    assert_eq!(user["email"], "ada@example.com");
    let refreshed = send(
        &app.client,
        "/hooks/before-user-created",
        &support::fixture("before-user-created.json"),
    )
    .await;
    assert_eq!(outcome(&refreshed), "created");
    assert_eq!(source.scalar(&in_schema("users")).await, 2);
}
