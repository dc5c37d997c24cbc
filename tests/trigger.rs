//! The signed auth.users trigger in deploy/supabase, run in a stand-in Supabase
//! database: what it sends verifies byte for byte and is mirrored.

mod support;
#[path = "support/upstream.rs"]
mod upstream;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::SimpleAsyncConnection;
use supahook::cli::reconcile::auth_users::AuthUsersSource;
use supahook::cli::reconcile::repair as reconcile;
use supahook::mirroring::Mirroring;
use supahook::signature::{SignedHeaders, SigningKey, Verifier};
use supahook::storage::Storage;
use support::{SECRET, TestApp, json, now, outcome};

const ID: &str = "6f0e2b1c-3d4a-4b5c-8d6e-7f8091a2b3c4";

#[derive(QueryableByName, Debug)]
struct Sent {
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Text)]
    headers: String,
    #[diesel(sql_type = Text)]
    body: String,
}

async fn sent(db: &support::TestDb) -> Vec<Sent> {
    let query = diesel::sql_query(
        "SELECT url, headers::text AS headers, body FROM net.captured_requests ORDER BY id",
    );
    diesel_async::RunQueryDsl::load(query, &mut *upstream::connect(db).await)
        .await
        .expect("read the captured requests")
}

/// Posts a captured request to the app as pg_net would; returns its outcome.
async fn forward(app: &TestApp, request: &Sent) -> String {
    let headers: serde_json::Value = serde_json::from_str(&request.headers).unwrap();
    let header = |name: &str| headers[name].as_str().unwrap_or_default().to_owned();
    let response = app
        .client
        .post("/hooks/auth-users")
        .header("content-type", header("Content-Type"))
        .header("webhook-id", header("webhook-id"))
        .header("webhook-timestamp", header("webhook-timestamp"))
        .header("webhook-signature", header("webhook-signature"))
        .body(request.body.clone())
        .send()
        .await;
    response.assert_status_is_ok();
    let outcome = outcome(&response);
    assert_eq!(json(response).await, serde_json::json!({}));
    outcome
}

