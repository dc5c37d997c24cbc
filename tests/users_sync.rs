//! The frontend sync endpoint: identity from a verified access token (HS256, or
//! ES256/RS256 from a JWKS served over HTTP), never from the body. Every algorithm and
//! the key set's fetches are in `tests/jwks.rs`.

mod support;

use poem::http::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::tokens::{JWT_SECRET, JwksServer, TestKey, claims, hs256};
use support::{Options, TestApp, json};

const GRACE: &str = "6a1f3c9e-2b7d-4e8a-9c0f-1d2e3f4a5b6c";
const ALAN: &str = "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b";
const SYNC: &str = "/api/auth/users/sync";

async fn sync(app: &TestApp, token: &str, body: Option<Value>) -> poem::test::TestResponse {
    let request = app
        .client
        .post(SYNC)
        .header("authorization", format!("Bearer {token}"));
    match body {
        Some(body) => request.body_json(&body).send().await,
        None => request.send().await,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_token_creates_the_user_and_its_profile() {
    let app = TestApp::spawn().await;
    let token = hs256(&claims(GRACE, "grace@example.com"), JWT_SECRET);

    let response = sync(&app, &token, None).await;

    response.assert_status_is_ok();
    let body = json(response).await;
    assert_eq!(body["created"], true);
    assert_eq!(body["outcome"], "created");
    assert_eq!(body["user"]["id"], GRACE);
    assert_eq!(body["user"]["email"], "grace@example.com");
    assert_eq!(body["user"]["first_name"], "Grace");
    assert_eq!(body["user"]["profile"]["display_name"], "Grace Hopper");
    assert_eq!(body["user"]["profile"]["settings"], json!({}));
    assert_eq!(app.db.counts().await, [1, 1, 1]);
    let stored = app.db.user(GRACE).await.expect("the user is mirrored");
    assert_eq!(stored.user.email.as_deref(), Some("grace@example.com"));
    assert!(stored.profile.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_call_reports_created_false() {
    let app = TestApp::spawn().await;
    let first = hs256(&claims(GRACE, "grace@example.com"), JWT_SECRET);
    let mut later_claims = claims(GRACE, "grace.hopper@example.com");
    later_claims["iat"] = json!(later_claims["iat"].as_i64().unwrap() + 5);
    let later = hs256(&later_claims, JWT_SECRET);
    sync(&app, &first, None).await.assert_status_is_ok();

    let again = json(sync(&app, &first, None).await).await;
    let refreshed = json(sync(&app, &later, None).await).await;

    assert_eq!(again["created"], false);
    assert_eq!(again["outcome"], "duplicate");
    assert_eq!(refreshed["created"], false);
    assert_eq!(refreshed["outcome"], "updated");
    assert_eq!(refreshed["user"]["email"], "grace.hopper@example.com");
    assert_eq!(app.db.counts().await, [1, 1, 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_tokens_are_401_and_write_nothing() {
    let rsa = TestKey::rs256("rsa-1");
    let jwks = JwksServer::start(&[&rsa]).await;
    let app = TestApp::spawn_with(Options {
        jwt: Some(Options::jwt_with_jwks(&jwks.url)),
        ..Options::default()
    })
    .await;
    let good = jwks.claims(GRACE, "grace@example.com");
    let mut expired = good.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 120);
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("anon");
    // Another project's token: the issuer told by the key set URL is required.
    let wrong_issuer = claims(GRACE, "grace@example.com");
    let alg_none = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(good.to_string().as_bytes())
    );
    // Algorithm confusion: HS256 keyed with the published RSA key, naming its kid.
    let mut confused_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    confused_header.kid = Some("rsa-1".into());
    let public_key_as_secret =
        jsonwebtoken::EncodingKey::from_secret(rsa.jwk.to_string().as_bytes()).unwrap();
    let confused = jsonwebtoken::encode(&confused_header, &good, &public_key_as_secret).unwrap();
    let mut forged_rsa = rsa.sign(&good);
    forged_rsa.push_str("AAAA");

    let cases = [
        ("expired", hs256(&expired, JWT_SECRET)),
        ("wrong audience", hs256(&wrong_audience, JWT_SECRET)),
        ("wrong issuer", rsa.sign(&wrong_issuer)),
        (
            "wrong secret",
            hs256(&good, "another-secret-0123456789abcdef-0123456789"),
        ),
        ("bad RSA signature", forged_rsa),
        (
            "signed by an unpublished key",
            TestKey::es256("rsa-1").sign(&good),
        ),
        ("alg none", alg_none),
        ("algorithm confusion", confused),
        ("not a JWT", "not-a-token".to_owned()),
    ];
    for (case, token) in cases {
        let response = sync(&app, &token, Some(json!({"display_name": "x"}))).await;

        response.assert_status(StatusCode::UNAUTHORIZED);
        let body = json(response).await;
        assert_eq!(body["error"]["code"], "invalid_token", "{case}: {body}");
        assert_eq!(app.db.counts().await, [0, 0, 0], "{case} wrote something");
    }
    let missing = app.client.post(SYNC).send().await;
    missing.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(json(missing).await["error"]["http_code"], 401);
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn es256_and_rs256_tokens_are_verified_with_the_published_keys() {
    let ec = TestKey::es256("ec-1");
    let rsa = TestKey::rs256("rsa-1");
    let jwks = JwksServer::start(&[&ec, &rsa]).await;
    let app = TestApp::spawn_with(Options {
        jwt: Some(Options::jwt_with_jwks(&jwks.url)),
        ..Options::default()
    })
    .await;

    let by_ec = sync(
        &app,
        &ec.sign(&jwks.claims(GRACE, "grace@example.com")),
        None,
    )
    .await;
    let by_rsa = sync(
        &app,
        &rsa.sign(&jwks.claims(ALAN, "alan@example.com")),
        None,
    )
    .await;
    let by_secret = sync(
        &app,
        &hs256(&jwks.claims(GRACE, "grace@example.com"), JWT_SECRET),
        None,
    )
    .await;

    assert_eq!(json(by_ec).await["created"], true);
    assert_eq!(json(by_rsa).await["created"], true);
    assert_eq!(
        json(by_secret).await["created"],
        false,
        "HS256 still works beside a JWKS"
    );
    assert_eq!(jwks.fetches(), 1, "the key set is cached");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_added_to_the_jwks_is_picked_up_without_a_restart() {
    let old = TestKey::es256("2026-key");
    let jwks = JwksServer::start(&[&old]).await;
    let app = TestApp::spawn_with(Options {
        jwt: Some(Options::jwt_with_jwks(&jwks.url)),
        jwks_min_interval: Some(Duration::from_millis(200)),
        ..Options::default()
    })
    .await;
    sync(
        &app,
        &old.sign(&jwks.claims(GRACE, "grace@example.com")),
        None,
    )
    .await
    .assert_status_is_ok();

    let new = TestKey::es256("2027-key");
    jwks.publish(&new);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let response = sync(
        &app,
        &new.sign(&jwks.claims(ALAN, "alan@example.com")),
        None,
    )
    .await;

    response.assert_status_is_ok();
    assert_eq!(json(response).await["created"], true);
    assert_eq!(jwks.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_set_url_that_answers_with_a_redirect_is_not_followed() {
    let key = TestKey::es256("real");
    let jwks = JwksServer::start(&[&key]).await;
    let redirect = redirect_to(&jwks.url).await;
    let app = TestApp::spawn_with(Options {
        jwt: Some(Options::jwt_with_jwks(&redirect)),
        ..Options::default()
    })
    .await;
    let issuer = redirect.trim_end_matches("/.well-known/jwks.json");

    let response = sync(
        &app,
        &key.sign(&support::tokens::claims_from(
            issuer,
            GRACE,
            "grace@example.com",
        )),
        None,
    )
    .await;

    response.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(jwks.fetches(), 0, "the redirect was followed");
    assert_eq!(app.db.counts().await, [0, 0, 0]);
}

/// A server that answers every request with a 302 to `target`; its JWKS URL.
async fn redirect_to(target: &str) -> String {
    use poem::listener::{Acceptor, Listener, TcpListener};
    use poem::web::Redirect;
    use poem::{EndpointExt, Route, Server, handler};

    #[handler]
    fn moved(target: poem::web::Data<&String>) -> Redirect {
        Redirect::temporary(target.as_str())
    }

    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind a port for the redirect");
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    let app = Route::new()
        .at("/auth/v1/.well-known/jwks.json", moved)
        .data(target.to_owned());
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    format!("http://{addr}/auth/v1/.well-known/jwks.json")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_naming_another_user_cannot_change_that_user() {
    let app = TestApp::spawn().await;
    sync(
        &app,
        &hs256(&claims(ALAN, "alan@example.com"), JWT_SECRET),
        None,
    )
    .await
    .assert_status_is_ok();
    let alan_before = app.db.user(ALAN).await.unwrap();
    let grace = hs256(&claims(GRACE, "grace@example.com"), JWT_SECRET);

    let naming_alan = sync(
        &app,
        &grace,
        Some(json!({"id": ALAN, "email": "mallory@example.com", "display_name": "Mallory"})),
    )
    .await;
    let own_edit = sync(&app, &grace, Some(json!({"display_name": "Amazing Grace"}))).await;

    naming_alan.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let refusal = json(naming_alan).await;
    assert!(
        refusal["error"]["message"]
            .as_str()
            .unwrap()
            .contains("access token"),
        "{refusal}"
    );
    own_edit.assert_status_is_ok();
    let own = json(own_edit).await;
    assert_eq!(own["user"]["id"], GRACE);
    assert_eq!(own["user"]["profile"]["display_name"], "Amazing Grace");
    assert_eq!(app.db.user(ALAN).await.unwrap(), alan_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn is_onboarded_in_a_sync_body_changes_nothing_by_default() {
    let app = TestApp::spawn().await;
    let token = hs256(&claims(GRACE, "grace@example.com"), JWT_SECRET);
    sync(&app, &token, None).await.assert_status_is_ok();
    let before = app.db.user(GRACE).await.unwrap();

    let alone = sync(&app, &token, Some(json!({"is_onboarded": true}))).await;
    let beside = sync(
        &app,
        &token,
        Some(json!({"is_onboarded": true, "display_name": "Amazing Grace"})),
    )
    .await;

    alone.assert_status_is_ok();
    let alone = json(alone).await;
    assert_eq!(alone["ignored"], json!(["is_onboarded"]), "{alone}");
    assert_eq!(alone["user"]["is_onboarded"], false);
    beside.assert_status_is_ok();
    let beside = json(beside).await;
    assert_eq!(beside["ignored"], json!(["is_onboarded"]), "{beside}");
    assert_eq!(beside["user"]["is_onboarded"], false);
    assert_eq!(beside["user"]["profile"]["display_name"], "Amazing Grace");
    let after = app.db.user(GRACE).await.unwrap();
    assert_eq!(after.user, before.user, "the user row is untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_setting_a_sync_body_sets_is_onboarded() {
    let app = TestApp::spawn_with(Options {
        users_may_set_onboarded: true,
        ..Options::default()
    })
    .await;
    let token = hs256(&claims(GRACE, "grace@example.com"), JWT_SECRET);

    let response = sync(&app, &token, Some(json!({"is_onboarded": true}))).await;

    response.assert_status_is_ok();
    let body = json(response).await;
    assert_eq!(body["ignored"], json!([]), "{body}");
    assert_eq!(body["user"]["is_onboarded"], true);
    let stored = app.db.user(GRACE).await.unwrap();
    assert!(stored.user.is_onboarded);
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_from_a_listed_origin_pass_the_preflight() {
    let app = TestApp::spawn_with(Options {
        cors_origins: vec!["https://app.example.com".into()],
        ..Options::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .options(SYNC)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };

    let allowed = preflight("https://app.example.com").await;
    let other = preflight("https://evil.example").await;
    let post = post_from(&app, "https://app.example.com").await;

    allowed.assert_status_is_ok();
    allowed.assert_header("access-control-allow-origin", "https://app.example.com");
    assert_ne!(other.0.status(), StatusCode::OK);
    assert!(
        other
            .0
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    post.assert_status_is_ok();
    post.assert_header("access-control-allow-origin", "https://app.example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_cors_origins_no_cors_headers_are_sent() {
    let app = TestApp::spawn().await;

    let preflight = app
        .client
        .options(SYNC)
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await;
    let post = post_from(&app, "https://app.example.com").await;

    assert_ne!(preflight.0.status(), StatusCode::OK);
    assert!(
        preflight
            .0
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    post.assert_status_is_ok();
    assert!(
        post.0
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// A sync a browser at `origin` sends.
async fn post_from(app: &TestApp, origin: &str) -> poem::test::TestResponse {
    let token = hs256(&claims(GRACE, "grace@example.com"), JWT_SECRET);
    app.client
        .post(SYNC)
        .header("origin", origin)
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
