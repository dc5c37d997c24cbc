//! The read and edit API: user listings page by page, profile edits, the delivery
//! ledger, and the profile claim that edits put into the next access token.

mod support;

use poem::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use support::tokens::{JWT_SECRET, claims, hs256};
use support::{ADMIN_TOKEN, Options, TestApp, fixture, fixture_json, json, listed_ids as ids};
use uuid::Uuid;

const ADA: &str = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";

async fn get(app: &TestApp, path: &str) -> poem::test::TestResponse {
    app.client
        .get(path)
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await
}

async fn patch(app: &TestApp, id: &str, body: Value) -> poem::test::TestResponse {
    app.client
        .patch(format!("/v1/users/{id}/profile"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body_json(&body)
        .send()
        .await
}

/// Mirrors a new user through the sync endpoint; returns its id.
async fn add_user(app: &TestApp, email: &str) -> String {
    let id = Uuid::new_v4().to_string();
    app.client
        .post("/api/auth/users/sync")
        .header(
            "authorization",
            format!("Bearer {}", hs256(&claims(&id, email), JWT_SECRET)),
        )
        .send()
        .await
        .assert_status_is_ok();
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_returns_every_user_exactly_once_while_users_are_added() {
    let app = TestApp::spawn().await;
    let mut existing = Vec::new();
    for n in 0..25 {
        existing.push(add_user(&app, &format!("user{n}@example.com")).await);
    }

    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/users?limit=7&cursor={c}"),
            None => "/v1/users?limit=7".to_owned(),
        };
        let page = json(get(&app, &path).await).await;
        for id in ids(&page) {
            *seen.entry(id).or_default() += 1;
        }
        pages += 1;
        // New users arrive while the client pages.
        for n in 0..3 {
            add_user(&app, &format!("late{pages}-{n}@example.com")).await;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }

    for id in &existing {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "user {id} was not listed exactly once"
        );
    }
    assert!(seen.values().all(|&n| n == 1), "a user was listed twice");
    assert!(pages >= 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn listings_filter_by_email_deleted_and_update_time() {
    let app = TestApp::spawn().await;
    let grace = add_user(&app, "Grace@Example.com").await;
    let alan = add_user(&app, "alan@example.com").await;
    app.db
        .execute(&format!(
            "UPDATE users SET deleted_at = updated_at WHERE id = '{alan}'"
        ))
        .await;
    let later = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();

    let by_email = json(get(&app, "/v1/users?email=grace%40example.COM").await).await;
    let deleted = json(get(&app, "/v1/users?deleted=true").await).await;
    let live = json(get(&app, "/v1/users?deleted=false").await).await;
    let none_since = json(
        get(
            &app,
            &format!("/v1/users?updated_since={}", later.replace('+', "%2B")),
        )
        .await,
    )
    .await;

    assert_eq!(ids(&by_email), std::slice::from_ref(&grace));
    assert_eq!(ids(&deleted), [alan]);
    assert_eq!(ids(&live), [grace]);
    assert!(ids(&none_since).is_empty());
    assert!(by_email["next_cursor"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_parameters_are_400_naming_the_parameter() {
    let app = TestApp::spawn().await;

    for (path, name) in [
        ("/v1/users?limit=501", "limit"),
        ("/v1/users?limit=0", "limit"),
        ("/v1/users?limit=ten", "limit"),
        ("/v1/users?cursor=not-a-cursor", "cursor"),
        ("/v1/users?deleted=maybe", "deleted"),
        ("/v1/users?updated_since=yesterday", "updated_since"),
        ("/v1/events?outcome=exploded", "outcome"),
        ("/v1/events?hook=send-email", "hook"),
        ("/v1/events?cursor=%%%", "cursor"),
        ("/v1/events?cursor=1.key%00", "cursor"),
        ("/v1/users?email=ada%00@example.com", "email"),
        ("/v1/users/not-a-uuid", "id"),
    ] {
        let response = get(&app, path).await;

        response.assert_status(StatusCode::BAD_REQUEST);
        let body = json(response).await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(name), "{path}: {message}");
        assert!(!message.contains("param0"), "{path}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_edit_sets_the_application_owned_fields() {
    let app = TestApp::spawn().await;
    let id = add_user(&app, "grace@example.com").await;

    let response = patch(
        &app,
        &id,
        json!({"is_onboarded": true, "display_name": "Amazing Grace", "avatar_url": null,
               "settings": {"theme": "dark"}}),
    )
    .await;

    response.assert_status_is_ok();
    let user = json(response).await;
    assert_eq!(user["is_onboarded"], true);
    assert_eq!(user["profile"]["display_name"], "Amazing Grace");
    assert!(user["profile"]["avatar_url"].is_null());
    assert_eq!(user["profile"]["settings"], json!({"theme": "dark"}));
    assert_eq!(
        user["email"], "grace@example.com",
        "mirrored fields are untouched"
    );
    let read_back = json(get(&app, &format!("/v1/users/{id}")).await).await;
    assert_eq!(read_back, user);

    // A later sign-in does not take the name back.
    let mut later = claims(&id, "grace@example.com");
    later["iat"] = json!(later["iat"].as_i64().unwrap() + 10);
    app.client
        .post("/api/auth/users/sync")
        .header(
            "authorization",
            format!("Bearer {}", hs256(&later, JWT_SECRET)),
        )
        .send()
        .await
        .assert_status_is_ok();
    let after_sync = json(get(&app, &format!("/v1/users/{id}")).await).await;
    assert_eq!(after_sync["profile"]["display_name"], "Amazing Grace");
    assert_eq!(after_sync["is_onboarded"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_holding_the_largest_numbers_are_read_back_exactly() {
    let app = TestApp::spawn().await;
    let id = add_user(&app, "grace@example.com").await;
    let settings = json!({"limits": [f64::MAX, -f64::MAX, f64::MIN_POSITIVE, 5e-324]});

    patch(&app, &id, json!({ "settings": settings }))
        .await
        .assert_status_is_ok();

    let user = json(get(&app, &format!("/v1/users/{id}")).await).await;
    assert_eq!(user["profile"]["settings"], settings);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_profile_edit_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = add_user(&app, "grace@example.com").await;
    let before = app.db.user(&id).await;
    let big = "x".repeat(17 * 1024);

    for (body, status, field) in [
        (
            json!({"settings": {"blob": big}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "settings",
        ),
        (
            json!({"settings": [1, 2]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "settings",
        ),
        (
            json!({"avatar_url": "javascript:alert(1)"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "avatar_url",
        ),
        (
            json!({"display_name": "x".repeat(201)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "display_name",
        ),
        (
            json!({"display_name": "Ada\u{0}"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "display_name",
        ),
        (
            json!({"settings": {"theme": ["dark\u{0}"]}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "settings.theme[0]",
        ),
        (
            json!({"display_name": false}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "display_name",
        ),
        (
            json!({"email": "mallory@example.com"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
    ] {
        let response = patch(&app, &id, body).await;

        response.assert_status(status);
        let message = json(response).await["error"]["message"].to_string();
        assert!(message.contains(field), "{field}: {message}");
    }
    assert_eq!(app.db.user(&id).await, before);
    let unknown = patch(
        &app,
        &Uuid::new_v4().to_string(),
        json!({"is_onboarded": true}),
    )
    .await;
    unknown.assert_status(StatusCode::NOT_FOUND);
    let anonymous = app
        .client
        .patch(format!("/v1/users/{id}/profile"))
        .body_json(&json!({"is_onboarded": true}))
        .send()
        .await;
    anonymous.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ledger_lists_deliveries_newest_first_with_filters() {
    let app = TestApp::spawn().await;
    let body = fixture("custom-access-token.json");
    app.deliver("/hooks/custom-access-token", &body).await;
    app.deliver("/hooks/custom-access-token", &body).await; // a duplicate: no new row
    for n in 0..4 {
        add_user(&app, &format!("user{n}@example.com")).await;
    }

    let all = json(get(&app, "/v1/events").await).await;
    let synced = json(get(&app, "/v1/events?hook=users-sync&limit=3").await).await;
    let rest = json(
        get(
            &app,
            &format!(
                "/v1/events?hook=users-sync&limit=3&cursor={}",
                synced["next_cursor"].as_str().unwrap()
            ),
        )
        .await,
    )
    .await;
    let created = json(get(&app, "/v1/events?outcome=created").await).await;
    let stale = json(get(&app, "/v1/events?outcome=stale").await).await;

    let events = all["events"].as_array().unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(events.last().unwrap()["hook"], "custom-access-token");
    assert_eq!(events.last().unwrap()["user_id"], ADA);
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["received_at"].as_str().unwrap())
        .collect();
    let mut newest_first = times.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, newest_first);
    assert_eq!(synced["events"].as_array().unwrap().len(), 3);
    assert_eq!(rest["events"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    assert_eq!(created["events"].as_array().unwrap().len(), 5);
    assert!(stale["events"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_onboarding_edit_shows_up_in_the_next_access_token() {
    let app = TestApp::spawn_with(Options {
        profile_claim: Some("app_profile".into()),
        ..Options::default()
    })
    .await;
    let mut first = fixture_json("custom-access-token.json");
    let answer = json(
        app.deliver("/hooks/custom-access-token", first.to_string().as_bytes())
            .await,
    )
    .await;
    assert_eq!(answer["claims"]["app_profile"]["is_onboarded"], false);
    assert_eq!(
        answer["claims"]["app_profile"]["display_name"],
        "Ada Lovelace"
    );

    patch(&app, ADA, json!({"is_onboarded": true}))
        .await
        .assert_status_is_ok();
    first["metadata"]["uuid"] = json!(Uuid::new_v4());
    first["claims"]["iat"] = json!(first["claims"]["iat"].as_i64().unwrap() + 60);
    first["authentication_method"] = json!("token_refresh");
    let response = app
        .deliver("/hooks/custom-access-token", first.to_string().as_bytes())
        .await;

    response.assert_status_is_ok();
    let mut claims = json(response).await["claims"].take();
    let profile = claims
        .as_object_mut()
        .unwrap()
        .remove("app_profile")
        .unwrap();
    assert_eq!(profile["is_onboarded"], true);
    assert_eq!(profile["display_name"], "Ada Lovelace");
    assert!(profile["profile_updated_at"].as_i64().is_some());
    assert_eq!(
        claims, first["claims"],
        "every Supabase claim is returned unchanged"
    );
    for required in [
        "aud",
        "exp",
        "iat",
        "sub",
        "email",
        "phone",
        "role",
        "aal",
        "session_id",
        "is_anonymous",
    ] {
        assert!(claims.get(required).is_some(), "{required} is missing");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_setting_the_token_gets_no_profile_claim() {
    let app = TestApp::spawn().await;
    let body = fixture_json("custom-access-token.json");

    let answer = json(
        app.deliver("/hooks/custom-access-token", body.to_string().as_bytes())
            .await,
    )
    .await;

    assert_eq!(answer["claims"], body["claims"]);
}