/// Stores the secret and URL the trigger reads from Vault.
async fn configure_vault(source: &support::TestDb) {
    source
        .execute(&format!(
            "INSERT INTO vault.decrypted_secrets (name, decrypted_secret) VALUES
                 ('supahook_webhook_secret', '{SECRET}'),
                 ('supahook_webhook_url', 'http://127.0.0.1:8080/hooks/auth-users')"
        ))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_trigger_sends_verifies_and_is_mirrored() {
    let source = upstream::supabase_db(true).await;
    configure_vault(&source).await;
    source
        .execute(&format!(
            "INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password,
                 confirmation_token, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
             VALUES ('00000000-0000-0000-0000-000000000000', '{ID}', 'authenticated', '',
                 'zoe@example.com', '$2a$10$FAKEHASH', 'token-SECRET',
                 '{{\"provider\": \"email\", \"providers\": [\"email\"]}}',
                 '{{\"full_name\": \"Zoë Ångström\", \"bio\": \"<b>R&D</b>\"}}',
                 now(), now())"
        ))
        .await;
    source
        .execute(&format!(
            "UPDATE auth.users SET email_confirmed_at = now(), updated_at = now() + interval '1 second' WHERE id = '{ID}'"
        ))
        .await;
    source
        .execute(&format!("DELETE FROM auth.users WHERE id = '{ID}'"))
        .await;
    let requests = sent(&source).await;
    assert_eq!(requests.len(), 3);
    let app = TestApp::spawn().await;
    let verifier = Verifier::new(vec![SigningKey::parse(SECRET).unwrap()]);

    let mut outcomes = Vec::new();
    for request in &requests {
        assert_eq!(request.url, "http://127.0.0.1:8080/hooks/auth-users");
        assert!(!request.body.contains("$2a$10$") && !request.body.contains("token-SECRET"));
        let headers: serde_json::Value = serde_json::from_str(&request.headers).unwrap();
        let header = |name: &str| {
            headers[name]
                .as_str()
                .unwrap_or_else(|| panic!("{name} missing"))
                .to_owned()
        };
        let signed = SignedHeaders {
            id: Some(&header("webhook-id")),
            timestamp: Some(&header("webhook-timestamp")),
            signature: Some(&header("webhook-signature")),
        };
        verifier
            .verify(signed, request.body.as_bytes(), now())
            .expect("the trigger's signature verifies over the exact body");
        outcomes.push(forward(&app, request).await);
    }

    assert_eq!(outcomes, ["created", "updated", "deleted"]);
    let user = app.db.user(ID).await.expect("soft delete keeps the row");
    assert_eq!(user.user.email.as_deref(), Some("zoe@example.com"));
    assert_eq!(user.user.first_name.as_deref(), Some("Zoë"));
    assert_eq!(user.user.user_metadata["bio"], "<b>R&D</b>");
    let body = |n: usize| serde_json::from_str::<serde_json::Value>(&requests[n].body).unwrap();
    let time = |v: &serde_json::Value| {
        v.as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    assert_eq!(
        user.user.email_confirmed_at,
        Some(time(&body(1)["record"]["email_confirmed_at"]))
    );
    assert_eq!(
        user.user.deleted_at,
        Some(time(&body(2)["changed_at"])),
        "a DELETE is dated by the time of the change"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_vault_secret_the_trigger_sends_nothing_and_sign_ups_still_work() {
    let source = upstream::supabase_db(true).await;

    source
        .execute(&format!(
            "INSERT INTO auth.users (id, email, created_at, updated_at) VALUES ('{ID}', 'a@example.com', now(), now())"
        ))
        .await;

    assert_eq!(source.scalar("SELECT count(*) FROM auth.users").await, 1);
    assert!(sent(&source).await.is_empty());
}

/// Ada's sign-up as Supabase Auth writes it, with `updated_at` in the past.
async fn sign_up(source: &support::TestDb) {
    source
        .execute(&format!(
            "INSERT INTO auth.users (instance_id, id, aud, role, email, raw_app_meta_data,
                 raw_user_meta_data, created_at, updated_at)
             VALUES ('00000000-0000-0000-0000-000000000000', '{ID}', 'authenticated',
                 'authenticated', 'ada@example.com',
                 '{{\"provider\": \"email\", \"providers\": [\"email\"]}}',
                 '{{\"full_name\": \"Ada Lovelace\"}}',
                 '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')"
        ))
        .await;
}

/// A token refresh for Ada issued now, with the claims she signed up with.
async fn refresh_token(app: &TestApp) -> String {
    let mut body = support::fixture_json("custom-access-token.json");
    body["metadata"]["uuid"] = serde_json::json!(uuid::Uuid::new_v4());
    body["user_id"] = serde_json::json!(ID);
    body["claims"]["sub"] = serde_json::json!(ID);
    body["claims"]["email"] = serde_json::json!("ada@example.com");
    body["claims"]["user_metadata"] = serde_json::json!({ "full_name": "Ada Lovelace" });
    body["claims"]["iat"] = serde_json::json!(now());
    let response = app
        .deliver("/hooks/custom-access-token", body.to_string().as_bytes())
        .await;
    response.assert_status_is_ok();
    outcome(&response)
}

/// An admin's edit in SQL, which leaves `updated_at` alone.
async fn edit_email_in_sql(source: &support::TestDb) {
    source
        .execute(&format!(
            "UPDATE auth.users SET email = 'ada.king@example.com' WHERE id = '{ID}'"
        ))
        .await;
}

/// Ada signed up upstream (the trigger's INSERT delivered), then refreshed her token.
async fn signed_up_and_refreshed() -> (support::TestDb, TestApp) {
    let source = upstream::supabase_db(true).await;
    configure_vault(&source).await;
    let app = TestApp::spawn().await;
    sign_up(&source).await;
    forward(&app, &sent(&source).await[0]).await;
    refresh_token(&app).await;
    (source, app)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_changed_by_direct_sql_after_a_token_refresh_reaches_the_mirror() {
    let (source, app) = signed_up_and_refreshed().await;

    edit_email_in_sql(&source).await;
    let edit = &sent(&source).await[1];

    assert!(
        edit.body
            .contains("\"updated_at\": \"2026-01-01T00:00:00+00:00\""),
        "the edit left updated_at alone: {}",
        edit.body
    );
    assert_eq!(forward(&app, edit).await, "updated");
    let user = app.db.user(ID).await.unwrap().user;
    assert_eq!(user.email.as_deref(), Some("ada.king@example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_repairs_a_lost_trigger_event_after_a_token_refresh() {
    let (source, app) = signed_up_and_refreshed().await;
    edit_email_in_sql(&source).await; // pg_net never delivers this one

    let storage = Storage::open(&app.db.url, 4).unwrap();
    let mut reader = AuthUsersSource::connect(&source.url).await.unwrap();
    let summary = reconcile::run(&mut reader, &Mirroring::new(storage), OPTIONS, |_, _| {})
        .await
        .unwrap();

    assert_eq!((summary.read, summary.updated), (1, 1));
    let user = app.db.user(ID).await.unwrap().user;
    assert_eq!(user.email.as_deref(), Some("ada.king@example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn changed_since_finds_a_direct_sql_edit_by_the_triggers_time_of_change() {
    let (source, app) = signed_up_and_refreshed().await;
    edit_email_in_sql(&source).await; // updated_at stays at 2026-01-01
    let mirroring = Mirroring::new(Storage::open(&app.db.url, 4).unwrap());
    let mut reader = AuthUsersSource::connect(&source.url).await.unwrap();
    let since = |time| reconcile::Options {
        since: reconcile::Since::Time(time),
        ..OPTIONS
    };

    let after_the_edit = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let none = reconcile::run(&mut reader, &mirroring, since(after_the_edit), |_, _| {}).await;
    let before_the_edit = support::utc("2026-06-01 00:00:00");
    let edited = reconcile::run(&mut reader, &mirroring, since(before_the_edit), |_, _| {}).await;

    assert_eq!(none.unwrap().read, 0);
    let edited = edited.unwrap();
    assert_eq!((edited.read, edited.updated), (1, 1));
    let user = app.db.user(ID).await.unwrap().user;
    assert_eq!(user.email.as_deref(), Some("ada.king@example.com"));
}

const OPTIONS: reconcile::Options = reconcile::Options {
    dry_run: false,
    prune: false,
    prune_grace: std::time::Duration::ZERO,
    concurrency: 1,
    since: reconcile::Since::Everything,
};

/// A role like `postgres` on Supabase: ALL privileges on `auth.users`, not its owner.
const NON_OWNER: &str = "supahook_test_migrator";

#[tokio::test(flavor = "multi_thread")]
async fn the_migration_applies_twice_as_a_role_with_all_privileges_that_does_not_own_auth_users() {
    let source = upstream::supabase_db(false).await;
    configure_vault(&source).await;
    upstream::role_that_does_not_own_auth_users(&source, NON_OWNER).await;
    let mut conn = upstream::connect(&source).await;
    let as_non_owner = |sql: &str| format!("SET ROLE {NON_OWNER}; {sql}; RESET ROLE;");

    let cannot_alter = conn
        .batch_execute(&as_non_owner("ALTER TABLE auth.users ADD COLUMN x int"))
        .await;
    conn.batch_execute("RESET ROLE").await.unwrap();
    let first = conn.batch_execute(&as_non_owner(upstream::TRIGGER)).await;
    let second = conn.batch_execute(&as_non_owner(upstream::TRIGGER)).await;

    let error = cannot_alter.expect_err("the role must not own auth.users");
    assert!(error.to_string().contains("must be owner"), "{error}");
    first.expect("the first apply");
    second.expect("the second apply");
    sign_up(&source).await;
    let requests = sent(&source).await;
    assert_eq!(requests.len(), 1, "one trigger, one request");
    let app = TestApp::spawn().await;
    assert_eq!(forward(&app, &requests[0]).await, "created");
}
