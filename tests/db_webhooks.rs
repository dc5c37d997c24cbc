//! Database Webhooks on auth.users: updates, soft and hard deletes, bearer-token
//! deliveries and the sensitive columns that must never be kept.

mod support;

use serde_json::{Value, json};
use supahook::mirror::DeleteMode;
use support::webhooks::{PATH, deliver, user};
use support::{Options, TestApp, fixture, fixture_json, json, outcome};

const ADA: &str = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";
const WEBHOOK_TOKEN: &str = "db-webhook-token-0123456789";

#[tokio::test(flavor = "multi_thread")]
async fn every_db_fixture_is_accepted_and_mirrored() {
    let app = TestApp::spawn().await;

    let insert = app
        .deliver(PATH, &fixture("db-insert-auth-users.json"))
        .await;
    insert.assert_status_is_ok();
    assert_eq!(outcome(&insert), "created");
    assert_eq!(json(insert).await, json!({}));
    assert_eq!(
        user(&app, ADA).await.unwrap()["email_confirmed_at"],
        Value::Null
    );

    let update = app
        .deliver(PATH, &fixture("db-update-auth-users.json"))
        .await;
    assert_eq!(outcome(&update), "updated");
    let confirmed = user(&app, ADA).await.unwrap();
    assert_eq!(
        confirmed["email_confirmed_at"],
        "2026-01-15T09:41:05.660127+00:00"
    );

    let soft = app
        .deliver(PATH, &fixture("db-update-auth-users-soft-delete.json"))
        .await;
    assert_eq!(outcome(&soft), "deleted");
    let deleted = user(&app, ADA).await.unwrap();
    assert_eq!(deleted["deleted_at"], "2026-02-01T08:00:00.412237+00:00");
    assert_eq!(
        deleted["email"], "ada.lovelace@example.com",
        "the real email survives the soft delete"
    );

    let delete = app
        .deliver(PATH, &fixture("db-delete-auth-users.json"))
        .await;
    delete.assert_status_is_ok();
    assert_eq!(outcome(&delete), "unchanged", "already deleted");
    assert_eq!(app.db.counts().await, [1, 1, 4]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_soft_delete_keeps_the_real_email_and_later_updates_do_not_touch_it() {
    let app = TestApp::spawn().await;
    deliver(&app, &fixture_json("db-insert-auth-users.json")).await;
    deliver(&app, &fixture_json("db-update-auth-users-soft-delete.json")).await;
    // Supabase then empties the metadata in further UPDATEs.
    let mut emptied = fixture_json("db-update-auth-users-soft-delete.json");
    emptied["record"]["raw_user_meta_data"] = json!({});
    emptied["record"]["updated_at"] = json!("2026-02-01T08:00:01.000000+00:00");

    let later = deliver(&app, &emptied).await;

    assert_eq!(later, "unchanged");
    let mirrored = user(&app, ADA).await.unwrap();
    assert_eq!(mirrored["email"], "ada.lovelace@example.com");
    assert_eq!(mirrored["first_name"], "Ada");
    assert!(mirrored["deleted_at"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_soft_delete_mode_delete_keeps_the_row_and_a_stale_update_does_not_resurrect() {
    let app = TestApp::spawn().await;
    deliver(&app, &fixture_json("db-insert-auth-users.json")).await;

    assert_eq!(
        deliver(&app, &fixture_json("db-delete-auth-users.json")).await,
        "deleted"
    );
    let late = deliver(&app, &fixture_json("db-update-auth-users.json")).await;

    assert_eq!(late, "stale");
    let mirrored = user(&app, ADA)
        .await
        .expect("the row is kept for foreign keys");
    assert!(mirrored["deleted_at"].is_string());
    assert_eq!(mirrored["email"], "ada.lovelace@example.com");
    assert_eq!(mirrored["profile"]["display_name"], "Ada Lovelace");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hard_delete_removes_the_user_and_profile_and_nothing_older_brings_it_back() {
    let app = TestApp::spawn_with(Options {
        on_delete: DeleteMode::Hard,
        ..Default::default()
    })
    .await;
    deliver(&app, &fixture_json("db-insert-auth-users.json")).await;

    assert_eq!(
        deliver(&app, &fixture_json("db-delete-auth-users.json")).await,
        "deleted"
    );
    assert_eq!(user(&app, ADA).await, None);
    assert_eq!(app.db.counts().await[..2], [0, 0]);

    let late = deliver(&app, &fixture_json("db-update-auth-users.json")).await;
    assert_eq!(late, "stale");
    assert_eq!(user(&app, ADA).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn password_hashes_and_tokens_are_never_stored() {
    let app = TestApp::spawn().await;
    let mut insert = fixture_json("db-insert-auth-users.json");
    for column in [
        "confirmation_token",
        "recovery_token",
        "phone_change_token",
        "reauthentication_token",
    ] {
        insert["record"][column] = json!(format!("{column}-SECRET-VALUE"));
    }

    deliver(&app, &insert).await;

    let mirrored = user(&app, ADA).await.unwrap().to_string();
    assert!(!mirrored.contains("$2a$"), "{mirrored}");
    assert!(!mirrored.contains("SECRET-VALUE"), "{mirrored}");
    assert!(!mirrored.contains("encrypted_password"), "{mirrored}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bearer_token_delivery_is_accepted_and_a_wrong_token_is_401() {
    let app = TestApp::spawn_with(Options {
        db_webhook_token: Some(WEBHOOK_TOKEN.into()),
        ..Default::default()
    })
    .await;
    let send = |token: &'static str| {
        app.client
            .post(PATH)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(fixture("db-insert-auth-users.json"))
            .send()
    };

    let wrong = send("not-the-db-webhook-token").await;
    assert_eq!(wrong.0.status().as_u16(), 401);
    assert_eq!(json(wrong).await["error"]["code"], "invalid_signature");
    assert_eq!(app.db.counts().await, [0, 0, 0]);

    let right = send(WEBHOOK_TOKEN).await;
    right.assert_status_is_ok();
    assert_eq!(outcome(&right), "created");
    let again = send(WEBHOOK_TOKEN).await;
    assert_eq!(
        outcome(&again),
        "duplicate",
        "keyed by the body when there is no webhook-id"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_without_signature_or_token_is_401() {
    let app = TestApp::spawn_with(Options {
        db_webhook_token: Some(WEBHOOK_TOKEN.into()),
        ..Default::default()
    })
    .await;

    let response = app
        .client
        .post(PATH)
        .header("content-type", "application/json")
        .body(fixture("db-insert-auth-users.json"))
        .send()
        .await;

    assert_eq!(response.0.status().as_u16(), 401);
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

/// Delivers `body` and checks it is refused with a 422 whose message holds `named`,
/// and that nothing was written.
async fn assert_refused(app: &TestApp, body: &Value, named: &str) {
    let response = app.deliver(PATH, body.to_string().as_bytes()).await;

    assert_eq!(response.0.status().as_u16(), 422);
    let body = json(response).await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(named), "{body}");
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_to_another_table_is_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let mut other = fixture_json("db-insert-auth-users.json");
    other["schema"] = json!("public");
    other["table"] = json!("profiles");

    assert_refused(&app, &other, "auth.users").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_insert_without_a_record_is_422_naming_it() {
    let app = TestApp::spawn().await;
    let mut empty = fixture_json("db-insert-auth-users.json");
    empty["record"] = Value::Null;

    assert_refused(&app, &empty, "record").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_whose_old_record_is_another_user_is_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let mut mixed = fixture_json("db-update-auth-users-soft-delete.json");
    mixed["old_record"]["id"] = json!("0b8e8f4e-5d8c-4c52-9d5e-2f7f3c1a6b90");

    assert_refused(&app, &mixed, "old_record.id").await;
}
