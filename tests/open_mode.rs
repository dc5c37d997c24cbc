//! `SUPAHOOK_ON_STORE_FAILURE`: what the hooks answer while the database cannot be
//! reached, and the spool draining into the database. The outage itself, with a real
//! PostgreSQL stopped and started under load, is in `tests/outage.rs`.

#[path = "support/process.rs"]
mod process;
mod support;

use poem::http::StatusCode;
use process::WorkDir;
use supahook::app::Migrations;
use supahook::events::{self, AuthUsersChange, CustomAccessTokenInput, Delivery};
use supahook::signature::{SignedHeaders, SigningKey, TOLERANCE, Verifier};
use supahook::spool::Spool;
use support::{Options, Running, TestApp, fixture, fixture_json, json, outcome, send};

/// A PostgreSQL URL where nothing listens: every connection is refused at once.
const UNREACHABLE: &str = "postgres://postgres@127.0.0.1:9/supahook?connect_timeout=1";

/// The app in `open` mode, spooling in `dir`, over a database that became unreachable
/// after the start.
async fn open_mode(dir: &WorkDir, options: Options) -> Running {
    let env = Options::open_mode(dir.path()).env;
    let options = Options {
        env,
        migrations: Migrations::Elsewhere,
        ..options
    };
    support::start(UNREACHABLE, options).await
}

/// The spool of an app in `open` mode.
fn spool_of(mirroring: &supahook::mirroring::Mirroring) -> &Spool {
    mirroring.spool().expect("open mode has a spool")
}

/// `body` parsed as the endpoint at `path` parses it, once its signature is checked.
fn delivery_of(path: &str, body: &[u8]) -> Delivery {
    let key = SigningKey::parse(support::SECRET).unwrap();
    let (id, at) = ("msg_spooled", support::now());
    let signature = key.sign(id, at, body);
    let at_text = at.to_string();
    let headers = SignedHeaders {
        id: Some(id),
        timestamp: Some(&at_text),
        signature: Some(&signature),
    };
    let verified = Verifier::new(vec![key])
        .verify_within(headers, body, at, TOLERANCE)
        .unwrap();
    match path {
        "/hooks/custom-access-token" => events::parse::<CustomAccessTokenInput>(&verified)
            .unwrap()
            .delivery(id)
            .unwrap(),
        "/hooks/auth-users" => events::parse::<AuthUsersChange>(&verified)
            .unwrap()
            .delivery(id)
            .unwrap(),
        other => panic!("no parser here for {other}"),
    }
}

