//! The console at `/console`: no page without a session, no session without the admin
//! token, no action from another site or without the session's form token; and a
//! set-aside delivery retried from it. On PostgreSQL, and on SQLite with
//! `SUPAHOOK_TEST_BACKEND=sqlite`.

#[path = "support/process.rs"]
mod process;
mod support;

use poem::http::StatusCode;
use poem::test::TestResponse;
use process::WorkDir;
use support::{ADMIN_TOKEN, Client, Options, TestApp, fixture, fixture_json, json, outcome, send};

/// The origin the in-process client's requests come from, as a browser would say it.
const ORIGIN: &str = "http://console.test";
const HOST: &str = "console.test";

fn header(response: &TestResponse, name: &str) -> String {
    response
        .0
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn text(response: TestResponse) -> String {
    response.0.into_body().into_string().await.unwrap()
}

/// The sign-in form posted from the console's own origin, with `body`.
fn sign_in_form(client: &Client, body: String) -> SignInRequest<'_> {
    client
        .post("/console/sign-in")
        .header("host", HOST)
        .header("origin", ORIGIN)
        .content_type("application/x-www-form-urlencoded")
        .body(body)
}

type SignInRequest<'a> = poem::test::TestRequestBuilder<'a, poem::endpoint::BoxEndpoint<'static>>;

