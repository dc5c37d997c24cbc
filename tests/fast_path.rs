//! The token-refresh fast path: an unchanged user's refresh is answered without the
//! database, its version still moves (in the background), and a change to an
//! identity made by another replica is announced to this one.

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

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_users_refresh_writes_nothing_until_its_version_is_flushed() {
    let db = TestDb::create().await;
    let Running {
        client, mirroring, ..
    } = &app(&db).await;
    let path = "/hooks/custom-access-token";
    let first = support::send(client, path, &token(1_768_475_700, "ada@example.com")).await;
    assert_eq!(outcome(&first), "created");
    // Until the listener for other replicas' changes is connected (in the background),
    // refreshes go to the database: wait for one that does not.
    let mut iat = 1_768_475_700;
    let mut written = Vec::new();
    let skipped = loop {
        let ledger = db.counts().await;
        let before = db.user(ADA).await.unwrap().user.source_updated_at;
        iat += 60;
        let refresh = support::send(client, path, &token(iat, "ada@example.com")).await;
        refresh.assert_status_is_ok();
        assert_eq!(outcome(&refresh), "unchanged");
        if db.counts().await == ledger {
            break before;
        }
        written.push(iat);
        assert!(written.len() < 50, "every refresh went to the database");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };

    let unflushed = db.user(ADA).await.unwrap().user.source_updated_at;
    mirroring.flush().await;
    let after = db.user(ADA).await.unwrap().user.source_updated_at;
    assert_eq!(unflushed, skipped, "nothing was written");
    assert_eq!(after.timestamp(), iat, "the version moved in the flush");

    let changed = support::send(client, path, &token(iat + 60, "ada.k@example.com")).await;
    assert_eq!(
        outcome(&changed),
        "updated",
        "a new identity always goes to the database"
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
    assert_eq!(next(&mut notices).await, Some(ChangeNotice::Changed(id)));
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
