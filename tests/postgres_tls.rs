//! serve, migrate, replay and reconcile against a PostgreSQL that accepts only TLS:
//! `sslmode=require`, `verify-ca` and `verify-full` with `sslrootcert` work, and a
//! certificate that fails verification is refused with a message that says so.

#[path = "support/pg_cluster.rs"]
mod pg_cluster;
#[path = "support/process.rs"]
mod process;
#[path = "support/tls_cluster.rs"]
mod tls_cluster;

use process::{Serve, WorkDir, assert_ok, run, stderr, stdout};
use tls_cluster::TlsCluster;

const SECRET: &str = "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=";
const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
const STAND_INS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/sql/supabase_stand_ins.sql"
);
const SIGNUPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/signups.jsonl");

/// The cluster with an empty `mirror` database and an `upstream` one holding three users.
fn cluster_with_databases() -> TlsCluster {
    let cluster = TlsCluster::start();
    cluster.psql("postgres", "CREATE DATABASE mirror");
    cluster.psql("postgres", "CREATE DATABASE upstream");
    cluster.psql_file("upstream", STAND_INS.as_ref());
    cluster.psql(
        "upstream",
        "INSERT INTO auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
         SELECT '00000000-0000-0000-0000-000000000000', md5(i::text)::uuid, 'authenticated', 'authenticated',
             'tls' || i || '@example.com', '{\"provider\": \"email\"}', '{}', now(), now()
         FROM generate_series(1, 3) AS i",
    );
    cluster
}

fn migrate(dir: &WorkDir, database_url: &str) -> std::process::Output {
    run(dir.path(), &[("DATABASE_URL", database_url)], &["migrate"])
}

#[test]
fn serve_migrate_replay_and_reconcile_work_with_require_and_verify_full() {
    let cluster = cluster_with_databases();
    let dir = WorkDir::new("tls");
    let five: Vec<&str> = include_str!("../examples/signups.jsonl")
        .lines()
        .take(5)
        .collect();
    let events = dir.path().join("five.jsonl");
    std::fs::write(&events, five.join("\n")).unwrap();
    let _ = SIGNUPS;

    // The server refuses plain connections, so what follows really is TLS.
    let plain = migrate(&dir, &cluster.url("127.0.0.1", "mirror", "sslmode=disable"));
    assert!(!plain.status.success());
    let message = stderr(&plain);
    assert!(
        message.contains(&format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{}",
            cluster.port
        )) && message.contains("no encryption"),
        "{message}"
    );

    let modes = [
        (
            "require",
            cluster.url("127.0.0.1", "mirror", "sslmode=require"),
            cluster.url("127.0.0.1", "upstream", "sslmode=require"),
        ),
        (
            "verify-full",
            cluster.verified_url("mirror"),
            cluster.verified_url("upstream"),
        ),
    ];
    for (mode, mirror, upstream) in &modes {
        let migrated = migrate(&dir, mirror);
        assert_ok(&migrated, &format!("migrate with sslmode={mode}"));

        let env = [
            ("DATABASE_URL", mirror.as_str()),
            ("SUPAHOOK_HOOK_SECRETS", SECRET),
            ("SUPAHOOK_ADMIN_TOKEN", ADMIN_TOKEN),
            ("SUPAHOOK_LOG_FORMAT", "json"),
        ];
        let serve = Serve::start(dir.path(), &env);
        let replayed = run(
            dir.path(),
            &env,
            &[
                "replay",
                events.to_str().unwrap(),
                "--url",
                &serve.url(),
                "--new-ids",
            ],
        );
        assert_ok(
            &replayed,
            &format!("replay through serve with sslmode={mode}"),
        );
        assert!(
            ["sent        5", "spooled     0", "rejected    0"]
                .iter()
                .all(|line| stdout(&replayed).contains(line)),
            "{}",
            stdout(&replayed)
        );
        drop(serve);

        let reconciled = run(dir.path(), &env, &["reconcile", "--source-url", upstream]);
        assert_ok(&reconciled, &format!("reconcile with sslmode={mode}"));
        assert!(
            stdout(&reconciled).contains("reconciled 3 users"),
            "{}",
            stdout(&reconciled)
        );
    }

    assert_eq!(cluster.query("mirror", "SELECT count(*) FROM users"), "8");
    assert_eq!(
        cluster.query(
            "mirror",
            "SELECT count(*) FROM users WHERE email LIKE 'tls%'"
        ),
        "3"
    );
}

#[test]
fn a_certificate_that_fails_verification_is_refused_saying_so() {
    let cluster = cluster_with_databases();
    let dir = WorkDir::new("tls-refused");
    let with = |host: &str, mode: &str, ca: &std::path::Path| {
        cluster.url(
            host,
            "mirror",
            &format!("sslmode={mode}&sslrootcert={}", ca.display()),
        )
    };

    let wrong_ca = migrate(&dir, &with("localhost", "verify-full", &cluster.other_ca));
    let wrong_name = migrate(&dir, &with("127.0.0.1", "verify-full", &cluster.ca));
    let any_name = migrate(&dir, &with("127.0.0.1", "verify-ca", &cluster.ca));
    let source = run(
        dir.path(),
        &[],
        &[
            "reconcile",
            "--source-url",
            &cluster.url(
                "localhost",
                "upstream",
                &format!(
                    "sslmode=verify-ca&sslrootcert={}",
                    cluster.other_ca.display()
                ),
            ),
        ],
    );

    for (output, cause) in [
        (&wrong_ca, "not signed by a trusted CA"),
        (&wrong_name, "not issued for the host name"),
    ] {
        assert!(!output.status.success());
        let message = stderr(output);
        assert!(
            message.contains("the server's certificate failed verification (sslmode=verify-full)")
                && message.contains(cause),
            "{message}"
        );
    }
    assert_ok(&any_name, "verify-ca with a certificate for another name");
    assert!(!source.status.success());
    let message = stderr(&source);
    assert!(
        message.contains("source database")
            && message.contains("certificate failed verification (sslmode=verify-ca)"),
        "{message}"
    );
}
