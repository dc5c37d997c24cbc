//! Access tokens verified from the project's published key set: every algorithm
//! Supabase Auth signs with (but ES512, which the JWT library cannot verify), and the
//! fetches of the set: a key rotated in moments after a fetch is waited for, not
//! refused, and requests waiting together share one fetch.

mod support;

use futures_util::future::join_all;
use jsonwebtoken::Algorithm;
use poem::http::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use support::tokens::{JwksServer, TestKey};
use support::{Options, TestApp, json};

const SYNC: &str = "/api/auth/users/sync";
/// What verifying and answering may add to a wait on a loaded test machine.
const SLACK: Duration = Duration::from_secs(3);

async fn sync(app: &TestApp, token: &str) -> poem::test::TestResponse {
    app.client
        .post(SYNC)
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
}

async fn app_for(jwks: &JwksServer) -> TestApp {
    TestApp::spawn_with(Options {
        jwt: Some(Options::jwt_with_jwks(&jwks.url)),
        ..Options::default()
    })
    .await
}

/// A user id of its own for the n-th token of a test.
fn user(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_of_every_supported_algorithm_verify_from_the_key_set() {
    use Algorithm::{PS256, PS384, PS512, RS256, RS384, RS512};
    let mut keys = TestKey::rsa(&[
        ("rs256", RS256),
        ("rs384", RS384),
        ("rs512", RS512),
        ("ps256", PS256),
        ("ps384", PS384),
        ("ps512", PS512),
    ]);
    keys.push(TestKey::es256("es256"));
    keys.push(TestKey::es384("es384"));
    keys.push(TestKey::ed25519("eddsa"));
    let jwks = JwksServer::start(&keys.iter().collect::<Vec<_>>()).await;
    // A key the JWT library cannot verify sits beside them and spoils nothing.
    jwks.publish_jwk(json!({"kty": "EC", "crv": "P-521", "alg": "ES512", "kid": "es512",
        "x": "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
        "y": "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}));
    let app = app_for(&jwks).await;

    for (n, key) in keys.iter().enumerate() {
        let email = format!("{}@example.com", key.kid);
        let response = sync(&app, &key.sign(&jwks.claims(&user(n), &email))).await;

        response.assert_status_is_ok();
        let body = json(response).await;
        assert_eq!(body["created"], true, "{:?}", key.algorithm);
        assert_eq!(body["user"]["email"], email.as_str());
    }
    assert_eq!(jwks.fetches(), 1, "one fetch served every algorithm");

    // A token claiming another algorithm than its key's is refused.
    let mut header = jsonwebtoken::Header::new(RS256);
    header.kid = Some("ps256".into());
    let ps256 = &keys[3];
    let signed = ps256.sign(&jwks.claims(&user(99), "x@example.com"));
    let claimed_rs256 = format!(
        "{}.{}",
        base64url(&serde_json::to_vec(&header).unwrap()),
        signed.split_once('.').unwrap().1
    );
    sync(&app, &claimed_rs256)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_kid_one_second_after_a_fetch_is_accepted() {
    let old = TestKey::es256("2026-key");
    let new = TestKey::es256("2027-key");
    let jwks = JwksServer::start(&[&old]).await;
    let token = new.sign(&jwks.claims(&user(2), "b@example.com"));
    let app = app_for(&jwks).await;
    // The first fetch begins after this instant, and the next may begin 5 s after it.
    let before_fetch = Instant::now();
    sync(&app, &old.sign(&jwks.claims(&user(1), "a@example.com")))
        .await
        .assert_status_is_ok();

    jwks.publish(&new);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let response = sync(&app, &token).await;
    let since_fetch = before_fetch.elapsed();

    response.assert_status_is_ok();
    assert_eq!(json(response).await["created"], true);
    assert_eq!(jwks.fetches(), 2);
    assert!(
        since_fetch >= supahook::jwt::MIN_INTERVAL,
        "it waited for the next allowed fetch: {since_fetch:?}"
    );
    // The wait ends with the interval; the rest is verification on a loaded machine.
    assert!(
        since_fetch <= supahook::jwt::MIN_INTERVAL + SLACK,
        "{since_fetch:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_waiting_for_a_new_kid_share_one_fetch() {
    let old = TestKey::es256("2026-key");
    let jwks = JwksServer::start(&[&old]).await;
    let app = app_for(&jwks).await;
    sync(&app, &old.sign(&jwks.claims(&user(0), "a@example.com")))
        .await
        .assert_status_is_ok();

    let new = TestKey::es256("2027-key");
    jwks.publish(&new);
    let tokens: Vec<String> = (1..=8)
        .map(|n| new.sign(&jwks.claims(&user(n), &format!("u{n}@example.com"))))
        .collect();
    let started = Instant::now();
    let responses = join_all(tokens.iter().map(|token| sync(&app, token))).await;

    for response in responses {
        response.assert_status_is_ok();
    }
    assert_eq!(jwks.fetches(), 2, "one fetch for all eight");
    assert!(started.elapsed() <= supahook::jwt::MAX_WAIT + SLACK);
    assert_eq!(app.db.counts().await[0], 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_key_ids_fetch_the_set_at_most_once_per_interval_and_wait_a_bounded_time() {
    let key = TestKey::es256("real");
    let jwks = JwksServer::start(&[&key]).await;
    let app = app_for(&jwks).await;
    sync(&app, &key.sign(&jwks.claims(&user(0), "a@example.com")))
        .await
        .assert_status_is_ok();

    let forged: Vec<String> = (1..=20)
        .map(|n| {
            let forger = TestKey::es256(&format!("forged-{n}"));
            forger.sign(&jwks.claims(&user(n), "grace@example.com"))
        })
        .collect();
    let started = Instant::now();
    let responses = join_all(forged.iter().map(|token| sync(&app, token))).await;

    for response in responses {
        response.assert_status(StatusCode::UNAUTHORIZED);
    }
    assert_eq!(jwks.fetches(), 2, "twenty forged key ids, one more fetch");
    assert!(started.elapsed() <= supahook::jwt::MAX_WAIT + SLACK);
    assert_eq!(app.db.counts().await, [1, 1, 1]);
}
