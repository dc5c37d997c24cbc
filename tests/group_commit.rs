//! Group commit: deliveries waiting together share a transaction, yet each keeps its
//! own outcome; one bad delivery fails alone; a lost connection fails its batch with
//! 503-able errors and writes nothing; overlapping batches never deadlock.

mod support;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::join_all;
use std::sync::Arc;
use supahook::events::{Deletion, Delivery, HookKind, PersonName, UserChange, UserRecord};
use supahook::mirror::{DeleteMode, EventTypes, Outcome, SignUpPolicy};
use supahook::mirroring::{Handled, Mirroring};
use supahook::storage::{Backend, Batch, GroupCommit, Request, Storage, StorageError};
use support::TestDb;
use uuid::Uuid;

fn record(id: Uuid, email: &str, second: i64) -> UserRecord {
    UserRecord {
        id,
        version: DateTime::<Utc>::from_timestamp(1_770_000_000 + second, 0).unwrap(),
        email: Some(email.to_owned()),
        phone: None,
        name: PersonName::default(),
        avatar_url: None,
        auth_provider: Some("email".into()),
        providers: vec!["email".into()],
        is_anonymous: false,
        user_metadata: serde_json::json!({}),
        app_metadata: serde_json::json!({ "provider": "email" }),
        activity: None,
        auth_created_at: None,
        provisional: false,
        metadata_blanked: false,
        is_sso_user: None,
    }
}

fn delivery(key: &str, record: UserRecord) -> Delivery {
    Delivery {
        hook: HookKind::CustomAccessToken,
        idempotency_key: key.to_owned(),
        webhook_id: key.to_owned(),
        change: UserChange::Upsert(Arc::new(record)),
    }
}

