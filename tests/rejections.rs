//! Bad deliveries get a clear JSON error and leave the database as it was.

mod support;

use support::{OTHER_SECRET, SECRET, TestApp, fixture, json, now};

const PATH: &str = "/hooks/custom-access-token";

async fn assert_error(
    response: poem::test::TestResponse,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.0.status().as_u16(), status);
    let body = json(response).await;
    assert_eq!(body["error"]["http_code"], status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_signature_is_401_and_writes_nothing() {
    let app = TestApp::spawn().await;

    let response = app
        .deliver_signed(
            PATH,
            &fixture("custom-access-token.json"),
            OTHER_SECRET,
            now(),
        )
        .await;

    assert_error(response, 401, "invalid_signature").await;
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_timestamp_is_401_and_writes_nothing() {
    let app = TestApp::spawn().await;

    let response = app
        .deliver_signed(
            PATH,
            &fixture("custom-access-token.json"),
            SECRET,
            now() - 301,
        )
        .await;

    let body = assert_error(response, 401, "invalid_signature").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timestamp")
    );
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_signature_header_is_401_naming_it() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .post(PATH)
        .header("content-type", "application/json")
        .header("webhook-id", "msg_1")
        .header("webhook-timestamp", now().to_string())
        .body(fixture("custom-access-token.json"))
        .send()
        .await;

    let body = assert_error(response, 401, "invalid_signature").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("webhook-signature")
    );
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_400_and_writes_nothing() {
    let app = TestApp::spawn().await;

    let response = app.deliver(PATH, b"{\"user_id\": ").await;

    assert_error(response, 400, "invalid_json").await;
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nul_character_anywhere_is_422_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let mut email = support::fixture_json("custom-access-token.json");
    email["claims"]["email"] = serde_json::json!("ada\u{0}@example.com");
    let mut metadata = support::fixture_json("custom-access-token.json");
    metadata["claims"]["user_metadata"]["bio"] = serde_json::json!(["ok", "nul\u{0}"]);

    for (body, field) in [
        (email, "claims.email"),
        (metadata, "claims.user_metadata.bio[1]"),
    ] {
        let response = app.deliver(PATH, body.to_string().as_bytes()).await;

        let error = assert_error(response, 422, "invalid_payload").await;
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(field) && message.contains("NUL"),
            "{message}"
        );
    }
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_shape_is_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let mut body = support::fixture_json("custom-access-token.json");
    body["user_id"] = serde_json::json!("not-a-uuid");

    let response = app.deliver(PATH, body.to_string().as_bytes()).await;

    let error = assert_error(response, 422, "invalid_payload").await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("user_id"),
        "{error}"
    );
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_one_mebibyte_is_413_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let padding = "x".repeat(2 * 1024 * 1024);
    let body = format!("{{\"padding\": \"{padding}\"}}");

    let response = app.deliver(PATH, body.as_bytes()).await;

    assert_error(response, 413, "payload_too_large").await;
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_content_type_is_415() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .post(PATH)
        .header("content-type", "text/plain")
        .body(fixture("custom-access-token.json"))
        .send()
        .await;

    assert_error(response, 415, "unsupported_media_type").await;
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_json_content_type_with_charset_is_accepted() {
    let app = TestApp::spawn().await;
    let signing = support::Signing {
        content_type: "application/json; charset=utf-8",
        ..support::Signing::new("msg_charset", SECRET, now())
    };

    let response = support::signed_request(
        &app.client,
        PATH,
        &fixture("custom-access-token.json"),
        signing,
    )
    .send()
    .await;

    response.assert_status_is_ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_is_503_with_retry_after() {
    let options = support::Options {
        migrations: supahook::app::Migrations::Elsewhere,
        ..support::Options::default()
    };
    let unreachable = "postgres://postgres@127.0.0.1:1/unreachable";
    let app = support::start(unreachable, options).await;
    let signing = support::Signing::new("msg_outage", SECRET, now());
    let body = fixture("custom-access-token.json");

    let response = support::signed_request(&app.client, PATH, &body, signing)
        .send()
        .await;

    response.assert_header("retry-after", "1");
    assert_error(response, 503, "database_unavailable").await;
    let ready = app.client.get("/health/ready").send().await;
    ready.assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_route_is_a_json_404() {
    let app = TestApp::spawn().await;

    let response = app.client.get("/hooks/nothing-here").send().await;

    assert_error(response, 404, "not_found").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_user_is_503_in_time_and_the_change_lands_exactly_once() {
    use diesel_async::SimpleAsyncConnection;
    let app = TestApp::spawn().await;
    app.deliver(PATH, &fixture("custom-access-token.json"))
        .await;
    let mut newer = support::fixture_json("custom-access-token.json");
    newer["metadata"]["uuid"] = serde_json::json!("00000000-0000-4000-8000-0000000000aa");
    newer["claims"]["iat"] = serde_json::json!(1768476000);
    newer["claims"]["email"] = serde_json::json!("ada@newer.example.com");
    let body = newer.to_string();
    // Another session holds the user's row (PostgreSQL) or the write lock (SQLite).
    let mut holder = app.db.connect().await;
    match &mut holder {
        support::TestConn::Postgres(conn) => conn
            .batch_execute("BEGIN; SELECT 1 FROM users WHERE id = '3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14' FOR UPDATE;")
            .await
            .unwrap(),
        support::TestConn::Sqlite(conn) => conn.batch_execute("BEGIN IMMEDIATE;").await.unwrap(),
    }

    let started = std::time::Instant::now();
    let blocked = app.deliver(PATH, body.as_bytes()).await;
    let waited = started.elapsed();

    blocked.assert_header("retry-after", "1");
    assert_error(blocked, 503, "database_unavailable").await;
    // A contract bound, not a benchmark: Supabase abandons the whole call at 5 s.
    assert!(
        waited < std::time::Duration::from_secs(5),
        "answered after {waited:?}"
    );
    match &mut holder {
        support::TestConn::Postgres(conn) => conn.batch_execute("ROLLBACK;").await.unwrap(),
        support::TestConn::Sqlite(conn) => conn.batch_execute("ROLLBACK;").await.unwrap(),
    }
    // Supabase's retry. The first attempt's write may have gone on once the lock was
    // released (its answer was already a 503): then the retry is its duplicate.
    let retry = app.deliver(PATH, body.as_bytes()).await;
    retry.assert_status_is_ok();
    let outcome = support::outcome(&retry);
    assert!(
        ["updated", "duplicate"].contains(&outcome.as_str()),
        "{outcome}"
    );
    let user = app
        .db
        .user("3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14")
        .await
        .unwrap();
    assert_eq!(user.user.email.as_deref(), Some("ada@newer.example.com"));
    let recorded = app
        .db
        .scalar("SELECT count(*) FROM webhook_events WHERE idempotency_key = '00000000-0000-4000-8000-0000000000aa'")
        .await;
    assert_eq!(recorded, 1);
}
