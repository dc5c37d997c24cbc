//! Three `supahook serve` processes share one PostgreSQL database and take a few
//! thousand mixed, partly repeated, shuffled deliveries at high concurrency, each
//! to a random replica: no 5xx, every repeat is reported as a duplicate, and the
//! database ends exactly as the events say. A replica stopped with SIGTERM in the
//! middle of the load finishes what it accepted and exits 0.

#[path = "support/load.rs"]
mod load;
#[path = "support/process.rs"]
mod process;
mod support;

use futures_util::StreamExt;
use load::{ADMIN_TOKEN, Event, SECRET, Sent};
use process::{Serve, WorkDir};
use rand::SeedableRng;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::{Duration, Instant};
use support::TestDb;
use tokio::sync::Mutex;

/// The two tests each start three servers; one at a time leaves them the machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const IN_FLIGHT: usize = 24;

fn replicas(db: &TestDb, dir: &WorkDir, count: usize) -> Vec<Serve> {
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("SUPAHOOK_HOOK_SECRETS", SECRET),
        ("SUPAHOOK_ADMIN_TOKEN", ADMIN_TOKEN),
        ("SUPAHOOK_LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
    ];
    // Started together, so that they migrate the empty database at the same time.
    // Each has its own data directory (its own spool), as replicas do in production.
    let mut servers: Vec<Serve> = (0..count)
        .map(|n| {
            let data = dir.path().join(format!("data-{n}"));
            let mut env = env.to_vec();
            env.push(("SUPAHOOK_DATA_DIR", data.to_str().unwrap()));
            Serve::spawn(dir.path(), &env)
        })
        .collect();
    for server in &mut servers {
        server.wait_until_ready();
    }
    servers
}

/// Opens each replica's database connections before the load, as traffic would
/// have in a running deployment: readiness checks run concurrently, each on a connection.
/// A check that finds every connection busy opening (each prepares its statements)
/// is tried again, for at most 30 s.
async fn warm_up(client: &reqwest::Client, servers: &[Serve]) {
    let check = |url: String| async move {
        for _ in 0..300 {
            match client.get(&url).send().await.map(|a| a.status().as_u16()) {
                Ok(200) => return,
                Ok(503) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                other => panic!("{url}: {other:?}"),
            }
        }
        panic!("{url} was not ready within 30 s");
    };
    let checks = servers.iter().flat_map(|server| {
        (0..IN_FLIGHT).map(move |_| check(format!("{}/health/ready", server.url())))
    });
    futures_util::future::join_all(checks).await;
}

/// Fails listing the first few `problems`, if there are any.
fn assert_none(what: &str, problems: &[String], context: &str) {
    assert!(
        problems.is_empty(),
        "{} {what}, first: {:#?}\n{context}",
        problems.len(),
        &problems[..problems.len().min(5)]
    );
}

