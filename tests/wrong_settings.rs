//! A wrong setting stops the real binary at start with a message naming it: a
//! database that refuses supahook for good (unknown database, refused password, a
//! certificate that fails `verify-full`), an unknown `SUPAHOOK_*` variable, a
//! `DATABASE_URL` that is neither PostgreSQL nor an explicit SQLite path. A spool
//! written for one database is never drained into another.

#[path = "support/pg_cluster.rs"]
mod pg_cluster;
#[path = "support/process.rs"]
mod process;
#[path = "support/tls_cluster.rs"]
mod tls_cluster;

use pg_cluster::PgCluster;
use process::{Serve, WorkDir, assert_replayed_into_the_spool, run, stderr};
use std::time::Duration;

const SECRET: &str = "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=";
const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Starts `serve` with `env` and returns its log once it has exited, asserting that
/// it failed.
fn serve_fails(dir: &WorkDir, env: &[(&str, &str)]) -> String {
    let mut serve = Serve::spawn(dir.path(), env);
    let status = serve.wait(Duration::from_secs(60));
    let logs = serve.logs();
    assert!(!status.success(), "serve did not fail:\n{logs}");
    logs
}

fn assert_names(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "no `{part}` in:\n{message}");
    }
}

#[test]
fn a_database_that_does_not_exist_stops_serve_and_migrate_naming_the_setting() {
    let cluster = PgCluster::plain();
    let dir = WorkDir::new("no-database");
    let url = cluster.database_url("mirorr");
    let env = [("DATABASE_URL", url.as_str())];

    let served = serve_fails(&dir, &env);
    let migrated = run(dir.path(), &env, &["migrate"]);

    let expected = [
        "DATABASE_URL",
        "database does not exist",
        "\"mirorr\" does not exist",
        "will not pass by itself",
    ];
    assert_names(&served, &expected);
    assert!(!migrated.status.success());
    assert_names(&stderr(&migrated), &expected);
}

#[test]
fn a_refused_password_stops_serve_naming_the_setting_and_never_the_password() {
    let cluster = PgCluster::with_passwords();
    cluster.psql("postgres", "CREATE ROLE app LOGIN PASSWORD 'the-right-one'");
    let dir = WorkDir::new("wrong-password");
    let url = format!(
        "postgres://app:a-wrong-one@127.0.0.1:{}/postgres",
        cluster.port
    );

    let served = serve_fails(&dir, &[("DATABASE_URL", &url)]);

    assert_names(
        &served,
        &[
            "DATABASE_URL",
            "the password was refused",
            "28P01",
            "\"app\"",
        ],
    );
    assert!(!served.contains("a-wrong-one"), "{served}");
}

#[test]
fn a_certificate_that_fails_verify_full_stops_serve_naming_the_setting() {
    let cluster = tls_cluster::TlsCluster::start();
    let dir = WorkDir::new("wrong-certificate");
    // The certificate names `localhost`, not `127.0.0.1`.
    let url = cluster.url(
        "127.0.0.1",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={}", cluster.ca.display()),
    );

    let served = serve_fails(&dir, &[("DATABASE_URL", &url)]);

    assert_names(
        &served,
        &[
            "DATABASE_URL",
            "certificate failed verification",
            "not issued for the host name",
        ],
    );
}

#[test]
fn an_unknown_supahook_variable_stops_the_start_naming_the_closest_setting() {
    let dir = WorkDir::new("unknown-variable");

    let served = serve_fails(&dir, &[("SUPAHOOK_ON_STORE_FAILUR", "closed")]);

    assert_names(
        &served,
        &[
            "SUPAHOOK_ON_STORE_FAILUR ",
            "did you mean SUPAHOOK_ON_STORE_FAILURE?",
        ],
    );
}

#[test]
fn a_postgres_url_missing_its_colon_is_refused_not_made_a_sqlite_file() {
    let dir = WorkDir::new("mistyped-url");

    let migrated = run(
        dir.path(),
        &[("DATABASE_URL", "postgres//app:pw@127.0.0.1/app")],
        &["migrate"],
    );

    assert!(!migrated.status.success());
    let message = stderr(&migrated);
    assert_names(&message, &["DATABASE_URL", "write postgres://"]);
    assert!(!message.contains("app:pw"), "{message}");
    assert!(
        !dir.path().join("postgres").exists(),
        "a SQLite file was made"
    );
}

#[test]
fn a_spool_written_for_one_database_is_never_drained_into_another() {
    let cluster = PgCluster::plain();
    cluster.psql("postgres", "CREATE DATABASE other");
    let dir = WorkDir::new("foreign-spool");
    let event = dir.path().join("one.jsonl");
    let first = include_str!("../examples/signups.jsonl").lines().next();
    std::fs::write(&event, first.unwrap()).unwrap();
    let env = |url: &'static str| {
        [
            ("DATABASE_URL", url),
            ("SUPAHOOK_HOOK_SECRETS", SECRET),
            ("SUPAHOOK_ADMIN_TOKEN", ADMIN_TOKEN),
        ]
    };
    // Database X is down: the delivery is acknowledged and waits in the spool.
    let x = env("postgres://postgres@127.0.0.1:1/mirror");
    let mut serve_x = Serve::start(dir.path(), &x);
    let replayed = run(
        dir.path(),
        &x,
        &["replay", event.to_str().unwrap(), "--url", &serve_x.url()],
    );
    assert_replayed_into_the_spool(&replayed);
    serve_x.kill();

    // Database Y answers: the spool is X's, so it is kept and not drained into Y.
    let y_url: &'static str = Box::leak(cluster.database_url("other").into_boxed_str());
    let y = env(y_url);
    let serve_y = Serve::start(dir.path(), &y);
    std::thread::sleep(Duration::from_secs(2));

    assert_eq!(cluster.query("other", "SELECT count(*) FROM users"), "0");
    assert_names(
        &serve_y.logs(),
        &[
            "written for another database",
            "postgres://127.0.0.1:1/mirror",
            &format!("postgres://127.0.0.1:{}/other", cluster.port),
        ],
    );
    let kept: Vec<String> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("spool.sqlite.other-database-"))
        .collect();
    assert!(
        kept.iter().any(|name| name.ends_with(".database")),
        "the foreign spool and its identity are kept: {kept:?}"
    );
}