async fn writer(db: &TestDb, writers: usize) -> GroupCommit {
    let storage = Storage::open(&db.url, 8).unwrap();
    storage.migrate().await.unwrap();
    GroupCommit::start(
        storage,
        DeleteMode::Soft,
        Arc::default(),
        writers,
        (EventTypes::default(), Default::default()),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_that_fails_in_a_batch_fails_alone() {
    let db = TestDb::create_postgres().await;
    let writer = writer(&db, 1).await;
    let mut deliveries: Vec<Delivery> = (0..20)
        .map(|n| {
            delivery(
                &format!("k{n}"),
                record(Uuid::new_v4(), &format!("u{n}@example.com"), n),
            )
        })
        .collect();
    // PostgreSQL refuses NUL in text: this one cannot be written.
    deliveries[7] = delivery("bad", record(Uuid::new_v4(), "nul\0@example.com", 7));

    let results = join_all(deliveries.into_iter().map(|d| writer.apply(d))).await;

    for (n, result) in results.iter().enumerate() {
        match (n, result) {
            (7, Err(StorageError::Query(_))) => {}
            (7, other) => panic!("the bad delivery gave {other:?}"),
            (_, Ok(applied)) => assert_eq!(applied.outcome, Outcome::Created, "delivery {n}"),
            (_, Err(e)) => panic!("delivery {n} failed with the bad one: {e}"),
        }
    }
    assert_eq!(db.counts().await, [19, 19, 19]);
}

#[tokio::test(flavor = "multi_thread")]
async fn more_deliveries_than_a_batch_holds_all_apply_once_with_their_own_outcomes() {
    let db = TestDb::create().await;
    let writer = writer(&db, 1).await;
    let id = Uuid::new_v4();
    let mut deliveries: Vec<Delivery> = (0..150)
        .map(|n| {
            delivery(
                &format!("k{n}"),
                record(Uuid::new_v4(), &format!("u{n}@example.com"), n),
            )
        })
        .collect();
    // The same delivery three times, and a second, newer one for the same user.
    deliveries.push(delivery("same", record(id, "a@example.com", 1)));
    deliveries.push(delivery("same", record(id, "a@example.com", 1)));
    deliveries.push(delivery("newer", record(id, "b@example.com", 2)));
    deliveries.push(delivery("same", record(id, "a@example.com", 1)));

    let results = join_all(deliveries.into_iter().map(|d| writer.apply(d))).await;

    let outcomes: Vec<Outcome> = results.into_iter().map(|r| r.unwrap().outcome).collect();
    assert!(outcomes[..150].iter().all(|o| *o == Outcome::Created));
    let mut ada = outcomes[150..].to_vec();
    ada.sort_by_key(|o| o.as_str());
    assert_eq!(ada.iter().filter(|o| **o == Outcome::Duplicate).count(), 2);
    assert_eq!(db.counts().await, [151, 151, 152]);
    assert_eq!(
        db.user(&id.to_string())
            .await
            .unwrap()
            .user
            .email
            .as_deref(),
        Some("b@example.com")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_over_the_same_users_in_any_order_never_deadlock() {
    let db = TestDb::create().await;
    let writer = writer(&db, 4).await;
    let users: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    let deliveries: Vec<Delivery> = (0..300)
        .map(|n| {
            let id = users[(n * 7 + n / 5) % users.len()];
            delivery(
                &format!("k{n}"),
                record(id, &format!("v{n}@example.com"), n as i64),
            )
        })
        .collect();

    let results = join_all(deliveries.into_iter().rev().map(|d| writer.apply(d))).await;

    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    for (i, id) in users.iter().enumerate() {
        let last = (0..300)
            .rev()
            .find(|n| (n * 7 + n / 5) % users.len() == i)
            .unwrap();
        let user = db.user(&id.to_string()).await.unwrap().user;
        assert_eq!(user.email, Some(format!("v{last}@example.com")));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_lost_mid_batch_fails_the_batch_as_unavailable_and_writes_nothing() {
    let db = TestDb::create_postgres().await;
    let writer = writer(&db, 1).await;
    let id = Uuid::new_v4();
    // Hold the user's lock so the batch waits inside its transaction.
    let mut holder = AsyncPgConnection::establish(&db.url).await.unwrap();
    holder_lock(&mut holder, id).await;
    let pending = tokio::spawn({
        let writer = writer.clone();
        async move {
            writer
                .apply(delivery("k", record(id, "a@example.com", 1)))
                .await
        }
    });
    let mut admin = AsyncPgConnection::establish(&db.url).await.unwrap();
    let waiting = format!("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE {WAITING}");
    let mut terminated = 0;
    for _ in 0..100 {
        terminated = diesel::sql_query(&waiting)
            .execute(&mut admin)
            .await
            .unwrap();
        if terminated > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let result = pending.await.unwrap();

    assert_eq!(terminated, 1, "the batch was waiting for the lock");
    assert!(
        matches!(result, Err(StorageError::Unavailable(_))),
        "{result:?}"
    );
    drop(holder);
    assert_eq!(db.counts().await, [0, 0, 0]);
    let again = writer
        .apply(delivery("k", record(id, "a@example.com", 1)))
        .await;
    assert_eq!(
        again.unwrap().outcome,
        Outcome::Created,
        "a new connection takes over"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_one_writer_the_deliveries_that_wait_for_it_share_the_next_transaction() {
    let db = TestDb::create_postgres().await;
    let storage = Storage::open(&db.url, 8).unwrap();
    storage.migrate().await.unwrap();
    let mirroring = Mirroring::new(storage)
        .with_writers(1)
        .with_budget(std::time::Duration::from_secs(4));
    let first = Uuid::new_v4();
    let mut holder = AsyncPgConnection::establish(&db.url).await.unwrap();
    holder_lock(&mut holder, first).await;
    let apply = |n: i64, id: Uuid| {
        let mirroring = mirroring.clone();
        tokio::spawn(async move {
            let email = format!("u{n}@example.com");
            mirroring
                .apply(&delivery(&format!("k{n}"), record(id, &email, n)))
                .await
        })
    };
    let blocked = apply(0, first);
    until_one_waits(&db).await;

    let others: Vec<Uuid> = (1..=10).map(|_| Uuid::new_v4()).collect();
    let queued: Vec<_> = (1..).zip(&others).map(|(n, id)| apply(n, *id)).collect();
    // Well inside the writer's lock timeout (1 s), well beyond queueing ten jobs.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    diesel::sql_query("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();

    assert!(matches!(
        blocked.await.unwrap(),
        Ok(Handled::Applied(Outcome::Created))
    ));
    for result in join_all(queued).await {
        assert!(matches!(
            result.unwrap(),
            Ok(Handled::Applied(Outcome::Created))
        ));
    }
    let list = |ids: &[Uuid]| {
        ids.iter()
            .map(|id| format!("'{id}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let transactions = |ids: &[Uuid]| {
        format!(
            "SELECT count(DISTINCT xmin::text) FROM users WHERE id IN ({})",
            list(ids)
        )
    };
    assert_eq!(
        db.scalar(&transactions(&others)).await,
        1,
        "one transaction for the ten"
    );
    let mut all = others.clone();
    all.push(first);
    assert_eq!(
        db.scalar(&transactions(&all)).await,
        2,
        "the first had its own"
    );
}

/// Creates, updates, renames, deletes and late snapshots of a few users, interleaved.
fn lives_of(users: &[Uuid]) -> Vec<UserChange> {
    let mut changes = Vec::new();
    for step in 0..6 {
        for (n, &id) in users.iter().enumerate() {
            let mut snapshot = record(id, &format!("u{n}-{step}@example.com"), step);
            snapshot.name.first = Some(format!("Name {step}"));
            let change = match (step, n % 2) {
                (3, removed) => UserChange::Delete(Box::new(Deletion {
                    id,
                    at: DateTime::from_timestamp(1_770_000_000 + 3, 0),
                    removed: removed == 0,
                    last: None,
                })),
                (4, _) => {
                    snapshot.version = DateTime::from_timestamp(1_770_000_000 + 1, 0).unwrap();
                    UserChange::Upsert(Arc::new(snapshot))
                }
                _ => UserChange::Upsert(Arc::new(snapshot)),
            };
            changes.push(change);
        }
    }
    changes
}

#[tokio::test(flavor = "multi_thread")]
async fn one_batch_of_many_changes_per_user_ends_as_applying_them_one_at_a_time() {
    for mode in [DeleteMode::Soft, DeleteMode::Hard] {
        let (together, one_by_one) = (TestDb::create().await, TestDb::create().await);
        let users: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        let changes = lives_of(&users);
        let requests: Vec<Request<'_>> = changes
            .iter()
            .map(|change| Request {
                change,
                ledger: None,
            })
            .collect();
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();

        let storage = Storage::open(&together.url, 2).unwrap();
        storage.migrate().await.unwrap();
        let policy = SignUpPolicy::default();
        let batch = |requests| Batch {
            requests,
            mode,
            policy: &policy,
            now,
            commit: true,
            events: EventTypes::default(),
        };
        let batched = storage.batch(batch(&requests)).await.unwrap();
        let storage = Storage::open(&one_by_one.url, 2).unwrap();
        storage.migrate().await.unwrap();
        let mut singly = Vec::new();
        for request in &requests {
            let applied = storage.batch(batch(std::slice::from_ref(request)));
            singly.extend(applied.await.unwrap());
        }

        assert_eq!(batched, singly, "{mode:?}: outcomes");
        for id in &users {
            let id = id.to_string();
            assert_eq!(
                together.user(&id).await,
                one_by_one.user(&id).await,
                "{mode:?}"
            );
        }
        let tombstones = "SELECT count(*) FROM deleted_users WHERE removed";
        assert_eq!(
            together.scalar(tombstones).await,
            one_by_one.scalar(tombstones).await
        );
        assert_eq!(
            together.counts().await,
            one_by_one.counts().await,
            "{mode:?}"
        );
    }
}

/// Advisory lock waits in the test's own database: the server is shared with tests
/// running at the same time.
const WAITING: &str = "locktype = 'advisory' AND NOT granted \
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/// Returns once one transaction of the test's database waits for an advisory lock.
async fn until_one_waits(db: &TestDb) {
    let count = format!("SELECT count(*)::bigint FROM pg_locks WHERE {WAITING}");
    for _ in 0..200 {
        if db.scalar(&count).await == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no delivery came to wait for the lock");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_held_elsewhere_fails_alone_and_the_rest_of_its_batch_commits() {
    let db = TestDb::create_postgres().await;
    let writer = writer(&db, 1).await;
    let (plug, held) = (Uuid::new_v4(), Uuid::new_v4());
    let mut plug_holder = AsyncPgConnection::establish(&db.url).await.unwrap();
    holder_lock(&mut plug_holder, plug).await;
    let mut held_holder = AsyncPgConnection::establish(&db.url).await.unwrap();
    holder_lock(&mut held_holder, held).await;
    let apply = |n: i64, id: Uuid| {
        let writer = writer.clone();
        tokio::spawn(async move {
            let email = format!("u{n}@example.com");
            writer
                .apply(delivery(&format!("k{n}"), record(id, &email, n)))
                .await
        })
    };
    // The only writer waits on `plug`, so `held` and ten others gather into one batch.
    let plugged = apply(0, plug);
    until_one_waits(&db).await;
    let blocked = apply(1, held);
    let others: Vec<Uuid> = (0..10).map(|_| Uuid::new_v4()).collect();
    let rest: Vec<_> = (2..).zip(&others).map(|(n, id)| apply(n, *id)).collect();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    diesel::sql_query("ROLLBACK")
        .execute(&mut plug_holder)
        .await
        .unwrap();

    assert_eq!(plugged.await.unwrap().unwrap().outcome, Outcome::Created);
    for result in join_all(rest).await {
        assert_eq!(result.unwrap().unwrap().outcome, Outcome::Created);
    }
    let blocked = blocked.await.unwrap();
    assert!(
        matches!(&blocked, Err(StorageError::Unavailable(reason)) if reason.contains("lock timeout")),
        "{blocked:?}"
    );
    assert_eq!(db.scalar("SELECT count(*) FROM users").await, 11);
    let held_rows = format!("SELECT count(*) FROM users WHERE id = '{held}'");
    assert_eq!(db.scalar(&held_rows).await, 0);
}

/// Takes the user's advisory lock in an open transaction on `conn`.
async fn holder_lock(conn: &mut AsyncPgConnection, id: Uuid) {
    use diesel_async::SimpleAsyncConnection;
    conn.batch_execute(&format!(
        "BEGIN; SELECT pg_advisory_xact_lock({}, hashtext('{id}'));",
        0x7375_7061
    ))
    .await
    .unwrap();
}