/// Signs in as a browser on the console's own page would, and returns the cookie.
async fn sign_in(client: &Client) -> String {
    let answer = sign_in_form(client, format!("token={ADMIN_TOKEN}"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await;
    answer.assert_status(StatusCode::SEE_OTHER);
    let set_cookie = header(&answer, "set-cookie");
    set_cookie.split(';').next().unwrap().to_owned()
}

/// A page as the signed-in browser gets it.
async fn page(client: &Client, cookie: &str, path: &str) -> TestResponse {
    client.get(path).header("cookie", cookie).send().await
}

/// The form token in a signed-in page.
fn form_token(html: &str) -> String {
    let (_, rest) = html
        .split_once(r#"name="form_token" value=""#)
        .expect("a form");
    rest.split('"').next().unwrap().to_owned()
}

/// Posts a form to `path` with the cookie and these extra headers.
async fn post(
    client: &Client,
    path: &str,
    cookie: &str,
    form: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut request = client
        .post(path)
        .header("host", HOST)
        .header("cookie", cookie)
        .content_type("application/x-www-form-urlencoded")
        .body(form.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_session_every_page_leads_to_sign_in_and_every_script_call_is_401() {
    let app = TestApp::spawn().await;

    for path in [
        "/console",
        "/console/deliveries",
        "/console/users?q=ada@example.com",
        "/console/health",
        "/console/delivery?key=anything",
    ] {
        let answer = page(&app.client, "supahook_console=forged", path).await;
        if path == "/console" {
            assert_eq!(header(&answer, "location"), "/console/deliveries");
            continue;
        }
        answer.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(header(&answer, "location"), "/console/sign-in", "{path}");
    }
    let rows = app.client.get("/console/deliveries/rows").send().await;
    rows.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(json(rows).await["error"]["code"], "unauthorized");
    let action = post(
        &app.client,
        "/console/set-aside/1/retry",
        "",
        "form_token=x",
        &[],
    )
    .await;
    action.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_starts_no_session() {
    let app = TestApp::spawn().await;

    let answer = sign_in_form(&app.client, "token=not-the-admin-token".to_owned())
        .send()
        .await;

    answer.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(header(&answer, "set-cookie"), "");
    assert!(text(answer).await.contains("That is not the admin token"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_form_over_4_kib_is_not_read() {
    let app = TestApp::spawn().await;

    let answer = sign_in_form(&app.client, format!("token={}", "x".repeat(5000)))
        .send()
        .await;

    answer.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(answer).await["error"]["code"], "payload_too_large");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_cookie_is_http_only_strict_and_never_holds_the_token() {
    let app = TestApp::spawn().await;
    app.deliver(
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    )
    .await
    .assert_status_is_ok();

    let answer = sign_in_form(&app.client, format!("token={ADMIN_TOKEN}"))
        .send()
        .await;

    let set_cookie = header(&answer, "set-cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(!set_cookie.contains(ADMIN_TOKEN), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap();
    let deliveries = page(&app.client, cookie, "/console/deliveries").await;
    deliveries.assert_status_is_ok();
    let html = text(deliveries).await;
    assert!(html.contains("custom-access-token"), "{html}");
    let user = page(
        &app.client,
        cookie,
        "/console/users/3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14",
    )
    .await;
    user.assert_status_is_ok();
    assert!(text(user).await.contains("ada.lovelace@example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_action_from_another_site_or_without_the_form_token_is_refused() {
    let app = TestApp::spawn().await;
    let cookie = sign_in(&app.client).await;
    let token = form_token(&text(page(&app.client, &cookie, "/console/health").await).await);
    let form = format!("form_token={token}");

    let refusals = [
        (form.as_str(), vec![("origin", "https://evil.example")]),
        (form.as_str(), vec![("sec-fetch-site", "cross-site")]),
        (form.as_str(), vec![("sec-fetch-site", "same-site")]),
        ("form_token=guess", vec![("sec-fetch-site", "same-origin")]),
        ("", vec![("origin", ORIGIN)]),
    ];
    for (body, headers) in refusals {
        let answer = post(&app.client, "/console/sign-out", &cookie, body, &headers).await;
        answer.assert_status(StatusCode::FORBIDDEN);
        assert_eq!(json(answer).await["error"]["code"], "forbidden");
    }
    page(&app.client, &cookie, "/console/health")
        .await
        .assert_status_is_ok();

    let signed_out = post(
        &app.client,
        "/console/sign-out",
        &cookie,
        &form,
        &[("origin", ORIGIN)],
    )
    .await;
    signed_out.assert_status(StatusCode::SEE_OTHER);
    let after = page(&app.client, &cookie, "/console/health").await;
    assert_eq!(header(&after, "location"), "/console/sign-in");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_set_aside_delivery_retried_from_the_console_is_applied_once() {
    let dir = WorkDir::new("console-retry");
    let app = TestApp::spawn_with(Options::open_mode(dir.path())).await;
    app.db.refuse_email("refused@example.com").await;
    let mut body = fixture_json("custom-access-token.json");
    body["claims"]["email"] = "refused@example.com".into();
    let answer = send(
        &app.client,
        "/hooks/custom-access-token",
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(outcome(&answer), "spooled");
    let spool = app.mirroring.spool().expect("open mode has a spool");
    let set_aside = wait_for(|| async { spool.set_aside_entries().await.unwrap() }).await;
    let cookie = sign_in(&app.client).await;
    let health = text(page(&app.client, &cookie, "/console/health").await).await;
    assert!(health.contains("refused by a test trigger"), "{health}");
    let form = format!("form_token={}", form_token(&health));
    app.db.stop_refusing().await;

    let path = format!("/console/set-aside/{}/retry", set_aside[0].seq);
    let retried = post(&app.client, &path, &cookie, &form, &[("origin", ORIGIN)]).await;

    retried.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(header(&retried, "location"), "/console/health");
    let applied = wait_for(|| async {
        let user = app.db.user("3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14").await;
        user.into_iter().collect::<Vec<_>>()
    })
    .await;
    assert_eq!(
        applied[0].user.email.as_deref(),
        Some("refused@example.com")
    );
    assert!(spool.set_aside_entries().await.unwrap().is_empty());
    let again = post(&app.client, &path, &cookie, &form, &[("origin", ORIGIN)]).await;
    again.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(app.db.counts().await, [1, 1, 1]);
}

/// Polls `check` until it finds something, for at most 10 seconds.
async fn wait_for<T, F, Fut>(check: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Vec<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = check().await;
        if !found.is_empty() || std::time::Instant::now() > deadline {
            assert!(!found.is_empty(), "nothing after 10 seconds");
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
