//! Signed webhooks of lifecycle events (`SUPAHOOK_EVENTS_ENDPOINTS`), against a real
//! receiver listening on loopback: every event arrives signed with the events secret,
//! in order per user, through failures; `410` disables the endpoint; `Retry-After` is
//! honoured; `supahook events redeliver` sends a window again; and two replicas on one
//! PostgreSQL database deliver each event once; and events still waited for are not pruned.

#[path = "support/process.rs"]
mod process;
mod support;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, handler, post};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use supahook::signature::{SignedHeaders, SigningKey, Verifier};
use support::{Options, SECRET, Signing, TestApp, fixture_json};

/// The secret supahook signs its own webhooks with.
const EVENTS_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How long a test waits for deliveries before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// One request the receiver took.
#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    body: Value,
    verified: bool,
    answered: u16,
}

/// What the receiver answers, in turn; 200 once the script is used up.
#[derive(Default)]
struct Script {
    answers: VecDeque<(u16, Option<&'static str>)>,
    received: Vec<Received>,
}

/// A webhook receiver on a loopback port, as an application would run one.
struct Receiver {
    url: String,
    script: Arc<Mutex<Script>>,
}

#[handler]
async fn receive(request: &Request, body: Vec<u8>, script: Data<&Arc<Mutex<Script>>>) -> Response {
    let header = |name: &str| request.header(name);
    let headers = SignedHeaders {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
    };
    let key = SigningKey::parse(&format!("v1,{EVENTS_SECRET}")).unwrap();
    let now = chrono::Utc::now().timestamp();
    let verified = Verifier::new(vec![key]).verify(headers, &body, now).is_ok()
        && header("webhook-id").map(str::to_owned)
            == serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|b| b["id"].as_str().map(str::to_owned));
    let mut script = script.lock().unwrap();
    let (status, retry_after) = script.answers.pop_front().unwrap_or((200, None));
    script.received.push(Received {
        at: Instant::now(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        verified,
        answered: status,
    });
    let mut response =
        Response::builder().status(poem::http::StatusCode::from_u16(status).unwrap());
    if let Some(wait) = retry_after {
        response = response.header("retry-after", wait);
    }
    response.finish()
}

impl Receiver {
    /// A receiver answering `answers` in turn, then 200.
    async fn start(answers: &[(u16, Option<&'static str>)]) -> Self {
        let script = Arc::new(Mutex::new(Script {
            answers: answers.iter().copied().collect(),
            received: Vec::new(),
        }));
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let app = Route::new().at("/hook", post(receive)).data(script.clone());
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        Self {
            url: format!("http://{addr}/hook"),
            script,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// The requests answered 2xx.
    fn delivered(&self) -> Vec<Received> {
        let all = self.received();
        all.into_iter().filter(|r| r.answered / 100 == 2).collect()
    }

    /// Waits until `done` holds of the requests received, or fails.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(&self.received()) {
            assert!(
                Instant::now() < deadline,
                "waited in vain for {what}: {:?}",
                self.received()
                    .iter()
                    .map(|r| (
                        r.answered,
                        r.body["user_id"].clone(),
                        r.body["sequence"].clone()
                    ))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The settings of an app that pushes to `url`, retrying quickly.
fn pushing_to(url: &str) -> Options {
    Options {
        env: vec![
            ("SUPAHOOK_EVENTS_ENDPOINTS", url.to_owned()),
            ("SUPAHOOK_EVENTS_SECRETS", EVENTS_SECRET.to_owned()),
            ("SUPAHOOK_EVENTS_BACKOFF_MS", "20".to_owned()),
        ],
        ..Options::default()
    }
}

/// Signs up the user `id` (one `user.created`), then changes its email twice (each a
/// `user.updated` and a `user.email_changed`): five events.
async fn sign_up_and_change(app: &support::Running, id: &str) {
    let mut record = fixture_json("db-insert-auth-users.json")["record"].clone();
    record["id"] = json!(id);
    let mut old = Value::Null;
    for (minute, email) in ["first", "second", "third"].iter().enumerate() {
        record["email"] = json!(format!("{email}-{id}@example.com"));
        record["updated_at"] = json!(format!("2026-01-15T10:{minute:02}:00+00:00"));
        let kind = if old.is_null() { "INSERT" } else { "UPDATE" };
        let body = json!({
            "type": kind, "table": "users", "schema": "auth",
            "record": record, "old_record": old,
            "changed_at": format!("2026-01-15T10:{minute:02}:00+00:00"),
        });
        let body = serde_json::to_vec(&body).unwrap();
        let key = format!("msg_{id}_{minute}");
        let signing = Signing::new(&key, SECRET, support::now());
        support::signed_request(&app.client, "/hooks/auth-users", &body, signing)
            .send()
            .await
            .assert_status_is_ok();
        old = record.clone();
    }
}

/// Each user's sequences in the order they were delivered.
fn sequences_by_user(delivered: &[Received]) -> BTreeMap<String, Vec<i64>> {
    let mut users: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in delivered {
        let user = r.body["user_id"].as_str().unwrap().to_owned();
        users
            .entry(user)
            .or_default()
            .push(r.body["sequence"].as_i64().unwrap());
    }
    users
}

fn user_id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_fails_five_times_then_answers_gets_every_event_in_order() {
    let receiver = Receiver::start(&[(500, None); 5]).await;
    let app = TestApp::spawn_with(pushing_to(&receiver.url)).await;
    let users: Vec<String> = (1..=3).map(user_id).collect();

    for user in &users {
        sign_up_and_change(&app, user).await;
    }
    receiver
        .wait_for("15 events delivered", |r| {
            r.iter().filter(|r| r.answered == 200).count() >= 15
        })
        .await;

    let delivered = receiver.delivered();
    assert!(
        receiver.received().iter().all(|r| r.verified),
        "every request is signed"
    );
    assert_eq!(
        receiver.received().len(),
        20,
        "five failures, then each event once"
    );
    let by_user = sequences_by_user(&delivered);
    assert_eq!(by_user.len(), 3);
    for (user, sequences) in by_user {
        assert_eq!(
            sequences,
            [1, 2, 3, 4, 5],
            "{user}'s events in order, each once"
        );
    }
    let attempts = "SELECT count(*) FROM push_attempts";
    wait_for_rows(&app.db, attempts, 20).await;
    let failed = "SELECT count(*) FROM push_attempts WHERE status = 500";
    assert_eq!(app.db.scalar(failed).await, 5, "every attempt is recorded");
    let received = receiver.received();
    let first = received[0].body["id"].as_str().unwrap();
    let page = admin_get(
        &app,
        &format!("/v1/event-webhooks/attempts?event_id={first}"),
    )
    .await;
    let statuses: Vec<&Value> = page["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(
        statuses.last(),
        Some(&&json!(500)),
        "its first attempt failed"
    );
    assert_eq!(
        statuses.first(),
        Some(&&json!(200)),
        "its last one delivered it"
    );
    let endpoints = admin_get(&app, "/v1/event-webhooks/endpoints").await;
    assert_eq!(endpoints["endpoints"][0]["url"], receiver.url);
    assert_eq!(endpoints["endpoints"][0]["enabled"], true);
    assert_eq!(endpoints["endpoints"][0]["outstanding"], 0);
    let anonymous = app.client.get("/v1/event-webhooks/attempts").send().await;
    anonymous.assert_status(poem::http::StatusCode::UNAUTHORIZED);
}

/// A successful read of the admin API at `path`.
async fn admin_get(app: &TestApp, path: &str) -> Value {
    let response = app
        .client
        .get(path)
        .header("authorization", format!("Bearer {}", support::ADMIN_TOKEN))
        .send()
        .await;
    response.assert_status_is_ok();
    response.json().await.value().deserialize()
}

/// Waits until `count` finds `rows`, or fails.
async fn wait_for_rows(db: &support::TestDb, count: &str, rows: i64) {
    let deadline = Instant::now() + PATIENCE;
    while db.scalar(count).await != rows {
        assert!(
            Instant::now() < deadline,
            "waited in vain: {count} is not {rows}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_410_disables_the_endpoint() {
    let receiver = Receiver::start(&[(410, None)]).await;
    let app = TestApp::spawn_with(pushing_to(&receiver.url)).await;

    sign_up_and_change(&app, &user_id(1)).await;
    receiver
        .wait_for("the first attempt", |r| !r.is_empty())
        .await;
    let disabled = "SELECT count(*) FROM push_endpoints WHERE disabled_at IS NOT NULL";
    wait_for_rows(&app.db, disabled, 1).await;
    sign_up_and_change(&app, &user_id(2)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(
        receiver.received().len(),
        1,
        "nothing is sent to a disabled endpoint"
    );
    let refused = "SELECT count(*) FROM push_attempts WHERE status = 410";
    assert_eq!(app.db.scalar(refused).await, 1, "the attempt is recorded");
    let endpoints = admin_get(&app, "/v1/event-webhooks/endpoints").await;
    let endpoint = &endpoints["endpoints"][0];
    assert_eq!(endpoint["enabled"], false);
    assert_eq!(
        endpoint["outstanding"], 10,
        "every event of both users waits for it, queued or after its cursor: {endpoint}"
    );
    assert!(
        endpoint["oldest_outstanding_since"].is_string(),
        "{endpoint}"
    );

    let _restarted = support::start(&app.db.url, pushing_to(&receiver.url)).await;

    receiver
        .wait_for("every event after the restart", |r| r.len() >= 11)
        .await;
    for (user, sequences) in sequences_by_user(&receiver.delivered()) {
        assert_eq!(
            sequences,
            [1, 2, 3, 4, 5],
            "{user}'s events waited, in order"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured() {
    let receiver = Receiver::start(&[(503, Some("1"))]).await;
    let app = TestApp::spawn_with(pushing_to(&receiver.url)).await;

    sign_up_and_change(&app, &user_id(1)).await;
    receiver
        .wait_for("five events delivered", |r| {
            r.iter().filter(|r| r.answered == 200).count() >= 5
        })
        .await;

    let received = receiver.received();
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}, asked for 1 s"
    );
    assert_eq!(
        received[0].body["id"], received[1].body["id"],
        "the same event again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redeliver_sends_a_window_again_in_order() {
    let receiver = Receiver::start(&[]).await;
    let app = TestApp::spawn_with(pushing_to(&receiver.url)).await;
    let before = chrono::Utc::now();
    sign_up_and_change(&app, &user_id(1)).await;
    receiver
        .wait_for("five events delivered", |r| r.len() >= 5)
        .await;
    let dir = process::WorkDir::new("redeliver");
    let since = before.to_rfc3339();

    let output = process::run(
        dir.path(),
        &[
            ("DATABASE_URL", &app.db.url),
            ("SUPAHOOK_EVENTS_ENDPOINTS", &receiver.url),
            ("SUPAHOOK_EVENTS_SECRETS", EVENTS_SECRET),
        ],
        &[
            "events",
            "redeliver",
            "--since",
            &since,
            "--type",
            "user.email_changed",
        ],
    );

    process::assert_ok(&output, "events redeliver");
    assert!(process::stdout(&output).contains("2 events queued again"));
    receiver
        .wait_for("two events sent again", |r| r.len() >= 7)
        .await;
    let again: Vec<Value> = receiver.received()[5..]
        .iter()
        .map(|r| json!([r.body["type"], r.body["sequence"]]))
        .collect();
    assert_eq!(
        again,
        [
            json!(["user.email_changed", 3]),
            json!(["user.email_changed", 5])
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_deliver_each_event_once() {
    if support::Backend::from_env() == support::Backend::Sqlite {
        return; // SQLite is one process: there is no second replica to share with.
    }
    let receiver = Receiver::start(&[]).await;
    let app = TestApp::spawn_with(pushing_to(&receiver.url)).await;
    let other = support::start(&app.db.url, pushing_to(&receiver.url)).await;

    for n in 1..=10 {
        let replica = if n % 2 == 0 { &*app } else { &other };
        sign_up_and_change(replica, &user_id(n)).await;
    }
    receiver
        .wait_for("50 events delivered", |r| r.len() >= 50)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let received = receiver.received();
    let mut ids: Vec<&str> = received
        .iter()
        .map(|r| r.body["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((received.len(), ids.len()), (50, 50), "each event once");
    for (user, sequences) in sequences_by_user(&received) {
        assert_eq!(sequences, [1, 2, 3, 4, 5], "{user}'s events in order");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_an_endpoint_still_waits_for_are_not_pruned() {
    use supahook::storage::OutboxQueries;
    let receiver = Receiver::start(&[(500, None); 1000]).await;
    let app = TestApp::spawn_with(pushing_to(&receiver.url)).await;
    sign_up_and_change(&app, &user_id(1)).await;
    receiver
        .wait_for("a first attempt", |r| !r.is_empty())
        .await;
    let later = chrono::Utc::now() + chrono::TimeDelta::days(1);

    let removed = app.mirroring.storage().forget_events(later).await.unwrap();

    assert_eq!(removed, 0, "every event still waits for the endpoint");
    let kept = app.db.scalar("SELECT count(*) FROM outbox_events").await;
    assert_eq!(kept, 5);
    let quiet = TestApp::spawn().await;
    sign_up_and_change(&quiet, &user_id(1)).await;
    let removed = quiet
        .mirroring
        .storage()
        .forget_events(later)
        .await
        .unwrap();
    assert_eq!(
        removed, 4,
        "without endpoints, all but the user's last event"
    );
}
