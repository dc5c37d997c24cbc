//! `SUPAHOOK_DB_SCHEMA` on a database whose `public.users` is the application's own:
//! with the setting, supahook's tables live in their schema and the app's table is
//! untouched; without it, the start stops with advice instead of a failed migration.

#[path = "support/process.rs"]
mod process;
mod support;
#[path = "support/upstream.rs"]
mod upstream;

use process::{WorkDir, free_port, run, stderr};
use supahook::storage::TABLES;
use support::{Options, TestDb, fixture, outcome, send};

/// The application's own `users`, of another shape, with one row.
async fn database_with_an_apps_users_table() -> TestDb {
    let db = TestDb::create_postgres().await;
    db.execute(
        "CREATE TABLE users (id bigserial PRIMARY KEY, handle text NOT NULL UNIQUE, \
         joined timestamptz NOT NULL DEFAULT now())",
    )
    .await;
    db.execute("INSERT INTO users (handle) VALUES ('app-owned')")
        .await;
    db
}

/// The application's `public.users`: its columns and rows, as one text.
async fn apps_table(db: &TestDb) -> String {
    upstream::text(
        db,
        "SELECT (SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
                 FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = 'users')
             || ' | ' || (SELECT string_agg(id || ':' || handle, ', ') FROM public.users)",
    )
    .await
}

/// The tables in `schema`, sorted.
async fn tables_in(db: &TestDb, schema: &str) -> String {
    upstream::text(
        db,
        &format!(
            "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables \
             WHERE schemaname = '{schema}'"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn in_a_schema_of_its_own_supahook_mirrors_beside_the_apps_users_table() {
    let db = database_with_an_apps_users_table().await;
    let before = apps_table(&db).await;
    let options = Options {
        env: vec![("SUPAHOOK_DB_SCHEMA", "supahook".to_owned())],
        ..Options::default()
    };

    let app = support::start(&db.url, options).await;
    let signed_up = send(
        &app.client,
        "/hooks/before-user-created",
        &fixture("before-user-created.json"),
    )
    .await;
    let token = send(
        &app.client,
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    )
    .await;

    signed_up.assert_status_is_ok();
    assert_eq!(outcome(&signed_up), "created");
    token.assert_status_is_ok();
    assert_eq!(db.scalar("SELECT count(*) FROM supahook.users").await, 1);
    assert_eq!(db.scalar("SELECT count(*) FROM supahook.profiles").await, 1);
    assert_eq!(
        apps_table(&db).await,
        before,
        "the app's table is untouched"
    );
    assert_eq!(tables_in(&db, "public").await, "users");
    let mut expected: Vec<&str> = TABLES.to_vec();
    expected.push("__diesel_schema_migrations");
    expected.sort_unstable();
    assert_eq!(
        tables_in(&db, "supahook").await,
        expected.join(","),
        "supahook's tables are the ones the README lists (storage::TABLES)"
    );
    let user = support::webhooks::user(&app, "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14")
        .await
        .expect("the mirrored user, read through the API");
    assert_eq!(user["email"], "ada.lovelace@example.com");

    // The README's advice: the app's tables reference the mirror, or read a view.
    db.execute(
        "CREATE TABLE orders (id bigserial PRIMARY KEY, \
         user_id uuid NOT NULL REFERENCES supahook.users (id) ON DELETE CASCADE)",
    )
    .await;
    db.execute("INSERT INTO orders (user_id) VALUES ('3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14')")
        .await;
    db.execute("CREATE VIEW mirrored_users AS SELECT id, email FROM supahook.users")
        .await;
    assert_eq!(db.scalar("SELECT count(*) FROM mirrored_users").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_setting_serve_and_migrate_stop_with_advice_and_change_nothing() {
    let db = database_with_an_apps_users_table().await;
    let before = apps_table(&db).await;
    let dir = WorkDir::new("db-schema-advice");
    let addr = format!("127.0.0.1:{}", free_port());
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("SUPAHOOK_LISTEN_ADDR", addr.as_str()),
        ("SUPAHOOK_HOOK_SECRETS", support::SECRET),
    ];

    let migrated = run(dir.path(), &env, &["migrate"]);
    let served = run(dir.path(), &env, &["serve"]);

    for (output, command) in [(&migrated, "migrate"), (&served, "serve")] {
        assert!(!output.status.success(), "{command} went ahead");
        let message = stderr(output);
        for advice in [
            "the schema \"public\" already holds users",
            "SUPAHOOK_DB_SCHEMA=supahook",
            "supahook.users(id)",
            "CREATE VIEW",
        ] {
            assert!(
                message.contains(advice),
                "{command}: no `{advice}` in\n{message}"
            );
        }
        assert!(!message.contains("already exists"), "{command}: {message}");
    }
    assert_eq!(apps_table(&db).await, before);
    assert_eq!(
        tables_in(&db, "public").await,
        "users",
        "nothing was created"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_revert_and_apply_again_inside_the_schema() {
    let db = database_with_an_apps_users_table().await;
    let dir = WorkDir::new("db-schema-revert");
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("SUPAHOOK_DB_SCHEMA", "mirror"),
    ];

    let migrated = run(dir.path(), &env, &["migrate"]);
    let reverted = run(dir.path(), &env, &["migrate", "--to", "0"]);
    let after_revert = tables_in(&db, "mirror").await;
    let again = run(dir.path(), &env, &["migrate"]);

    for output in [&migrated, &reverted, &again] {
        assert!(output.status.success(), "{}", stderr(output));
    }
    assert_eq!(after_revert, "__diesel_schema_migrations");
    assert_eq!(
        tables_in(&db, "mirror").await.split(',').count(),
        TABLES.len() + 1
    );
    assert_eq!(tables_in(&db, "public").await, "users");
}
