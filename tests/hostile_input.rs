//! Hostile input on every endpoint. Each bad request gets its documented status and a
//! JSON error naming the problem, changes nothing, and leaves the app answering good
//! deliveries; odd but valid text (SQL, backslashes, wildcards, every kind of unicode)
//! is stored exactly as sent.

#[path = "support/process.rs"]
mod process;
mod support;

#[path = "hostile_input/api.rs"]
mod api;
#[path = "hostile_input/bodies.rs"]
mod bodies;
#[path = "hostile_input/contacts.rs"]
mod contacts;
#[path = "hostile_input/costs.rs"]
mod costs;
#[path = "hostile_input/requests.rs"]
mod requests;
#[path = "hostile_input/signatures.rs"]
mod signatures;
#[path = "hostile_input/stored.rs"]
mod stored;

use poem::http::Method;
use requests::{
    AUTH_USERS, BEFORE_USER_CREATED, CUSTOM_ACCESS_TOKEN, DB_WEBHOOK_TOKEN, Request, admin, good,
};
use serde_json::Value;
use support::{Options, TestApp};
use uuid::Uuid;

/// One bad request and the answer it must get.
pub struct Case {
    name: String,
    request: Request,
    status: u16,
    code: &'static str,
    /// Part of the error message that names the problem.
    names: String,
}

impl Case {
    pub fn new(
        name: impl Into<String>,
        request: Request,
        status: u16,
        code: &'static str,
        names: impl Into<String>,
    ) -> Self {
        let (name, names) = (name.into(), names.into());
        assert!(!names.is_empty(), "{name}: say what the message must name");
        Self {
            name,
            request,
            status,
            code,
            names,
        }
    }
}

/// The app with the Database Webhook bearer token on, so both ways in are open.
async fn spawn() -> TestApp {
    TestApp::spawn_with(Options {
        db_webhook_token: Some(DB_WEBHOOK_TOKEN.into()),
        ..Options::default()
    })
    .await
}

/// Everything a request could change: the row counts of users, profiles and the
/// ledger, and every user with its profile as the read API shows it.
async fn database(app: &TestApp) -> ([i64; 3], Value) {
    let users = admin(Method::GET, "/v1/users?limit=500", Vec::new())
        .send(&app.client)
        .await;
    assert_eq!(users.0.status().as_u16(), 200, "the read API answers");
    (app.db.counts().await, support::json(users).await)
}

/// What is wrong with the answer to `case`, if anything.
async fn mismatch(app: &TestApp, case: &Case) -> Option<String> {
    let response = case.request.send(&app.client).await;
    let status = response.0.status().as_u16();
    let text = response
        .0
        .into_body()
        .into_string()
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let error = &body["error"];
    let message = error["message"].as_str().unwrap_or_default();
    let expected = status == case.status
        && error["http_code"] == case.status
        && error["code"] == case.code
        && message.contains(&case.names);
    (!expected).then(|| {
        format!(
            "{}: expected {} {} naming {:?}, got {status} {text}",
            case.name, case.status, case.code, case.names
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_hostile_request_is_refused_as_documented_and_changes_nothing() {
    let app = spawn().await;
    let known_user = Uuid::new_v4().to_string();
    let arrange = requests::signed(
        CUSTOM_ACCESS_TOKEN,
        requests::custom_access_token(&known_user).to_string(),
    );
    assert_eq!(arrange.send(&app.client).await.0.status().as_u16(), 200);
    let cases: Vec<Case> = [
        signatures::cases(),
        bodies::cases(),
        contacts::cases(),
        api::cases(&known_user),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(cases.len() >= 40, "only {} cases", cases.len());

    let mut failures = Vec::new();
    for case in &cases {
        let before = database(&app).await;
        failures.extend(mismatch(&app, case).await);
        if database(&app).await != before {
            failures.push(format!("{}: the database changed", case.name));
        }
        let after = good(&case.request.path).send(&app.client).await;
        if after.0.status().as_u16() != 200 {
            failures.push(format!("{}: a good request after it failed", case.name));
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_but_valid_text_in_every_field_is_stored_exactly() {
    let app = spawn().await;

    stored::check_every_endpoint(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_longest_email_and_phone_and_the_largest_body_are_accepted() {
    let app = spawn().await;

    stored::check_limits(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_genuine_signature_among_sixteen_entries_is_accepted() {
    let app = spawn().await;
    let before = app.db.counts().await;

    let response = signatures::among_forged(BEFORE_USER_CREATED, 15)
        .send(&app.client)
        .await;

    assert_eq!(response.0.status().as_u16(), 200);
    assert_eq!(
        app.db.counts().await[0],
        before[0] + 1,
        "the user was mirrored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn supabase_comma_joined_signatures_are_accepted() {
    let app = spawn().await;
    let request = good(AUTH_USERS);
    let genuine = request.header("webhook-signature");
    let forged = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    let response = request
        .with("webhook-signature", format!("{forged}, {genuine}"))
        .send(&app.client)
        .await;

    assert_eq!(response.0.status().as_u16(), 200);
}
