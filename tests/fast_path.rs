//! The token-refresh fast path: an unchanged user's refresh is answered without the
//! database, its version still moves (in the background), a refresh older than the
//! mirrored one is answered stale without the database, and a change to an identity
//! made by another replica is announced to this one.

mod support;

use serde_json::json;
use supahook::storage::{Backend, ChangeNotice, Storage};
use support::{Options, Running, TestDb, fixture_json, outcome};
use uuid::Uuid;

const ADA: &str = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";

/// Ada's token, issued at `iat` with this email.
fn token(iat: i64, email: &str) -> Vec<u8> {
    let mut body = fixture_json("custom-access-token.json");
    body["metadata"]["uuid"] = json!(Uuid::new_v4());
    body["claims"]["iat"] = json!(iat);
    body["claims"]["email"] = json!(email);
    body.to_string().into_bytes()
}

async fn app(db: &TestDb) -> Running {
    let options = Options {
        env: vec![("SUPAHOOK_DB_POOL_SIZE", "4".into())],
        ..Options::default()
    };
    support::start(&db.url, options).await
}

/// Mirrors Ada, then sends her refreshes, each a minute newer than the last, until one
/// is answered without the database: until the listener for other replicas' changes is
/// connected (in the background), refreshes go to the database. Returns the `iat` of
/// that refresh and the version the mirror held before it.
async fn until_answered_without_database(
    client: &support::Client,
    db: &TestDb,
) -> (i64, chrono::DateTime<chrono::Utc>) {
    let path = "/hooks/custom-access-token";
    let mut iat = 1_768_475_700;
    let first = support::send(client, path, &token(iat, "ada@example.com")).await;
    assert_eq!(outcome(&first), "created");
    for _ in 0..50 {
        let ledger = db.counts().await;
        let before = db.user(ADA).await.unwrap().user.source_updated_at;
        iat += 60;
        let refresh = support::send(client, path, &token(iat, "ada@example.com")).await;
        refresh.assert_status_is_ok();
        assert_eq!(outcome(&refresh), "unchanged");
        if db.counts().await == ledger {
            return (iat, before);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("every refresh went to the database");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_users_refresh_writes_nothing_until_its_version_is_flushed() {
    let db = TestDb::create().await;
    let Running {
        client, mirroring, ..
    } = &app(&db).await;
    let path = "/hooks/custom-access-token";
    let (iat, skipped) = until_answered_without_database(client, &db).await;

    let unflushed = db.user(ADA).await.unwrap().user.source_updated_at;
    mirroring.flush().await;
    let after = db.user(ADA).await.unwrap().user.source_updated_at;
    // Nothing but the flush writes it: the one here, or the background one (every
    // second), which on a loaded machine may come first.
    assert!(
        unflushed == skipped || unflushed.timestamp() == iat,
        "only a flush moves the version: {unflushed} {skipped}"
    );
    assert_eq!(after.timestamp(), iat, "the version moved in the flush");

    let changed = support::send(client, path, &token(iat + 60, "ada.k@example.com")).await;
    assert_eq!(
        outcome(&changed),
        "updated",
        "a new identity always goes to the database"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refreshes_older_than_the_mirrored_one_are_stale_without_the_database() {
    let db = TestDb::create().await;
    let Running {
        client, mirroring, ..
    } = &app(&db).await;
    let path = "/hooks/custom-access-token";
    let (newest, _) = until_answered_without_database(client, &db).await;
    mirroring.flush().await;
    let ledger = db.counts().await;

    // Other sessions' refreshes, issued earlier, arrive late and in any order.
    let mut answers = Vec::new();
    for iat in [newest - 30, 1_768_475_701, newest - 1, newest - 59] {
        let late = token(iat, "ada@example.com");
        let answer = support::send(client, path, &late).await;
        answer.assert_status_is_ok();
        let retry = support::send(client, path, &late).await;
        answers.push((outcome(&answer), outcome(&retry)));
    }
    mirroring.flush().await;

    let stale = ("stale".to_owned(), "duplicate".to_owned());
    assert_eq!(answers, vec![stale; 4]);
    assert_eq!(db.counts().await, ledger, "no ledger row, no write");
    let version = db.user(ADA).await.unwrap().user.source_updated_at;
    assert_eq!(version.timestamp(), newest, "the newest refresh still wins");

    let renamed_late = support::send(client, path, &token(newest - 10, "ada.k@example.com")).await;
    assert_eq!(outcome(&renamed_late), "stale");
    assert_eq!(
        db.counts().await[2],
        ledger[2] + 1,
        "an older token with another identity goes to the database"
    );
    assert_eq!(
        db.user(ADA).await.unwrap().user.email.as_deref(),
        Some("ada@example.com")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_hears_which_users_another_replica_changed() {
    let db = TestDb::create_postgres().await;
    let writer = app(&db).await;
    let listener = Storage::open(&db.url, 2).unwrap();
    let (heard, mut notices) = tokio::sync::mpsc::unbounded_channel();
    let listening = listener.watch_changes(std::sync::Arc::new(move |notice| {
        let _ = heard.send(notice);
    }));
    tokio::spawn(listening.expect("PostgreSQL tells of other replicas' changes"));
    assert_eq!(next(&mut notices).await, Some(ChangeNotice::Listening));

    let path = "/hooks/custom-access-token";
    let created = support::send(&writer.client, path, &token(1_768_475_700, "a@example.com")).await;
    let renamed = support::send(&writer.client, path, &token(1_768_475_760, "b@example.com")).await;

    assert_eq!(
        outcome(&created),
        "created",
        "a new user is nobody's to forget"
    );
    assert_eq!(outcome(&renamed), "updated");
    let id: Uuid = ADA.parse().unwrap();
    let mut notice = next(&mut notices).await;
    while notice == Some(ChangeNotice::EventsRecorded) {
        // The lifecycle events of the same changes are announced on their own channel.
        notice = next(&mut notices).await;
    }
    assert_eq!(notice, Some(ChangeNotice::Changed(id)));
}

/// The next notice, waiting at most ten seconds.
async fn next(
    notices: &mut tokio::sync::mpsc::UnboundedReceiver<ChangeNotice>,
) -> Option<ChangeNotice> {
    let wait = std::time::Duration::from_secs(10);
    tokio::time::timeout(wait, notices.recv())
        .await
        .expect("a notice within 10 s")
}
