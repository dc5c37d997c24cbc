//! Provisional users: before-user-created runs before a sign-up transaction that can
//! still roll back, so a user seen only there is provisional until another source
//! confirms it, left out of the listing, and removed once its grace period is over.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{ADMIN_TOKEN, Options, TestApp, fixture_json, json, listed_ids, outcome};
use uuid::Uuid;

/// before-user-created for a new email sign-up with this id and email.
fn sign_up(id: Uuid, email: &str) -> Value {
    let mut body = fixture_json("before-user-created.json");
    body["metadata"]["uuid"] = json!(Uuid::new_v4());
    body["user"]["id"] = json!(id);
    body["user"]["email"] = json!(email);
    body
}

/// custom-access-token for the first sign-in of this user.
fn first_token(id: Uuid, email: &str) -> Value {
    let mut body = fixture_json("custom-access-token.json");
    body["metadata"]["uuid"] = json!(Uuid::new_v4());
    body["user_id"] = json!(id);
    body["claims"]["sub"] = json!(id);
    body["claims"]["email"] = json!(email);
    body
}

async fn deliver(app: &TestApp, path: &str, body: &Value) -> String {
    let response = app.deliver(path, body.to_string().as_bytes()).await;
    response.assert_status_is_ok();
    outcome(&response)
}

async fn get(app: &TestApp, path: &str) -> Value {
    let response = app
        .client
        .get(path)
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await;
    response.assert_status_is_ok();
    json(response).await
}

/// The ids `GET /v1/users` lists with this email, with `?provisional=true` when asked.
async fn listed(app: &TestApp, email: &str, provisional: bool) -> Vec<String> {
    let query = if provisional { "&provisional=true" } else { "" };
    listed_ids(&get(app, &format!("/v1/users?email={email}{query}")).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_up_never_confirmed_is_left_out_kept_for_its_grace_period_then_removed() {
    let grace = Duration::from_secs(3);
    let app = TestApp::spawn_with(Options {
        env: vec![(
            "SUPAHOOK_PROVISIONAL_GRACE_SECONDS",
            grace.as_secs().to_string(),
        )],
        ..Options::default()
    })
    .await;
    let id = Uuid::new_v4();
    let email = "rolled.back@example.com";
    let signed_up = Instant::now();

    assert_eq!(
        deliver(&app, "/hooks/before-user-created", &sign_up(id, email)).await,
        "created"
    );

    let user = get(&app, &format!("/v1/users/{id}")).await;
    assert_eq!(user["provisional"], true);
    assert_eq!(listed(&app, email, false).await, Vec::<String>::new());
    assert_eq!(listed(&app, email, true).await, [id.to_string()]);
    tokio::time::sleep(grace / 2).await;
    assert!(
        app.db.user(&id.to_string()).await.is_some(),
        "kept within its grace"
    );
    let removed = loop {
        if app.db.user(&id.to_string()).await.is_none() {
            break signed_up.elapsed();
        }
        assert!(
            signed_up.elapsed() < grace * 4,
            "still there after {:?}",
            signed_up.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        removed >= grace,
        "removed after {removed:?}, within its grace"
    );
    assert_eq!(
        app.db.counts().await[..2],
        [0, 0],
        "the row and its profile"
    );
    let ledger = app.db.scalar("SELECT count(*) FROM webhook_events").await;
    assert_eq!(ledger, 1, "a retry of the sign-up is still a duplicate");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_sign_up_leaves_one_listed_user_the_one_whose_token_came() {
    let app = TestApp::spawn().await;
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let email = "retry@example.com";

    deliver(&app, "/hooks/before-user-created", &sign_up(first, email)).await;
    deliver(&app, "/hooks/before-user-created", &sign_up(second, email)).await;
    let confirmed = deliver(
        &app,
        "/hooks/custom-access-token",
        &first_token(second, email),
    )
    .await;

    assert_eq!(
        confirmed, "updated",
        "the first token confirms the user in its own write"
    );
    assert_eq!(listed(&app, email, false).await, [second.to_string()]);
    let user = get(&app, &format!("/v1/users/{second}")).await;
    assert_eq!(user["provisional"], false);
    let mut both = listed(&app, email, true).await;
    both.sort();
    let mut expected = [first.to_string(), second.to_string()];
    expected.sort();
    assert_eq!(
        both, expected,
        "the rolled-back attempt waits for its grace period"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmation_that_arrives_before_the_sign_up_leaves_the_user_confirmed() {
    let app = TestApp::spawn().await;
    let id = Uuid::new_v4();
    let email = "early.token@example.com";

    deliver(&app, "/hooks/custom-access-token", &first_token(id, email)).await;
    deliver(&app, "/hooks/before-user-created", &sign_up(id, email)).await;

    assert_eq!(listed(&app, email, false).await, [id.to_string()]);
    let user = get(&app, &format!("/v1/users/{id}")).await;
    assert_eq!(user["provisional"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_up_confirmed_by_the_trigger_is_listed() {
    let app = TestApp::spawn().await;
    let mut insert = fixture_json("db-insert-auth-users.json");
    let id = insert["record"]["id"]
        .as_str()
        .unwrap()
        .parse::<Uuid>()
        .unwrap();
    let email = insert["record"]["email"].as_str().unwrap().to_owned();
    insert["changed_at"] = json!("2026-01-15T09:30:12.2Z");

    deliver(&app, "/hooks/before-user-created", &sign_up(id, &email)).await;
    deliver(&app, "/hooks/auth-users", &insert).await;

    assert_eq!(listed(&app, &email, false).await, [id.to_string()]);
}