fn client(keep_alive: bool) -> reqwest::Client {
    let config = supahook::infra::tls::client_config(
        &supahook::infra::tls::Roots::Platform,
        supahook::infra::tls::Check::ChainAndName,
    )
    .unwrap();
    let builder = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(30));
    let builder = if keep_alive {
        builder
    } else {
        builder.pool_max_idle_per_host(0)
    };
    builder.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_converge_on_the_state_the_events_describe() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let db = TestDb::create_postgres().await;
    let dir = WorkDir::new("replicas");
    let servers = replicas(&db, &dir, 3);
    let urls: Vec<String> = servers.iter().map(Serve::url).collect();
    let (events, expected) = load::generate(500, 0x5eed);
    let repeats = events.iter().filter(|e| e.repeat).count();
    let client = client(true);
    warm_up(&client, &servers).await;

    // A reader long-polling the event feed on the third replica is woken by the first
    // commit that records events, on whichever replica it happens (NOTIFY).
    let poll = tokio::spawn({
        let client = client.clone();
        let url = format!("{}/v1/changes?wait=30", urls[2]);
        async move {
            let answer = client.get(url).bearer_auth(ADMIN_TOKEN).send().await;
            let body = answer.unwrap().bytes().await.unwrap();
            let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
            (page, Instant::now())
        }
    });
    let started = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let targets: Vec<&str> = events
        .iter()
        .map(|_| urls[load::pick(&mut rng, urls.len())].as_str())
        .collect();
    let answers: Vec<(&Event, Sent)> = futures_util::stream::iter(events.iter().zip(targets))
        .map(|(event, url)| {
            let client = &client;
            async move { (event, load::send(client, url, event).await) }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} deliveries ({repeats} repeats) to 3 replicas, {IN_FLIGHT} in flight: {seconds:.1} s, {:.0}/s",
        events.len(),
        events.len() as f64 / seconds
    );

    let failures: Vec<String> = answers
        .iter()
        .filter(|(_, sent)| !matches!(sent, Sent::Answer(200, _)))
        .map(|(event, sent)| format!("{} {}: {sent:?}", event.hook, event.webhook_id))
        .collect();
    let warnings: Vec<String> = servers
        .iter()
        .flat_map(|s| {
            s.logs()
                .lines()
                .filter(|l| !l.contains("\"INFO\""))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .take(10)
        .collect();
    assert_none(
        "deliveries failed",
        &failures,
        &format!("server warnings: {warnings:#?}"),
    );
    let duplicates = answers
        .iter()
        .filter(|(_, sent)| matches!(sent, Sent::Answer(_, outcome) if outcome == "duplicate"))
        .count();
    // A repeated token refresh that reaches a replica remembering the user's identity
    // is answered there as `unchanged`, without the database; every other repeat is
    // known for a duplicate, and nothing that is not a repeat is.
    let unchanged_refreshes = answers
        .iter()
        .filter(|(event, sent)| {
            event.hook == "custom-access-token"
                && matches!(sent, Sent::Answer(_, outcome) if outcome == "unchanged")
        })
        .count();
    assert!(
        duplicates <= repeats && duplicates + unchanged_refreshes >= repeats,
        "{duplicates} duplicates, {unchanged_refreshes} unchanged refreshes, {repeats} repeats"
    );
    let wrong = load::differences(&client, &urls[0], &expected).await;
    assert_none("users differ", &wrong, "");
    let deleted = expected.iter().filter(|u| u.deleted).count();
    assert_eq!(
        db.scalar("SELECT count(*) FROM users").await,
        expected.len() as i64,
        "one row per user, however early its delete arrived"
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM users WHERE deleted_at IS NOT NULL")
            .await,
        deleted as i64
    );
    let (page, woke) = poll.await.unwrap();
    let woken = page["events"].as_array().is_some_and(|e| !e.is_empty());
    assert!(woken, "the long poll answered {page}");
    assert!(
        woke.duration_since(started) < Duration::from_secs(5),
        "the long poll waited {:?}",
        woke.duration_since(started)
    );
    assert_events_follow_the_users(&db, expected.len() as i64, deleted as i64).await;
}

/// Each user's lifecycle events, however the deliveries were repeated, shuffled and
/// spread over the replicas: numbered 1, 2, 3, … in feed order starting with
/// `user.created`, the last one showing the user as stored (see
/// [`TestDb::event_problems`]), one `user.created` per user and one `user.deleted`
/// per deleted user.
async fn assert_events_follow_the_users(db: &TestDb, users: i64, deleted: i64) {
    assert_eq!(db.event_problems().await, Vec::<String>::new());
    let count = |kind: &str| format!("SELECT count(*) FROM outbox_events WHERE type = '{kind}'");
    assert_eq!(db.scalar(&count("user.created")).await, users);
    assert_eq!(db.scalar(&count("user.deleted")).await, deleted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_stopped_mid_load_finishes_every_request_it_accepted() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let db = TestDb::create_postgres().await;
    let dir = WorkDir::new("sigterm");
    let mut servers = replicas(&db, &dir, 3);
    let urls: Vec<String> = servers.iter().map(Serve::url).collect();
    let (events, expected) = load::generate(300, 0x7e12);
    let client = client(true);
    warm_up(&client, &servers).await;

    // As a Service or proxy does: once replica 0 is told to stop, new requests go
    // to the others, while the ones it already has must all be answered.
    let stop_at = events.len() / 3;
    let started = AtomicUsize::new(0);
    let in_flight_at_stop = AtomicUsize::new(0);
    let stopping = AtomicBool::new(false);
    let in_flight_to_stopped = AtomicUsize::new(0);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let targets: Vec<usize> = events
        .iter()
        .map(|_| load::pick(&mut rng, urls.len()))
        .collect();
    let stopped = &servers[0];
    let answers: Vec<(usize, Sent, Sent)> =
        futures_util::stream::iter(events.iter().zip(targets).enumerate())
            .map(|(n, (event, target))| {
                let (client, urls) = (&client, &urls);
                let (started, stopping, in_flight_to_stopped, in_flight_at_stop) = (
                    &started,
                    &stopping,
                    &in_flight_to_stopped,
                    &in_flight_at_stop,
                );
                async move {
                    if started.fetch_add(1, SeqCst) == stop_at {
                        stopping.store(true, SeqCst);
                        in_flight_at_stop.store(in_flight_to_stopped.load(SeqCst), SeqCst);
                        stopped.signal_terminate();
                    }
                    let target = match target {
                        0 if stopping.load(SeqCst) => 1 + n % 2,
                        other => other,
                    };
                    if target == 0 {
                        in_flight_to_stopped.fetch_add(1, SeqCst);
                    }
                    let first = load::send(client, &urls[target], event).await;
                    if target == 0 {
                        in_flight_to_stopped.fetch_sub(1, SeqCst);
                    }
                    // A refused connection was never accepted: send it elsewhere, as a proxy would.
                    let last = match first {
                        Sent::Refused => {
                            load::send(client, &urls[(target + 1) % urls.len()], event).await
                        }
                        ref other => other.clone(),
                    };
                    (target, first, last)
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;

    let status = servers[0].wait(Duration::from_secs(15));
    assert!(status.success(), "the stopped replica exited with {status}");
    let logs = servers[0].logs();
    assert!(
        logs.contains("shutting down") && logs.contains("\"stopped\""),
        "{logs}"
    );
    let in_flight = in_flight_at_stop.load(SeqCst);
    let answered_by_stopped = answers
        .iter()
        .filter(|(t, first, _)| *t == 0 && matches!(first, Sent::Answer(..)))
        .count();
    eprintln!(
        "{} deliveries; {in_flight} were in flight to the replica when it got SIGTERM; it answered {answered_by_stopped} in all",
        events.len()
    );
    assert!(
        in_flight > 0,
        "nothing was in flight to the stopped replica: the test proved nothing"
    );
    let failures: Vec<String> = answers
        .iter()
        .filter(|(_, _, last)| !matches!(last, Sent::Answer(200, _)))
        .map(|(target, first, last)| format!("replica {target}: {first:?} then {last:?}"))
        .collect();
    assert_none("deliveries failed", &failures, "");
    let wrong = load::differences(&client, &urls[1], &expected).await;
    assert_none("users differ", &wrong, "");
}
