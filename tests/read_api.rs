//! The read API: bearer-protected, 404 for unknown users.

mod support;

use support::{ADMIN_TOKEN, TestApp, fixture, json};

const ADA: &str = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";

#[tokio::test(flavor = "multi_thread")]
async fn a_mirrored_user_is_returned_with_its_profile() {
    let app = TestApp::spawn().await;
    app.deliver(
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    )
    .await;

    let response = app
        .client
        .get(format!("/v1/users/{ADA}"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await;

    response.assert_status_is_ok();
    let user = json(response).await;
    assert_eq!(user["id"], ADA);
    assert_eq!(user["email"], "ada.lovelace@example.com");
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["is_onboarded"], false);
    assert_eq!(user["profile"]["display_name"], "Ada Lovelace");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_user_is_404() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .get("/v1/users/00000000-0000-4000-8000-000000000000")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await;

    response.assert_status(poem::http::StatusCode::NOT_FOUND);
    assert_eq!(json(response).await["error"]["code"], "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_or_a_wrong_token_is_401() {
    let app = TestApp::spawn().await;
    app.deliver(
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    )
    .await;

    let without = app.client.get(format!("/v1/users/{ADA}")).send().await;
    let wrong = app
        .client
        .get(format!("/v1/users/{ADA}"))
        .header("authorization", "Bearer not-the-token")
        .send()
        .await;

    for response in [without, wrong] {
        response.assert_status(poem::http::StatusCode::UNAUTHORIZED);
        let body = json(response).await;
        assert_eq!(body["error"]["http_code"], 401);
        assert!(body.get("email").is_none());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_id_is_a_json_400() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .get("/v1/users/not-a-uuid")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await;

    response.assert_status(poem::http::StatusCode::BAD_REQUEST);
    assert_eq!(json(response).await["error"]["http_code"], 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_probes_answer() {
    let app = TestApp::spawn().await;

    app.client
        .get("/health/live")
        .send()
        .await
        .assert_status_is_ok();
    app.client
        .get("/health/ready")
        .send()
        .await
        .assert_status_is_ok();
}
