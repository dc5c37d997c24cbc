use super::*;
use crate::events::{HookKind, UserRecord};
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use std::path::PathBuf;
use std::sync::Arc;

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "supahook-spool-{label}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn delivery(key: &str) -> Delivery {
    let record = UserRecord {
        id: uuid::Uuid::new_v4(),
        version: crate::events::to_micros(Utc::now()),
        email: Some(format!("{key}@example.com")),
        phone: None,
        name: Default::default(),
        avatar_url: None,
        auth_provider: Some("email".into()),
        providers: vec!["email".into()],
        is_anonymous: false,
        user_metadata: serde_json::json!({"full_name": "Zoë 'O''Brien'; --"}),
        app_metadata: serde_json::json!({}),
        activity: None,
        auth_created_at: None,
        provisional: true,
        metadata_blanked: false,
        is_sso_user: Some(true),
    };
    Delivery {
        hook: HookKind::CustomAccessToken,
        idempotency_key: key.into(),
        webhook_id: format!("msg_{key}"),
        change: UserChange::Upsert(Arc::new(record)),
    }
}

fn keys(entries: &[Entry]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e.delivery.idempotency_key.as_str())
        .collect()
}

#[tokio::test]
async fn entries_come_back_oldest_first_and_survive_a_reopen() {
    let dir = temp_dir("order");
    let (spool, recovery) = Spool::open(&dir).unwrap();
    assert_eq!(recovery, Recovery::default());
    let sent: Vec<Delivery> = ["a", "b", "c"].into_iter().map(delivery).collect();
    for d in &sent {
        spool.append(d).await.unwrap();
    }
    assert_eq!(spool.depth(), 3);
    assert!(spool.oldest_at().is_some());
    drop(spool);

    let (spool, recovery) = Spool::open(&dir).unwrap();
    assert_eq!(recovery.waiting, 3);
    let entries = spool.oldest(10).await.unwrap();
    assert_eq!(keys(&entries), ["a", "b", "c"]);
    match (&entries[1].delivery.change, &sent[1].change) {
        (UserChange::Upsert(read), UserChange::Upsert(written)) => assert_eq!(read, written),
        other => panic!("not the upsert that was spooled: {other:?}"),
    }

    spool
        .remove(vec![entries[0].seq, entries[1].seq])
        .await
        .unwrap();
    assert_eq!(spool.depth(), 1);
    assert_eq!(keys(&spool.oldest(10).await.unwrap()), ["c"]);
    spool.remove(vec![entries[2].seq]).await.unwrap();
    assert_eq!(spool.depth(), 0);
    assert_eq!(spool.oldest_at(), None);
}

#[tokio::test]
async fn appends_sent_together_all_land() {
    let dir = temp_dir("together");
    let (spool, _) = Spool::open(&dir).unwrap();
    let appends = (0..300).map(|n| {
        let spool = spool.clone();
        async move { spool.append(&delivery(&format!("k{n}"))).await }
    });
    for result in futures_util::future::join_all(appends).await {
        result.unwrap();
    }
    assert_eq!(spool.depth(), 300);
    assert_eq!(spool.oldest(1000).await.unwrap().len(), 300);
}

#[tokio::test]
async fn a_delete_without_a_time_is_dated_when_spooled() {
    let dir = temp_dir("delete");
    let (spool, _) = Spool::open(&dir).unwrap();
    let before = Utc::now();
    let mut deletion = delivery("gone");
    deletion.change = UserChange::Delete(Box::new(crate::events::Deletion {
        id: uuid::Uuid::new_v4(),
        at: None,
        removed: true,
        last: None,
    }));
    spool.append(&deletion).await.unwrap();

    let entries = spool.oldest(1).await.unwrap();
    let UserChange::Delete(read) = &entries[0].delivery.change else {
        panic!("not a delete");
    };
    let at = read.at.expect("dated when spooled");
    assert!(at >= crate::events::to_micros(before) && at <= Utc::now());
}

#[tokio::test]
async fn a_torn_last_write_is_reported_and_every_earlier_entry_kept() {
    let dir = temp_dir("torn");
    let (spool, _) = Spool::open(&dir).unwrap();
    for key in ["first", "second", "third"] {
        spool.append(&delivery(key)).await.unwrap();
    }
    // What a crash during the third write leaves: the files as they are now, with the
    // log's last frame cut short.
    let crashed = temp_dir("torn-copy");
    for name in [FILE_NAME.to_owned(), format!("{FILE_NAME}-wal")] {
        std::fs::copy(dir.join(&name), crashed.join(&name)).unwrap();
    }
    let wal = crashed.join(format!("{FILE_NAME}-wal"));
    let len = std::fs::metadata(&wal).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(len - 100)
        .unwrap();

    let (recovered, recovery) = Spool::open(&crashed).unwrap();

    assert!(recovery.torn_bytes > 0, "{recovery:?}");
    assert_eq!(recovery.damaged, None);
    assert_eq!(recovery.waiting, 2);
    assert_eq!(
        keys(&recovered.oldest(10).await.unwrap()),
        ["first", "second"]
    );
    recovered.append(&delivery("after")).await.unwrap();
    assert_eq!(
        keys(&recovered.oldest(10).await.unwrap()),
        ["first", "second", "after"]
    );
}