/// Waits up to 10 s for the drainer to empty `spool`.
async fn wait_until_empty(spool: &Spool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while spool.depth() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_hook_answers_as_if_stored_and_spools_while_the_database_is_unreachable() {
    let dir = WorkDir::new("open-mode");
    let Running {
        client, mirroring, ..
    } = &open_mode(&dir, Options::default()).await;
    let spool = spool_of(mirroring);

    let token = send(
        client,
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    )
    .await;
    token.assert_status_is_ok();
    assert_eq!(outcome(&token), "spooled");
    let sent = fixture_json("custom-access-token.json");
    assert_eq!(
        json(token).await,
        serde_json::json!({ "claims": sent["claims"] })
    );

    for (path, body) in [
        ("/hooks/before-user-created", "before-user-created.json"),
        ("/hooks/after-user-created", "after-user-created.json"),
        ("/hooks/auth-users", "db-update-auth-users.json"),
    ] {
        let answer = send(client, path, &fixture(body)).await;
        answer.assert_status_is_ok();
        assert_eq!(outcome(&answer), "spooled", "{path}");
        assert_eq!(json(answer).await, serde_json::json!({}), "{path}");
    }

    assert_eq!(spool.depth(), 4);
    let hooks: Vec<&str> = spool
        .oldest(10)
        .await
        .unwrap()
        .iter()
        .map(|entry| entry.delivery.hook.as_str())
        .collect();
    assert_eq!(
        hooks,
        [
            "custom-access-token",
            "before-user-created",
            "after-user-created",
            "auth-users"
        ]
    );
}

#[tokio::test]
async fn a_refused_sign_up_is_still_refused_and_nothing_is_spooled() {
    let dir = WorkDir::new("open-mode-policy");
    let options = Options {
        blocked_email_domains: vec!["example.com".into()],
        ..Options::default()
    };
    let Running {
        client, mirroring, ..
    } = &open_mode(&dir, options).await;

    let answer = send(
        client,
        "/hooks/before-user-created",
        &fixture("before-user-created.json"),
    )
    .await;

    answer.assert_status_is_ok();
    assert_eq!(outcome(&answer), "refused");
    assert_eq!(json(answer).await["error"]["http_code"], 403);
    assert_eq!(spool_of(mirroring).depth(), 0);
}

#[tokio::test]
async fn readiness_stays_200_and_reports_the_database_and_the_spool() {
    let dir = WorkDir::new("open-mode-ready");
    let Running { client, .. } = &open_mode(&dir, Options::default()).await;
    send(
        client,
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    )
    .await
    .assert_status_is_ok();

    let ready = client.get("/health/ready").send().await;

    ready.assert_status_is_ok();
    let body = json(ready).await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "down");
    assert_eq!(body["spool_depth"], 1);
    assert!(body["spool_oldest_age_seconds"].as_f64().unwrap() >= 0.0);

    let metrics = client.get("/metrics").send().await;
    metrics.assert_status_is_ok();
    let text = metrics.0.into_body().into_string().await.unwrap();
    for series in [
        "supahook_deliveries_total{hook=\"custom-access-token\",outcome=\"spooled\"}",
        "supahook_answer_seconds_bucket{hook=\"custom-access-token\"",
        "supahook_database_errors_total{kind=\"unavailable\"}",
        "supahook_spool_depth ",
        "supahook_spool_oldest_age_seconds ",
        "supahook_database_up ",
        "supahook_pool_connections{state=\"in_use\"}",
        "supahook_pool_waiters ",
    ] {
        assert!(text.contains(series), "no {series} in:\n{text}");
    }
}

