//! The signed auth.users trigger in deploy/supabase, run in a stand-in Supabase
//! database: what it sends verifies byte for byte and is mirrored.

mod support;
#[path = "support/upstream.rs"]
mod upstream;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use supahook::signature::{SignedHeaders, SigningKey, Verifier};
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

#[tokio::test(flavor = "multi_thread")]
async fn what_the_trigger_sends_verifies_and_is_mirrored() {
    let source = upstream::supabase_db(true).await;
    source
        .execute(&format!(
            "INSERT INTO vault.decrypted_secrets (name, decrypted_secret) VALUES
                 ('supahook_webhook_secret', '{SECRET}'),
                 ('supahook_webhook_url', 'http://127.0.0.1:8080/hooks/auth-users')"
        ))
        .await;
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
        outcomes.push(outcome(&response));
        assert_eq!(json(response).await, serde_json::json!({}));
    }

    assert_eq!(outcomes, ["created", "updated", "deleted"]);
    let user = app.db.user(ID).await.expect("soft delete keeps the row");
    assert_eq!(user.user.email.as_deref(), Some("zoe@example.com"));
    assert_eq!(user.user.first_name.as_deref(), Some("Zoë"));
    assert_eq!(user.user.user_metadata["bio"], "<b>R&D</b>");
    assert!(user.user.email_confirmed_at.is_some());
    assert!(user.user.deleted_at.is_some());
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
