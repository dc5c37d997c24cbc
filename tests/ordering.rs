//! Ordering under concurrency: shuffled, overtaking and racing Database Webhooks
//! and tokens converge on the newest state and never revive a deleted user.

mod support;

use serde_json::{Value, json};
use supahook::mirror::DeleteMode;
use support::webhooks::{change, deliver, user};
use support::{Options, TestApp, fixture, fixture_json, outcome};

const ADA: &str = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";

#[tokio::test(flavor = "multi_thread")]
async fn shuffled_inserts_and_updates_for_many_users_converge_on_the_newest_state() {
    let app = TestApp::spawn().await;
    let ids: Vec<String> = (0..20)
        .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
        .collect();
    let mut events: Vec<Value> = Vec::new();
    for id in &ids {
        events.push(change("INSERT", id, 0, &format!("v0-{id}@example.com")));
        for version in 1..=5 {
            events.push(change(
                "UPDATE",
                id,
                version * 7,
                &format!("v{version}-{id}@example.com"),
            ));
        }
    }
    // A fixed pseudo-random order, so a failure can be replayed.
    let mut seed: u64 = 0x5eed;
    for i in (1..events.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        events.swap(i, (seed >> 33) as usize % (i + 1));
    }

    for chunk in events.chunks(8) {
        futures_util::future::join_all(chunk.iter().map(|e| deliver(&app, e))).await;
    }

    for id in &ids {
        let mirrored = user(&app, id).await.unwrap();
        assert_eq!(mirrored["email"], format!("v5-{id}@example.com"));
        assert_eq!(
            mirrored["source_updated_at"],
            "2026-03-01T10:00:35.000001+00:00"
        );
    }
    assert_eq!(app.db.counts().await, [20, 20, 120]);
}

/// Delivers Ada's DELETE, then her (older) INSERT; returns both outcomes.
async fn delete_then_insert(app: &TestApp) -> [String; 2] {
    [
        deliver(app, &fixture_json("db-delete-auth-users.json")).await,
        deliver(app, &fixture_json("db-insert-auth-users.json")).await,
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_that_overtakes_the_insert_leaves_the_user_marked_deleted_with_its_last_values() {
    let app = TestApp::spawn().await;

    assert_eq!(delete_then_insert(&app).await, ["deleted", "stale"]);

    let mirrored = user(&app, ADA).await.expect("a row marked deleted");
    assert!(mirrored["deleted_at"].is_string(), "{mirrored}");
    assert_eq!(mirrored["email"], "ada.lovelace@example.com");
    assert_eq!(mirrored["first_name"], "Ada");
    assert_eq!(
        mirrored["source_updated_at"], "2026-01-15T11:15:00.198012+00:00",
        "the delete's old_record is the newest snapshot"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_that_overtakes_the_insert_leaves_no_user_in_hard_mode() {
    let app = TestApp::spawn_with(Options {
        on_delete: DeleteMode::Hard,
        ..Options::default()
    })
    .await;

    assert_eq!(delete_then_insert(&app).await, ["deleted", "stale"]);

    assert_eq!(user(&app, ADA).await, None);
    assert_eq!(app.db.counts().await, [0, 0, 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_row_change_still_confirms_the_email_after_a_newer_token() {
    let app = TestApp::spawn().await;
    deliver(&app, &fixture_json("db-insert-auth-users.json")).await;
    // The token (iat 11:15) overtakes the row change that confirmed the email at 09:41.
    let token = app
        .deliver(
            "/hooks/custom-access-token",
            &fixture("custom-access-token.json"),
        )
        .await;
    assert_eq!(outcome(&token), "updated");

    let late = deliver(&app, &fixture_json("db-update-auth-users.json")).await;

    assert_eq!(late, "updated");
    let mirrored = user(&app, ADA).await.unwrap();
    assert_eq!(
        mirrored["email_confirmed_at"],
        "2026-01-15T09:41:05.660127+00:00"
    );
    assert_eq!(
        mirrored["user_metadata"]["email_verified"], true,
        "the newer token's identity is kept"
    );
    assert_eq!(mirrored["source_updated_at"], "2026-01-15T11:15:00+00:00");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_racing_the_first_insert_never_leaves_a_live_user() {
    let app = TestApp::spawn().await;
    let ids: Vec<String> = (0..40)
        .map(|n| format!("00000000-0000-4000-9000-{n:012}"))
        .collect();
    let mut events = Vec::new();
    for id in &ids {
        events.push(change("INSERT", id, 0, &format!("{id}@example.com")));
        let mut delete = fixture_json("db-delete-auth-users.json");
        delete["old_record"]["id"] = json!(id);
        events.push(delete);
    }

    futures_util::future::join_all(events.iter().map(|e| deliver(&app, e))).await;

    for id in &ids {
        if let Some(mirrored) = user(&app, id).await {
            assert!(
                mirrored["deleted_at"].is_string(),
                "{id} is live after its delete"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_soft_delete_that_arrives_first_keeps_the_real_email_and_names() {
    let app = TestApp::spawn().await;

    let outcomes = [
        deliver(&app, &fixture_json("db-update-auth-users-soft-delete.json")).await,
        deliver(&app, &fixture_json("db-insert-auth-users.json")).await,
        deliver(&app, &fixture_json("db-update-auth-users.json")).await,
    ];

    assert_eq!(outcomes, ["deleted", "stale", "stale"]);
    let mirrored = user(&app, ADA).await.unwrap();
    assert_eq!(mirrored["email"], "ada.lovelace@example.com");
    assert_eq!(
        (&mirrored["first_name"], &mirrored["last_name"]),
        (&json!("Ada"), &json!("Lovelace"))
    );
    assert_eq!(mirrored["deleted_at"], "2026-02-01T08:00:00.412237+00:00");
    assert_eq!(
        mirrored["email_confirmed_at"],
        "2026-01-15T09:41:05.660127+00:00"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_between_updates_ends_with_the_newest_email_and_name() {
    let app = TestApp::spawn().await;
    let mut delete = fixture_json("db-delete-auth-users.json");
    delete["old_record"]["email"] = json!("ada.king@example.com");
    delete["old_record"]["raw_user_meta_data"] = json!({ "full_name": "Augusta Ada King" });
    let mut middle = change("UPDATE", ADA, 0, "ada.middle@example.com");
    middle["record"]["updated_at"] = json!("2026-01-15T10:00:00+00:00");

    let outcomes = [
        deliver(&app, &fixture_json("db-insert-auth-users.json")).await,
        deliver(&app, &delete).await,
        deliver(&app, &middle).await,
    ];

    assert_eq!(outcomes, ["created", "deleted", "stale"]);
    let mirrored = user(&app, ADA).await.unwrap();
    assert_eq!(mirrored["email"], "ada.king@example.com");
    assert_eq!(mirrored["first_name"], "Augusta");
    assert!(mirrored["deleted_at"].is_string());
}