#[tokio::test]
async fn closed_mode_answers_503_with_retry_after_and_readiness_fails() {
    let options = Options {
        migrations: Migrations::Elsewhere,
        ..Options::default()
    };
    let Running { client, .. } = &support::start(UNREACHABLE, options).await;

    let answer = send(
        client,
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    )
    .await;

    answer.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    answer.assert_header("retry-after", "1");
    assert_eq!(json(answer).await["error"]["code"], "database_unavailable");
    let ready = client.get("/health/ready").send().await;
    ready.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let body = json(ready).await;
    assert_eq!(body["status"], "unavailable");
    assert!(body.get("spool_depth").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_spool_drains_into_the_database_exactly_once() {
    let dir = WorkDir::new("open-mode-drain");
    let (spool, _) = Spool::open(dir.path()).unwrap();
    // Acknowledged while the database was down: the same sign-up twice (Supabase's
    // retry, same metadata.uuid) and an update.
    let first = delivery_of(
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    );
    spool.append(&first).await.unwrap();
    spool.append(&first).await.unwrap();
    let mut update = fixture_json("db-update-auth-users.json");
    update["record"]["email"] = "ada@drained.example.com".into();
    update["record"]["updated_at"] = "2026-02-01T00:00:00Z".into();
    let update = delivery_of("/hooks/auth-users", update.to_string().as_bytes());
    spool.append(&update).await.unwrap();
    drop(spool);

    let app = TestApp::spawn_with(Options::open_mode(dir.path())).await;
    let spool = spool_of(&app.mirroring);
    wait_until_empty(spool).await;

    assert_eq!(spool.depth(), 0, "the spool did not drain");
    assert_eq!(
        app.db.counts().await,
        [1, 1, 2],
        "users, profiles, ledger rows"
    );
    let user = app
        .db
        .user("3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14")
        .await
        .unwrap();
    assert_eq!(user.user.email.as_deref(), Some("ada@drained.example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_the_database_refuses_still_answers_and_is_set_aside_by_the_drainer() {
    let dir = WorkDir::new("open-mode-refused");
    let app = TestApp::spawn_with(Options::open_mode(dir.path())).await;
    app.db.refuse_email("refused@example.com").await;
    let spool = spool_of(&app.mirroring);
    let mut body = fixture_json("custom-access-token.json");
    body["claims"]["email"] = "refused@example.com".into();

    let answer = send(
        &app.client,
        "/hooks/custom-access-token",
        body.to_string().as_bytes(),
    )
    .await;

    answer.assert_status_is_ok();
    assert_eq!(outcome(&answer), "spooled");
    assert_eq!(json(answer).await["claims"], body["claims"]);
    assert_eq!(spool.depth(), 1);
    wait_until_empty(spool).await;
    assert_eq!(
        spool.depth(),
        0,
        "the refused delivery still blocks the spool"
    );
    assert_eq!(app.db.counts().await, [0, 0, 0]);
    let kept = spool.set_aside_entries().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].hook, "custom-access-token");
    assert_eq!(
        kept[0].idempotency_key,
        body["metadata"]["uuid"].as_str().unwrap()
    );
    assert!(
        kept[0].reason.contains("refused by a test trigger"),
        "{}",
        kept[0].reason
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn supahook_spool_lists_retries_and_discards_the_set_aside_deliveries() {
    let dir = WorkDir::new("spool-cli");
    let data = dir.path().join("data");
    let (spool, _) = Spool::open(&data).unwrap();
    for n in 1..=3 {
        let mut body = fixture_json("custom-access-token.json");
        body["metadata"]["uuid"] = format!("00000000-0000-4000-8000-00000000000{n}").into();
        let delivery = delivery_of("/hooks/custom-access-token", body.to_string().as_bytes());
        spool.append(&delivery).await.unwrap();
    }
    let seqs: Vec<i64> = spool
        .oldest(3)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    for seq in &seqs {
        spool
            .set_aside(*seq, format!("refused number {seq}"))
            .await
            .unwrap();
    }
    let held = process::run(dir.path(), &[], &["spool", "list"]);
    assert!(
        !held.status.success(),
        "the spool is held by a running process"
    );
    assert!(
        process::stderr(&held).contains("/console/health"),
        "{}",
        process::stderr(&held)
    );
    drop(spool);

    let listed = process::run(dir.path(), &[], &["spool", "list"]);
    let retried = process::run(dir.path(), &[], &["spool", "retry", &seqs[0].to_string()]);
    let discarded = process::run(dir.path(), &[], &["spool", "discard", &seqs[1].to_string()]);
    let unknown = process::run(dir.path(), &[], &["spool", "discard", "999"]);

    let listing = process::stdout(&listed);
    assert!(listed.status.success(), "{}", process::stderr(&listed));
    assert_eq!(listing.lines().count(), 4, "{listing}");
    assert!(listing.contains("refused number 2"), "{listing}");
    assert!(
        listing.contains("00000000-0000-4000-8000-000000000003"),
        "{listing}"
    );
    assert!(retried.status.success(), "{}", process::stderr(&retried));
    assert!(
        process::stdout(&retried).starts_with("1 put back"),
        "{}",
        process::stdout(&retried)
    );
    assert!(
        discarded.status.success(),
        "{}",
        process::stderr(&discarded)
    );
    assert!(!unknown.status.success());
    assert!(process::stderr(&unknown).contains("no delivery is set aside at 999"));
    let (spool, recovery) = Spool::open(&data).unwrap();
    assert_eq!(recovery.waiting, 1);
    let queued = spool.oldest(10).await.unwrap();
    assert_eq!(
        queued[0].delivery.idempotency_key,
        "00000000-0000-4000-8000-000000000001"
    );
    let kept = spool.set_aside_entries().await.unwrap();
    assert_eq!(kept.iter().map(|e| e.seq).collect::<Vec<_>>(), [seqs[2]]);
}
