//! What Supabase knows of a user beyond its identity, mirrored whatever the order:
//! bans, an invited user's blanked metadata, and emails the sign-up policy refuses
//! that reach the mirror by a path that never asks before-user-created.

mod support;

use serde_json::{Value, json};
use support::{Options, TestApp, fixture_json, outcome};

const ADA: &str = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";

async fn deliver(app: &TestApp, path: &str, body: &Value) -> String {
    let response = app.deliver(path, body.to_string().as_bytes()).await;
    response.assert_status_is_ok();
    outcome(&response)
}

async fn ada(app: &TestApp) -> Value {
    support::webhooks::user(app, ADA)
        .await
        .expect("Ada is mirrored")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ban_arriving_before_an_older_update_stays() {
    let app = TestApp::spawn().await;
    let ban = fixture_json("db-update-auth-users-ban.json");
    let mut older = fixture_json("db-update-auth-users.json");
    older["record"]["updated_at"] = json!("2026-01-15T12:00:00+00:00");

    assert_eq!(deliver(&app, "/hooks/auth-users", &ban).await, "created");
    assert_eq!(deliver(&app, "/hooks/auth-users", &older).await, "stale");

    let user = ada(&app).await;
    assert_eq!(user["banned_until"], "2126-01-15T10:00:00+00:00");
    assert_eq!(user["is_sso_user"], false);
    assert_eq!(user["provisional"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unban_newer_than_the_ban_lifts_it_in_either_order() {
    let ban = fixture_json("db-update-auth-users-ban.json");
    let mut unban = ban.clone();
    unban["old_record"] = ban["record"].clone();
    unban["record"]["banned_until"] = Value::Null;
    unban["record"]["updated_at"] = json!("2026-01-17T08:00:00+00:00");

    for order in [[&ban, &unban], [&unban, &ban]] {
        let app = TestApp::spawn().await;
        for body in order {
            deliver(&app, "/hooks/auth-users", body).await;
        }
        assert_eq!(ada(&app).await["banned_until"], Value::Null);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invited_users_names_survive_its_after_user_created_in_either_order() {
    let invited = fixture_json("after-user-created-invited.json");
    let id = invited["user"]["id"].as_str().unwrap().to_owned();
    let mut insert = fixture_json("db-insert-auth-users.json");
    insert["record"]["id"] = json!(id);
    insert["record"]["email"] = invited["user"]["email"].clone();
    insert["record"]["invited_at"] = invited["user"]["invited_at"].clone();
    insert["record"]["raw_user_meta_data"] = json!({ "full_name": "Grace Hopper" });
    insert["record"]["created_at"] = invited["user"]["created_at"].clone();
    insert["record"]["updated_at"] = invited["user"]["created_at"].clone();

    for order in [[&insert, &invited], [&invited, &insert]] {
        let app = TestApp::spawn().await;
        for body in order {
            let path = match body.get("type") {
                Some(_) => "/hooks/auth-users",
                None => "/hooks/after-user-created",
            };
            deliver(&app, path, body).await;
        }
        let grace = app.db.user(&id).await.expect("mirrored").user;
        assert_eq!(grace.first_name.as_deref(), Some("Grace"));
        assert_eq!(grace.last_name.as_deref(), Some("Hopper"));
        assert_eq!(grace.user_metadata, json!({ "full_name": "Grace Hopper" }));
        assert!(!grace.provisional);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_email_arriving_by_the_trigger_is_flagged_and_kept() {
    let app = TestApp::spawn_with(Options {
        blocked_email_domains: vec!["example.com".into()],
        ..Options::default()
    })
    .await;
    let mut insert = fixture_json("db-insert-auth-users.json");
    insert["changed_at"] = json!("2026-01-15T09:30:12.2Z");
    let mut renamed = fixture_json("db-update-auth-users.json");
    renamed["record"]["email"] = json!("ada@analytical.test");
    renamed["changed_at"] = json!("2026-01-16T08:00:00Z");

    assert_eq!(deliver(&app, "/hooks/auth-users", &insert).await, "created");
    let flagged = ada(&app).await;
    let metrics = app.client.get("/metrics").send().await;
    let metrics = metrics.0.into_body().into_string().await.unwrap();
    deliver(&app, "/hooks/auth-users", &renamed).await;

    assert_eq!(flagged["policy_violation"], true);
    assert_eq!(flagged["deleted_at"], Value::Null, "flagged, not deleted");
    assert!(
        metrics.contains(r#"supahook_policy_violations_total{hook="auth-users"} 1"#),
        "{metrics}"
    );
    assert_eq!(
        ada(&app).await["policy_violation"],
        false,
        "an allowed email clears it"
    );
}
