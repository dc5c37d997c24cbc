//! Readiness from the state the service keeps, against the real binary and a
//! PostgreSQL cluster of the test's own: probes cost the database nothing, and a
//! database that starts refusing supahook while it serves (a rotated password) is
//! reported as refused while deliveries go to the spool.

#[path = "support/pg_cluster.rs"]
mod pg_cluster;
#[path = "support/process.rs"]
mod process;

use pg_cluster::PgCluster;
use process::{Serve, WorkDir, assert_replayed_into_the_spool, http_status, run};
use std::time::{Duration, Instant};

const SECRET: &str = "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=";
const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Transactions committed and rolled back in `db`, from a session on another database
/// so that asking does not count.
fn transactions(cluster: &PgCluster, db: &str) -> i64 {
    let sql =
        format!("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{db}'");
    cluster.query("postgres", &sql).parse().unwrap()
}

/// The transactions one `serve` on `db` costs from start to end, with `probes`
/// readiness probes, alive at least `lasting`; and how long it lived.
/// PostgreSQL 15 reports a session's transactions that touch no table (`SELECT 1`)
/// only when the session ends, so each count is taken once every session has.
fn serve_cost(cluster: &PgCluster, db: &str, probes: usize, lasting: Duration) -> (i64, Duration) {
    let dir = WorkDir::new("ready-cost");
    let url = cluster.database_url(db);
    let before = transactions(cluster, db);
    let started = Instant::now();
    let mut serve = Serve::start(dir.path(), &[("DATABASE_URL", &url)]);
    for _ in 0..probes {
        assert_eq!(http_status(&serve.addr, "/health/ready"), Some(200));
    }
    std::thread::sleep(lasting.saturating_sub(started.elapsed()));
    assert_eq!(readiness(&serve)["database"], "up");
    let lived = started.elapsed();
    serve.kill();
    let sessions = format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'");
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.query("postgres", &sessions) != "0" {
        assert!(Instant::now() < deadline, "supahook's sessions did not end");
        std::thread::sleep(Duration::from_millis(100));
    }
    (transactions(cluster, db) - before, lived)
}

/// The body of `GET path`, over HTTP/1.0.
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

fn readiness(serve: &Serve) -> serde_json::Value {
    serde_json::from_str(&get(&serve.addr, "/health/ready")).unwrap()
}

#[test]
fn four_hundred_readiness_probes_cost_at_most_a_handful_of_transactions() {
    let cluster = PgCluster::plain();
    cluster.psql("postgres", "CREATE DATABASE mirror");
    let dir = WorkDir::new("ready-migrate");
    let url = cluster.database_url("mirror");
    let migrated = run(dir.path(), &[("DATABASE_URL", url.as_str())], &["migrate"]);
    assert!(migrated.status.success());
    let lasting = Duration::from_secs(5);

    let (unprobed, unprobed_for) = serve_cost(&cluster, "mirror", 0, lasting);
    let (probed, probed_for) = serve_cost(&cluster, "mirror", 400, lasting);

    // The background check costs one transaction a second whatever the probes do:
    // a run that lived longer has had that many more.
    let longer = (probed_for.as_secs_f64() - unprobed_for.as_secs_f64())
        .max(0.0)
        .ceil() as i64;
    assert!(
        probed - unprobed <= longer + 5,
        "serving with 400 probes cost {probed} transactions in {probed_for:?}, \
         without {unprobed} in {unprobed_for:?}"
    );
}

#[test]
fn a_rotated_password_shows_as_refused_and_deliveries_go_to_the_spool() {
    let cluster = PgCluster::with_passwords();
    cluster.psql(
        "postgres",
        "CREATE ROLE app LOGIN PASSWORD 'first' CREATEDB",
    );
    cluster.psql("postgres", "CREATE DATABASE mirror OWNER app");
    let dir = WorkDir::new("rotated");
    let url = format!("postgres://app:first@127.0.0.1:{}/mirror", cluster.port);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SUPAHOOK_HOOK_SECRETS", SECRET),
        ("SUPAHOOK_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    let serve = Serve::start(dir.path(), &env);

    cluster.psql("postgres", "ALTER ROLE app PASSWORD 'second'");
    let deadline = Instant::now() + Duration::from_secs(20);
    let ready = loop {
        // Ended again each round: a connection that began authenticating before the
        // change may still have been let in.
        cluster.psql(
            "postgres",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app'",
        );
        let ready = readiness(&serve);
        if ready["database"] == "refused" || Instant::now() > deadline {
            break ready;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let event = dir.path().join("one.jsonl");
    let first = include_str!("../examples/signups.jsonl").lines().next();
    std::fs::write(&event, first.unwrap()).unwrap();
    let replayed = run(
        dir.path(),
        &env,
        &["replay", event.to_str().unwrap(), "--url", &serve.url()],
    );

    assert_eq!(ready["database"], "refused", "{ready}\n{}", serve.logs());
    assert_eq!(ready["status"], "degraded", "{ready}");
    let reason = ready["database_reason"].as_str().unwrap();
    assert!(
        reason.contains("password") && !reason.contains("first"),
        "{reason}"
    );
    assert_replayed_into_the_spool(&replayed);
    assert_eq!(readiness(&serve)["spool_depth"], 1);
    let metrics = get(&serve.addr, "/metrics");
    let refusals = metrics
        .lines()
        .find_map(|line| line.strip_prefix("supahook_database_refusals_total "))
        .map(|n| n.trim().parse::<f64>().unwrap());
    assert!(refusals.is_some_and(|n| n >= 1.0), "{metrics}");
}
