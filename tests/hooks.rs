//! The Auth Hook endpoints against a real database: every fixture is mirrored,
//! and deliveries apply exactly once and in order.

mod support;

use serde_json::json;
use supahook::mirror::MirrorUser;
use support::{TestApp, fixture, fixture_json, json, outcome, utc};

const ADA: &str = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";

/// Delivers `body` to custom-access-token.
async fn issue_token(app: &TestApp, body: &serde_json::Value) -> poem::test::TestResponse {
    app.deliver("/hooks/custom-access-token", body.to_string().as_bytes())
        .await
}

/// Ada as the mirror holds her now.
async fn mirrored_ada(app: &TestApp) -> MirrorUser {
    app.db.user(ADA).await.expect("Ada is mirrored").user
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_access_token_mirrors_the_user_and_returns_every_claim() {
    let app = TestApp::spawn().await;
    let body = fixture("custom-access-token.json");

    let response = app.deliver("/hooks/custom-access-token", &body).await;

    response.assert_status_is_ok();
    response.assert_content_type("application/json; charset=utf-8");
    assert_eq!(outcome(&response), "created");
    let answer = json(response).await;
    assert_eq!(
        answer,
        json!({ "claims": fixture_json("custom-access-token.json")["claims"] })
    );
    let ada = mirrored_ada(&app).await;
    assert_eq!(ada.email.as_deref(), Some("ada.lovelace@example.com"));
    assert_eq!(ada.phone, None, "an empty phone is stored as NULL");
    assert_eq!(ada.first_name.as_deref(), Some("Ada"));
    assert_eq!(ada.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(ada.auth_provider.as_deref(), Some("email"));
    assert_eq!(ada.providers, ["email"]);
    assert_eq!(
        ada.source_updated_at,
        utc("2026-01-15 11:15:00"),
        "versioned by claims.iat"
    );
    let profile = app
        .db
        .scalar(&format!("SELECT count(*) FROM profiles WHERE user_id = '{ADA}' AND display_name = 'Ada Lovelace'"))
        .await;
    assert_eq!(profile, 1);
    assert_eq!(app.db.counts().await, [1, 1, 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_access_token_accepts_an_array_audience_and_keeps_custom_claims() {
    let app = TestApp::spawn().await;
    let mut body = fixture_json("custom-access-token.json");
    body["claims"]["aud"] = json!(["authenticated"]);
    body["claims"]["tenant"] = json!({"id": 7});

    let response = app
        .deliver("/hooks/custom-access-token", body.to_string().as_bytes())
        .await;

    response.assert_status_is_ok();
    assert_eq!(json(response).await["claims"], body["claims"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_access_token_hands_the_claims_back_byte_for_byte() {
    let app = TestApp::spawn().await;
    let mut body = fixture_json("custom-access-token.json");
    body["claims"]["placeholder"] = json!(0);
    let sent = body["claims"].to_string();
    // Written as no JSON library writes them: a number beyond 64 bits, a trailing
    // zero, an escaped emoji, spaces.
    let claims = sent.replace(
        r#""placeholder":0"#,
        r#""big" : 123456789012345678901234567890, "ratio": 1.50, "smile": "\ud83d\ude00""#,
    );
    let text = body.to_string().replace(&sent, &claims);

    let response = app
        .deliver("/hooks/custom-access-token", text.as_bytes())
        .await;

    response.assert_status_is_ok();
    response
        .assert_text(format!(r#"{{"claims":{claims}}}"#))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn before_user_created_mirrors_an_email_sign_up_and_allows_it() {
    let app = TestApp::spawn().await;

    let response = app
        .deliver(
            "/hooks/before-user-created",
            &fixture("before-user-created.json"),
        )
        .await;

    response.assert_status_is_ok();
    assert_eq!(outcome(&response), "created");
    assert_eq!(json(response).await, json!({}));
    let ada = mirrored_ada(&app).await;
    assert_eq!(ada.email.as_deref(), Some("ada.lovelace@example.com"));
    assert_eq!(
        ada.auth_created_at, None,
        "Go's zero time is not a creation time"
    );
    assert_eq!(app.db.counts().await, [1, 1, 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_oauth_before_user_created_writes_nothing() {
    let app = TestApp::spawn().await;

    let response = app
        .deliver(
            "/hooks/before-user-created",
            &fixture("before-user-created-oauth.json"),
        )
        .await;

    response.assert_status_is_ok();
    assert_eq!(outcome(&response), "skipped");
    assert_eq!(json(response).await, json!({}));
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_user_created_mirrors_the_committed_user() {
    let app = TestApp::spawn().await;

    let response = app
        .deliver(
            "/hooks/after-user-created",
            &fixture("after-user-created.json"),
        )
        .await;

    response.assert_status_is_ok();
    assert_eq!(outcome(&response), "created");
    assert_eq!(json(response).await, json!({}));
    let ada = mirrored_ada(&app).await;
    assert_eq!(ada.auth_created_at, Some(utc("2026-01-15 09:30:12.118347")));
    assert_eq!(
        ada.source_updated_at,
        utc("2026-01-15 09:30:12.301901"),
        "versioned by user.updated_at"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_up_from_a_blocked_domain_is_refused_in_a_200_and_writes_nothing() {
    let app = TestApp::spawn_with(support::Options {
        blocked_email_domains: vec!["example.com".into()],
        ..Default::default()
    })
    .await;

    let response = app
        .deliver(
            "/hooks/before-user-created",
            &fixture("before-user-created.json"),
        )
        .await;

    response.assert_status_is_ok();
    assert_eq!(outcome(&response), "refused");
    let answer = json(response).await;
    assert_eq!(answer["error"]["http_code"], 403);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not allowed")
    );
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_delivery_answers_the_same_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let body = fixture("custom-access-token.json");
    let first = app.deliver("/hooks/custom-access-token", &body).await;
    assert_eq!(outcome(&first), "created");
    let first_answer = json(first).await;
    let updated_at = mirrored_ada(&app).await.updated_at;

    // Supabase retries with a new webhook-id but the same body and metadata.uuid.
    let replay = app.deliver("/hooks/custom-access-token", &body).await;

    replay.assert_status_is_ok();
    assert_eq!(outcome(&replay), "duplicate");
    assert_eq!(json(replay).await, first_answer);
    assert_eq!(mirrored_ada(&app).await.updated_at, updated_at);
    assert_eq!(app.db.counts().await, [1, 1, 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_copies_of_one_event_have_exactly_one_effect() {
    let app = TestApp::spawn().await;
    let body = fixture("before-user-created.json");

    let responses = futures_util::future::join_all(
        (0..50).map(|_| app.deliver("/hooks/before-user-created", &body)),
    )
    .await;

    let outcomes: Vec<String> = responses.iter().map(outcome).collect();
    assert!(
        responses.iter().all(|r| r.0.status().is_success()),
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "created").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "duplicate").count(),
        49,
        "{outcomes:?}"
    );
    assert_eq!(app.db.counts().await, [1, 1, 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_delivery_never_overwrites_newer_data() {
    let app = TestApp::spawn().await;
    let mut newer = fixture_json("custom-access-token.json");
    newer["metadata"]["uuid"] = json!("00000000-0000-4000-8000-000000000002");
    newer["claims"]["iat"] = json!(1768475800);
    newer["claims"]["email"] = json!("ada@newer.example.com");
    let mut older = fixture_json("custom-access-token.json");
    older["metadata"]["uuid"] = json!("00000000-0000-4000-8000-000000000001");
    older["claims"]["email"] = json!("ada@older.example.com");

    let first = issue_token(&app, &newer).await;
    let late = issue_token(&app, &older).await;

    assert_eq!(outcome(&first), "created");
    late.assert_status_is_ok();
    assert_eq!(outcome(&late), "stale");
    assert_eq!(
        mirrored_ada(&app).await.email.as_deref(),
        Some("ada@newer.example.com")
    );
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM webhook_events WHERE outcome = 'stale'")
            .await,
        1,
        "the stale delivery is recorded in the ledger"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_event_updates_the_mirror_but_never_application_owned_data() {
    let app = TestApp::spawn().await;
    app.deliver(
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    )
    .await;
    app.db
        .execute(&format!(
            "UPDATE users SET is_onboarded = true WHERE id = '{ADA}'"
        ))
        .await;
    app.db
        .execute(&format!(
            "UPDATE profiles SET display_name = 'Countess' WHERE user_id = '{ADA}'"
        ))
        .await;
    let mut renamed = fixture_json("custom-access-token.json");
    renamed["metadata"]["uuid"] = json!("00000000-0000-4000-8000-00000000000a");
    renamed["claims"]["iat"] = json!(1768476000);
    renamed["claims"]["user_metadata"] = json!({"full_name": "Augusta Ada King"});

    let response = app
        .deliver("/hooks/custom-access-token", renamed.to_string().as_bytes())
        .await;

    assert_eq!(outcome(&response), "updated");
    let ada = mirrored_ada(&app).await;
    assert_eq!(ada.first_name.as_deref(), Some("Augusta"));
    assert_eq!(ada.last_name.as_deref(), Some("Ada King"));
    assert!(ada.is_onboarded, "is_onboarded belongs to the application");
    let kept = app
        .db
        .scalar(&format!(
            "SELECT count(*) FROM profiles WHERE user_id = '{ADA}' AND display_name = 'Countess'"
        ))
        .await;
    assert_eq!(kept, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_refresh_with_nothing_new_changes_no_mirrored_column() {
    let app = TestApp::spawn().await;
    app.deliver(
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    )
    .await;
    let updated_at = mirrored_ada(&app).await.updated_at;
    let mut refresh = fixture_json("custom-access-token.json");
    refresh["metadata"]["uuid"] = json!("00000000-0000-4000-8000-00000000000b");
    refresh["claims"]["iat"] = json!(1768479300);
    refresh["authentication_method"] = json!("token_refresh");

    let response = app
        .deliver("/hooks/custom-access-token", refresh.to_string().as_bytes())
        .await;

    assert_eq!(outcome(&response), "unchanged");
    assert_eq!(mirrored_ada(&app).await.updated_at, updated_at);
    // Answered without the database when the user is known: the version moves
    // within a second, or now.
    app.mirroring.flush().await;
    assert_eq!(
        mirrored_ada(&app).await.source_updated_at,
        utc("2026-01-15 12:15:00"),
        "the version moves forward so older events stay stale"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delivery_records_past_the_retention_are_forgotten_and_a_late_copy_stays_harmless() {
    let app = TestApp::spawn().await;
    let body = fixture("custom-access-token.json");
    app.deliver("/hooks/custom-access-token", &body).await;
    use supahook::storage::Queries;
    let storage = supahook::storage::Storage::open(&app.db.url, 2).unwrap();
    let now = chrono::Utc::now();

    let kept = storage
        .forget_deliveries(now - chrono::TimeDelta::days(7))
        .await
        .unwrap();
    let removed = storage
        .forget_deliveries(now + chrono::TimeDelta::seconds(1))
        .await
        .unwrap();

    assert_eq!((kept, removed), (0, 1));
    assert_eq!(app.db.counts().await, [1, 1, 0]);
    let before = mirrored_ada(&app).await;
    let late_copy = app.deliver("/hooks/custom-access-token", &body).await;
    // The database finds nothing to apply at the same version; a process that still
    // remembers the delivery's key knows it for a copy.
    assert!(
        ["unchanged", "duplicate"].contains(&outcome(&late_copy).as_str()),
        "{}",
        outcome(&late_copy)
    );
    assert_eq!(mirrored_ada(&app).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_holding_the_largest_numbers_is_read_back_and_later_deliveries_apply() {
    let app = TestApp::spawn().await;
    let mut first = fixture_json("custom-access-token.json");
    let extremes = json!([f64::MAX, -f64::MAX, f64::MIN_POSITIVE, 5e-324]);
    first["claims"]["user_metadata"]["lucky_numbers"] = extremes.clone();
    let mut later = first.clone();
    later["metadata"]["uuid"] = json!("9f0e3c1a-2b4d-4e6f-8a1b-3c5d7e9f0a2b");
    later["claims"]["iat"] = json!(first["claims"]["iat"].as_i64().unwrap() + 60);
    later["claims"]["user_metadata"]["first_name"] = json!("Augusta Ada");

    let created = issue_token(&app, &first).await;
    let updated = issue_token(&app, &later).await;

    assert_eq!(outcome(&created), "created");
    assert_eq!(outcome(&updated), "updated");
    let ada = mirrored_ada(&app).await;
    assert_eq!(ada.first_name.as_deref(), Some("Augusta Ada"));
    assert_eq!(ada.user_metadata["lucky_numbers"], extremes);
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_how_many_deliveries_each_write_transaction_held() {
    let app = TestApp::spawn().await;
    app.deliver(
        "/hooks/before-user-created",
        &fixture("before-user-created.json"),
    )
    .await
    .assert_status_is_ok();

    let metrics = app.client.get("/metrics").send().await;

    metrics.assert_status_is_ok();
    let text = metrics.0.into_body().into_string().await.unwrap();
    for series in [
        "supahook_write_batch_deliveries_bucket{le=\"1\"} ",
        "supahook_write_batch_deliveries_bucket{le=\"64\"} ",
        "supahook_write_batch_seconds_count ",
    ] {
        assert!(text.contains(series), "no {series} in:\n{text}");
    }
}