#[tokio::test]
async fn an_entry_this_version_cannot_read_is_set_aside() {
    let dir = temp_dir("unreadable");
    let (spool, _) = Spool::open(&dir).unwrap();
    spool.append(&delivery("good")).await.unwrap();
    drop(spool);
    // Written by some other version: the spool's thread lets go of the file once the
    // last handle is dropped.
    let mut other = SqliteConnection::establish(dir.join(FILE_NAME).to_str().unwrap()).unwrap();
    other
        .batch_execute(
            "PRAGMA busy_timeout = 5000; \
             INSERT INTO spooled (received_at, hook, idempotency_key, delivery) \
             VALUES (1, 'custom-access-token', 'bad', '{\"not\": \"a delivery\"}')",
        )
        .unwrap();
    drop(other);
    let (spool, recovery) = Spool::open(&dir).unwrap();
    assert_eq!(recovery.waiting, 2);

    assert_eq!(keys(&spool.oldest(10).await.unwrap()), ["good"]);
    assert_eq!(spool.depth(), 1);
}

#[test]
fn a_damaged_file_is_moved_aside_and_a_new_spool_started() {
    let dir = temp_dir("damaged");
    std::fs::write(dir.join(FILE_NAME), vec![0x5a; 8192]).unwrap();

    let (_, recovery) = Spool::open(&dir).unwrap();

    let aside = recovery.damaged.expect("reported");
    assert!(std::path::Path::new(&aside).exists(), "{aside}");
    assert_eq!(recovery.waiting, 0);
}

#[tokio::test]
async fn a_second_process_on_the_same_spool_is_refused_and_the_file_left_alone() {
    let dir = temp_dir("shared");
    let (spool, _) = Spool::open(&dir).unwrap();
    spool.append(&delivery("mine")).await.unwrap();

    let error = Spool::open(&dir).unwrap_err().to_string();

    assert!(
        error.contains("another supahook process uses this spool"),
        "{error}"
    );
    assert_eq!(keys(&spool.oldest(10).await.unwrap()), ["mine"]);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|name| name.contains("damaged")),
        "{names:?}"
    );
}

#[test]
fn the_spool_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("mode");
    let _ = Spool::open(&dir).unwrap();
    let mode = std::fs::metadata(dir.join(FILE_NAME))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn a_full_spool_refuses_appends_until_entries_drain() {
    let dir = temp_dir("bound");
    let (spool, _) = Spool::open(&dir).unwrap();
    let spool = spool.with_max_bytes(u64::MAX);
    for key in ["a", "b"] {
        spool.append(&delivery(key)).await.unwrap();
    }
    let used = spool.used_bytes();
    let spool = spool.with_max_bytes(used);

    let refused = spool.append(&delivery("c")).await.unwrap_err();
    let again = spool.append(&delivery("d")).await.unwrap_err();

    assert!(matches!(refused, SpoolError::Full { .. }), "{refused}");
    assert!(matches!(again, SpoolError::Full { .. }), "{again}");
    assert!(refused.to_string().contains("SUPAHOOK_SPOOL_MAX_BYTES"));
    assert_eq!(keys(&spool.oldest(10).await.unwrap()), ["a", "b"]);
    assert!(!spool.is_writable());
    let seqs = spool
        .oldest(10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    spool.remove(seqs).await.unwrap();
    assert!(spool.is_writable(), "drained entries make room");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_spool_and_its_log_are_created_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("modes").join("data");

    let (spool, _) = Spool::open(&dir).unwrap();
    spool.append(&delivery("a")).await.unwrap();

    let mode = |name: &str| {
        let meta = std::fs::metadata(dir.join(name)).unwrap();
        meta.permissions().mode() & 0o777
    };
    assert_eq!(mode(""), 0o700);
    assert_eq!(mode(FILE_NAME), 0o600);
    assert_eq!(mode(&format!("{FILE_NAME}-wal")), 0o600);
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn a_set_aside_delivery_retried_goes_back_to_the_end_of_the_queue() {
    let dir = temp_dir("retry");
    let (spool, _) = Spool::open(&dir).unwrap();
    spool.append(&delivery("refused")).await.unwrap();
    spool.append(&delivery("next")).await.unwrap();
    let refused = spool.oldest(1).await.unwrap().remove(0);
    spool
        .set_aside(refused.seq, "refused by a trigger".into())
        .await
        .unwrap();
    let kept = spool.set_aside_entries().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].seq, kept[0].reason.as_str()),
        (refused.seq, "refused by a trigger")
    );
    assert_eq!(kept[0].received_at, refused.received_at);

    assert!(spool.retry_set_aside(refused.seq).await.unwrap());

    assert!(spool.set_aside_entries().await.unwrap().is_empty());
    let queue = spool.oldest(10).await.unwrap();
    assert_eq!(keys(&queue), ["next", "refused"]);
    assert_eq!(queue[1].received_at, refused.received_at);
    assert_eq!(spool.depth(), 2);
    assert!(
        !spool.retry_set_aside(refused.seq).await.unwrap(),
        "retried twice"
    );
}

#[tokio::test]
async fn a_set_aside_delivery_discarded_is_gone_and_the_queue_untouched() {
    let dir = temp_dir("discard");
    let (spool, _) = Spool::open(&dir).unwrap();
    spool.append(&delivery("refused")).await.unwrap();
    spool.append(&delivery("next")).await.unwrap();
    let seq = spool.oldest(1).await.unwrap()[0].seq;
    spool.set_aside(seq, "refused".into()).await.unwrap();

    assert!(spool.discard_set_aside(seq).await.unwrap());

    assert!(spool.set_aside_entries().await.unwrap().is_empty());
    assert_eq!(keys(&spool.oldest(10).await.unwrap()), ["next"]);
    assert!(!spool.discard_set_aside(seq).await.unwrap());
    assert!(!spool.retry_set_aside(seq).await.unwrap());
}
