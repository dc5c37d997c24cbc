//! Lifecycle events published to NATS JetStream by the real app: each event reaches
//! `<prefix>.<type>` once, in the outbox's order; an event published again is stored
//! once (`Nats-Msg-Id`); the publisher resumes from its cursor after a restart; on
//! PostgreSQL one replica publishes and another takes over when it stops; while NATS is
//! unreachable hooks are answered as ever and the events wait, published once it is back.
//!
//! Needs a NATS server with JetStream at `TEST_NATS_URL` (`nats://127.0.0.1:4222` when
//! unset; `nats-server -js`): the suite fails when it cannot reach it. Each test uses a
//! stream and subject prefix of its own.

mod support;

use async_nats::jetstream::{self, message::PublishMessage, stream::Stream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use supahook::storage::{OutboxQueries, RecordedEvent, Storage};
use support::{Options, Running, TestApp, TestDb, fixture};
use tokio::net::{TcpListener, TcpStream};

const PATH: &str = "/hooks/auth-users";

fn nats_url() -> String {
    std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A stream and subject prefix no other test run uses.
struct Place {
    stream: String,
    prefix: String,
}

impl Place {
    fn new() -> Self {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        Self {
            stream: format!("SUPAHOOK_TEST_{tag}"),
            prefix: format!("supahook_test_{tag}"),
        }
    }

    /// The app's options to publish here.
    fn options(&self) -> Options {
        self.options_through(nats_url())
    }

    /// The app's options to publish here through the NATS server at `url`.
    fn options_through(&self, url: String) -> Options {
        Options {
            env: vec![
                ("SUPAHOOK_EVENTS_NATS_URL", url),
                ("SUPAHOOK_EVENTS_NATS_STREAM", self.stream.clone()),
                ("SUPAHOOK_EVENTS_NATS_SUBJECT_PREFIX", self.prefix.clone()),
            ],
            ..Options::default()
        }
    }
}

/// The test's own JetStream client.
async fn jetstream() -> jetstream::Context {
    let client = async_nats::connect(nats_url()).await.unwrap_or_else(|e| {
        panic!(
            "no NATS server at {} ({e}): start one with JetStream (`nats-server -js`) \
             or set TEST_NATS_URL",
            nats_url()
        )
    });
    jetstream::new(client)
}

/// Delivers the signed-trigger fixtures `names`, each under a new key.
async fn deliver(app: &Running, names: &[&str]) {
    for name in names {
        support::send(&app.client, PATH, &fixture(name))
            .await
            .assert_status_is_ok();
    }
}

/// Every recorded event, in position order.
async fn outbox(db: &TestDb) -> Vec<RecordedEvent> {
    let storage = Storage::open(&db.url, 1).expect("open storage");
    storage.list_events(0, 500).await.expect("read the outbox")
}

/// Waits until the publisher's cursor reaches the outbox's last position.
async fn caught_up(db: &TestDb, place: &Place) {
    caught_up_within(db, place, Duration::from_secs(20)).await
}

/// Waits at most `limit` until the publisher's cursor reaches the outbox's last position.
async fn caught_up_within(db: &TestDb, place: &Place, limit: Duration) {
    let cursor = format!(
        "SELECT COALESCE((SELECT position FROM nats_cursor WHERE stream = '{}'), 0)",
        place.stream
    );
    let last = "SELECT COALESCE(max(position), 0) FROM outbox_events";
    let deadline = Instant::now() + limit;
    loop {
        let (at, end) = (db.scalar(&cursor).await, db.scalar(last).await);
        if at == end && end > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the publisher is at {at}, the outbox at {end}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The messages the stream holds, by sequence: `(subject, Nats-Msg-Id, payload id)`.
async fn stored(js: &jetstream::Context, place: &Place) -> Vec<(String, String, String)> {
    let mut stream: Stream = js.get_stream(&place.stream).await.expect("the stream");
    let count = stream.info().await.expect("stream info").state.messages;
    let mut messages = Vec::new();
    for sequence in 1..=count {
        let message = stream.get_raw_message(sequence).await.expect("a message");
        let msg_id = message
            .headers
            .get("Nats-Msg-Id")
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let payload: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
        let id = payload["id"].as_str().unwrap_or_default().to_owned();
        messages.push((message.subject.to_string(), msg_id, id));
    }
    messages
}

/// What the stream must hold for `events`: each once, in order.
fn published(place: &Place, events: &[RecordedEvent]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|e| {
            let id = e.id.to_string();
            (format!("{}.{}", place.prefix, e.kind), id.clone(), id)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_event_reaches_its_subject_once_in_order() {
    let js = jetstream().await;
    let place = Place::new();
    let app = TestApp::spawn_with(place.options()).await;

    let names = [
        "db-insert-auth-users.json",
        "db-update-auth-users.json",
        "db-update-auth-users-ban.json",
    ];
    deliver(&app, &names).await;
    caught_up(&app.db, &place).await;

    let events = outbox(&app.db).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"user.created"));
    assert_eq!(kinds.last(), Some(&"user.banned"));
    assert_eq!(stored(&js, &place).await, published(&place, &events));
    let first = js
        .get_stream(&place.stream)
        .await
        .unwrap()
        .get_raw_message(1)
        .await
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&first.payload).unwrap();
    assert_eq!(payload["type"], "user.created");
    assert_eq!(payload["sequence"], 1);
    assert_eq!(payload["data"]["user"]["email"], "ada.lovelace@example.com");
    js.delete_stream(&place.stream).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_published_again_is_stored_once() {
    let js = jetstream().await;
    let place = Place::new();
    let db = TestDb::create().await;
    let app = support::start(&db.url, place.options()).await;
    deliver(
        &app,
        &["db-insert-auth-users.json", "db-update-auth-users.json"],
    )
    .await;
    caught_up(&db, &place).await;
    drop(app);

    // As after a crash between JetStream's acks and the cursor's write: every event
    // is published again, by the app and by hand.
    db.execute("UPDATE nats_cursor SET position = 0").await;
    let again = support::start(&db.url, place.options()).await;
    caught_up(&db, &place).await;
    let events = outbox(&db).await;
    let first = &events[0];
    let ack = js
        .send_publish(
            format!("{}.{}", place.prefix, first.kind),
            PublishMessage::build()
                .payload(serde_json::to_vec(&first.payload()).unwrap().into())
                .message_id(first.id.to_string()),
        )
        .await
        .unwrap()
        .await
        .unwrap();

    assert!(ack.duplicate, "JetStream took the copy as new: {ack:?}");
    assert_eq!(stored(&js, &place).await, published(&place, &events));
    drop(again);
    js.delete_stream(&place.stream).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_publisher_resumes_from_its_cursor_after_a_restart() {
    let js = jetstream().await;
    let place = Place::new();
    // A duplicate window of a second: past it, a message published again would be
    // stored again, so the stream shows what the publisher sent.
    js.create_stream(jetstream::stream::Config {
        name: place.stream.clone(),
        subjects: vec![format!("{}.>", place.prefix)],
        duplicate_window: Duration::from_secs(1),
        ..Default::default()
    })
    .await
    .expect("create the stream");
    let db = TestDb::create().await;
    let first = support::start(&db.url, place.options()).await;
    deliver(
        &first,
        &["db-insert-auth-users.json", "db-update-auth-users.json"],
    )
    .await;
    caught_up(&db, &place).await;
    drop(first);
    // Changes made while no publisher runs.
    let unpublished = support::start(&db.url, Options::default()).await;
    deliver(&unpublished, &["db-delete-auth-users.json"]).await;
    drop(unpublished);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let resumed = support::start(&db.url, place.options()).await;
    caught_up(&db, &place).await;

    let events = outbox(&db).await;
    assert_eq!(events.last().map(|e| e.kind.as_str()), Some("user.deleted"));
    assert_eq!(stored(&js, &place).await, published(&place, &events));
    drop(resumed);
    js.delete_stream(&place.stream).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_replica_publishes_and_another_takes_over_when_it_stops() {
    let js = jetstream().await;
    let place = Place::new();
    let db = TestDb::create_postgres().await;
    let first = support::start(&db.url, place.options()).await;
    deliver(&first, &["db-insert-auth-users.json"]).await;
    caught_up(&db, &place).await;
    // The first holds the lease by now; the second stands by.
    let second = support::start(&db.url, place.options()).await;
    deliver(&second, &["db-update-auth-users.json"]).await;
    caught_up(&db, &place).await;
    let leases = "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
                  WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted \
                  AND d.datname = current_database()";
    assert_eq!(db.scalar(leases).await, 1, "publishers holding the lease");

    // The publishing replica stops; the other takes over.
    drop(first);
    deliver(&second, &["db-update-auth-users-ban.json"]).await;
    caught_up(&db, &place).await;

    let events = outbox(&db).await;
    assert_eq!(stored(&js, &place).await, published(&place, &events));
    drop(second);
    js.delete_stream(&place.stream).await.unwrap();
}

/// A TCP proxy in front of NATS that can be switched off: every connection through it
/// is closed and new ones are closed at once, as when the server is down.
struct Switch {
    port: u16,
    up: Arc<AtomicBool>,
}

impl Switch {
    async fn start() -> Self {
        let target = nats_url()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .expect("TEST_NATS_URL ends in a port");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let on = up.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let on = on.clone();
                tokio::spawn(async move {
                    if !on.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut client, &mut server);
                    let off = async {
                        while on.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! {
                        _ = copy => {}
                        () = off => {}
                    }
                });
            }
        });
        Self { port, up }
    }

    fn set(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn while_nats_is_down_hooks_are_answered_and_events_wait_for_it() {
    let js = jetstream().await;
    let place = Place::new();
    let switch = Switch::start().await;
    let through_switch = place.options_through(format!("nats://127.0.0.1:{}", switch.port));
    let app = TestApp::spawn_with(through_switch).await;
    deliver(&app, &["db-insert-auth-users.json"]).await;
    caught_up(&app.db, &place).await;

    switch.set(false);
    // The switch closes the open connections within 20 ms.
    tokio::time::sleep(Duration::from_millis(200)).await;
    deliver(&app, &["db-update-auth-users.json"]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cursor = format!(
        "SELECT position FROM nats_cursor WHERE stream = '{}'",
        place.stream
    );
    let waiting = "SELECT count(*) FROM outbox_events WHERE position > ";
    let held = app.db.scalar(&cursor).await;
    assert!(app.db.scalar(&format!("{waiting}{held}")).await > 0);

    switch.set(true);
    caught_up_within(&app.db, &place, Duration::from_secs(60)).await;

    let events = outbox(&app.db).await;
    assert_eq!(stored(&js, &place).await, published(&place, &events));
    js.delete_stream(&place.stream).await.unwrap();
}
