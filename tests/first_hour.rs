//! What a newcomer meets in the first hour, with the real binary: every failure
//! says what, where and why, once, and nothing is half-done when it stops.

#[path = "support/process.rs"]
mod process;
mod support;

use process::{WorkDir, free_port, run, stderr, stdout};
use support::TestDb;

const SECRET: &str = "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=";

#[test]
fn an_unreachable_database_is_named_with_its_address_and_the_cause() {
    let dir = WorkDir::new("unreachable");
    let port = free_port();
    let url = format!("postgres://postgres:hunter2@127.0.0.1:{port}/app");

    let output = run(dir.path(), &[("DATABASE_URL", &url)], &["migrate"]);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&format!("cannot connect to PostgreSQL at 127.0.0.1:{port}"))
            && message.to_lowercase().contains("connection refused"),
        "{message}"
    );
    assert!(
        !message.contains("hunter2"),
        "the password is never shown: {message}"
    );
}

#[test]
fn a_port_in_use_is_named_and_nothing_claims_to_be_serving() {
    let dir = WorkDir::new("port-in-use");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();

    let output = run(
        dir.path(),
        &[
            ("SUPAHOOK_LISTEN_ADDR", &addr),
            ("SUPAHOOK_HOOK_SECRETS", SECRET),
        ],
        &["serve"],
    );

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&format!("cannot listen on {addr} (SUPAHOOK_LISTEN_ADDR)"))
            && message.contains("in use"),
        "{message}"
    );
    assert!(!message.contains("serving"), "{message}");
    // The port is bound before the database is opened and migrated.
    assert!(!message.contains("database schema"), "{message}");
    assert!(!dir.path().join("data/supahook.db").exists());
}

#[test]
fn a_host_name_listen_address_serves_and_healthcheck_finds_it() {
    let dir = WorkDir::new("localhost");
    let addr = format!("localhost:{}", free_port());
    let env = [
        ("SUPAHOOK_HOOK_SECRETS", SECRET),
        ("SUPAHOOK_LISTEN_ADDR", addr.as_str()),
    ];
    let healthcheck = || run(dir.path(), &env, &["healthcheck"]);

    let before = healthcheck();
    let mut server = process::command(dir.path(), &env)
        .arg("serve")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let during = loop {
        let output = healthcheck();
        if output.status.success() || std::time::Instant::now() > deadline {
            break output;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = server.kill();
    let _ = server.wait();

    assert_eq!(before.status.code(), Some(1));
    assert!(
        stderr(&before).contains(&format!(
            "not ready: no answer from http://{addr}/health/ready"
        )),
        "{}",
        stderr(&before)
    );
    assert!(during.status.success(), "{}", stderr(&during));
    assert!(stdout(&during).contains("ready"), "{}", stdout(&during));
}

#[test]
fn a_bad_database_url_stops_the_start_before_any_secret_is_written() {
    let dir = WorkDir::new("bad-url");

    let output = run(
        dir.path(),
        &[(
            "DATABASE_URL",
            "postgres://postgres:hunter2@db:notaport/app",
        )],
        &["serve"],
    );

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("DATABASE_URL") && !message.contains("hunter2"),
        "{message}"
    );
    assert!(!dir.path().join("data/hook-secret").exists());
    assert!(!dir.path().join("data/admin-token").exists());
}

#[test]
fn migrate_says_what_it_applied_and_then_that_nothing_was_left() {
    let dir = WorkDir::new("migrate");

    let first = run(dir.path(), &[("SUPAHOOK_LOG_FORMAT", "json")], &["migrate"]);
    let second = run(dir.path(), &[("SUPAHOOK_LOG_FORMAT", "json")], &["migrate"]);

    assert!(first.status.success() && second.status.success());
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    assert!(
        stderr(&first).contains("applied migrations")
            && stderr(&first).contains(&format!("\"count\":{migrations}")),
        "{}",
        stderr(&first)
    );
    assert!(
        stderr(&second).contains("no migration to apply"),
        "{}",
        stderr(&second)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data/supahook.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the database holds emails: owner only");
    }
}

#[test]
fn replay_against_a_server_that_is_down_fails_once_with_the_cause() {
    let dir = WorkDir::new("replay-down");
    let events = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/signups.jsonl");
    let url = format!("http://127.0.0.1:{}", free_port());

    let output = run(
        dir.path(),
        &[("SUPAHOOK_HOOK_SECRETS", SECRET)],
        &["replay", events, "--url", &url],
    );

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&format!("cannot reach supahook at {url}"))
            && message.to_lowercase().contains("connection refused"),
        "{message}"
    );
    assert_eq!(
        message.lines().count(),
        1,
        "one line, not one per event: {message}"
    );
    assert!(!stdout(&output).contains("latency"), "{}", stdout(&output));
}

#[test]
fn pretty_logs_written_to_a_file_have_no_colour_codes() {
    let dir = WorkDir::new("colours");

    let output = run(
        dir.path(),
        &[("SUPAHOOK_LOG_FORMAT", "pretty")],
        &["migrate"],
    );

    assert!(output.status.success());
    assert!(stderr(&output).contains("INFO"), "{}", stderr(&output));
    assert!(!stderr(&output).contains('\u{1b}'), "{:?}", stderr(&output));
}

#[test]
fn the_top_level_help_speaks_of_both_databases() {
    let output = run(std::env::temp_dir().as_path(), &[], &["--help"]);

    let help = stdout(&output);
    assert!(
        help.contains("SQLite") && help.contains("PostgreSQL"),
        "{help}"
    );
    assert!(help.contains("healthcheck"), "{help}");
}

#[test]
fn serve_help_lists_the_first_settings_with_defaults_and_points_to_the_rest() {
    let output = run(std::env::temp_dir().as_path(), &[], &["serve", "--help"]);

    let help = stdout(&output);
    assert!(output.status.success(), "{help}");
    assert!(
        help.contains("SUPAHOOK_LISTEN_ADDR        127.0.0.1:8080"),
        "{help}"
    );
    assert!(help.contains("the README's \"Settings\" section"), "{help}");
    // Every setting it names is one the README documents.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let named: Vec<&str> = help
        .split_whitespace()
        .filter(|word| word.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .filter(|word| word.len() > "SUPAHOOK_".len() || ["RUST_LOG"].contains(word))
        .collect();
    assert!(named.len() >= 7, "{named:?}");
    for name in named {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "{name} is not in the README's table"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reconcile_error_is_said_once() {
    let source = TestDb::create_postgres().await; // no auth.users in it
    let dir = WorkDir::new("reconcile-error");

    let output = run(dir.path(), &[], &["reconcile", "--source-url", &source.url]);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert_eq!(
        message.matches("does not exist").count(),
        1,
        "the cause appears once: {message}"
    );
}
