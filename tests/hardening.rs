//! What supahook keeps to itself, with the real binary: the data directory and every
//! file in it readable by its own user only, a spool that refuses deliveries rather
//! than fill the disk, and signing keys fetched only over https.

#[path = "support/process.rs"]
mod process;

use process::{Serve, WorkDir, run, stderr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use supahook::signature::SigningKey;

const SECRET: &str = "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=";
/// A PostgreSQL URL where nothing listens: every connection is refused at once.
const UNREACHABLE: &str = "postgres://postgres@127.0.0.1:9/supahook?connect_timeout=1";
const SIGN_UP: &str = include_str!("fixtures/before-user-created.json");

/// Posts `body` to `/hooks/{hook}` on `serve`, signed now with `key`.
async fn deliver(serve: &Serve, key: &SigningKey, hook: &str, body: &str) -> reqwest::Response {
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let timestamp = chrono::Utc::now().timestamp();
    process::http_client()
        .post(format!("{}/hooks/{hook}", serve.url()))
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            key.sign(&id, timestamp, body.as_bytes()),
        )
        .body(body.to_owned())
        .send()
        .await
        .expect("supahook answers")
}

/// The body of `GET path` on `serve`.
async fn get(serve: &Serve, path: &str) -> String {
    let answer = process::http_client()
        .get(format!("{}{path}", serve.url()))
        .send()
        .await
        .expect("supahook answers");
    answer.text().await.unwrap()
}

/// Every directory and file under `dir`, itself included, with its permission bits.
fn modes(dir: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut found = vec![(dir.to_owned(), true, mode(dir))];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => found.extend(modes(&path)),
            false => found.push((path.clone(), false, mode(&path))),
        }
    }
    found
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The bytes of the spool file and its journals, by name.
fn spool_sizes(data: &Path) -> Vec<(String, u64)> {
    ["spool.sqlite", "spool.sqlite-wal", "spool.sqlite-shm"]
        .into_iter()
        .map(|name| {
            let size = std::fs::metadata(data.join(name)).map_or(0, |m| m.len());
            (name.to_owned(), size)
        })
        .collect()
}

/// Asserts every directory in `found` is 0700 and every file 0600.
fn assert_private(found: &[(PathBuf, bool, u32)]) {
    for (path, is_dir, mode) in found {
        let wanted = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, wanted, "{} is {mode:o}", path.display());
    }
}

#[tokio::test]
async fn every_file_in_the_data_directory_is_0600_and_the_directory_0700() {
    let dir = WorkDir::new("private-files");
    // With no mask at all, every mode is what supahook asks for, not what a mask leaves.
    let serve = Serve::start_with_umask(dir.path(), &[("RUST_LOG", "info")], "000");
    let data = dir.path().join("data");
    let secret = std::fs::read_to_string(data.join("hook-secret")).unwrap();
    let key = SigningKey::parse(secret.trim()).unwrap();

    let answer = deliver(&serve, &key, "before-user-created", SIGN_UP).await;

    assert_eq!(answer.status(), 200, "{}", serve.logs());
    let found = modes(&data);
    let names: Vec<String> = found
        .iter()
        .map(|(path, _, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "hook-secret",
        "admin-token",
        "supahook.db",
        "supahook.db-wal",
        "supahook.db-shm",
        "spool.sqlite",
        "spool.sqlite-wal",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert_private(&found);
}

#[tokio::test]
async fn with_postgresql_and_configured_secrets_the_spool_directory_is_still_0700() {
    let dir = WorkDir::new("private-spool");
    let env = [
        ("DATABASE_URL", UNREACHABLE),
        ("SUPAHOOK_HOOK_SECRETS", SECRET),
        ("SUPAHOOK_ADMIN_TOKEN", "an-admin-token-of-some-length"),
    ];
    // Nothing supahook writes first here is a secret or a SQLite mirror: the spool's
    // own files create the directory.
    let serve = Serve::start_with_umask(dir.path(), &env, "000");
    let key = SigningKey::parse(SECRET).unwrap();

    let answer = deliver(&serve, &key, "before-user-created", SIGN_UP).await;

    assert_eq!(answer.status(), 200, "{}", serve.logs());
    let data = dir.path().join("data");
    let found = modes(&data);
    assert!(
        found.iter().any(|(p, _, _)| p.ends_with("spool.database")),
        "{found:?}"
    );
    assert_private(&found);
}

#[tokio::test]
async fn a_full_spool_answers_503_with_retry_after_and_writes_nothing() {
    let dir = WorkDir::new("full-spool");
    let serve = Serve::start(
        dir.path(),
        &[
            ("DATABASE_URL", UNREACHABLE),
            ("SUPAHOOK_HOOK_SECRETS", SECRET),
            ("SUPAHOOK_SPOOL_MAX_BYTES", "1"),
            ("RUST_LOG", "info"),
        ],
    );
    let data = dir.path().join("data");
    let key = SigningKey::parse(SECRET).unwrap();
    let before = spool_sizes(&data);

    let first = deliver(&serve, &key, "before-user-created", SIGN_UP).await;
    let second = deliver(&serve, &key, "before-user-created", SIGN_UP).await;

    for answer in [first, second] {
        assert_eq!(answer.status(), 503);
        let wait = answer.headers().get("retry-after").map(|v| v.to_owned());
        assert!(
            wait.is_some_and(|v| v.to_str().unwrap().parse::<u32>().unwrap() > 0),
            "Retry-After"
        );
        let body: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
    }
    assert_eq!(spool_sizes(&data), before, "the spool did not change");
    let ready: serde_json::Value =
        serde_json::from_str(&get(&serve, "/health/ready").await).unwrap();
    assert_eq!(ready["spool_depth"], 0, "{ready}");
    let metrics = get(&serve, "/metrics").await;
    assert!(metrics.contains("supahook_spool_full_total 2"), "{metrics}");
    let logs = serve.logs();
    assert_eq!(
        logs.matches("the spool is full (SUPAHOOK_SPOOL_MAX_BYTES)")
            .count(),
        1,
        "logged once when it turned full:\n{logs}"
    );
}

#[test]
fn a_plain_http_jwks_url_for_a_remote_host_stops_serve() {
    let dir = WorkDir::new("http-jwks");

    let output = run(
        dir.path(),
        &[
            ("SUPAHOOK_HOOK_SECRETS", SECRET),
            (
                "SUPAHOOK_JWKS_URL",
                "http://project-ref.supabase.co/auth/v1/.well-known/jwks.json",
            ),
        ],
        &["serve"],
    );

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("SUPAHOOK_JWKS_URL") && message.contains("https://"),
        "{message}"
    );
    assert!(!dir.path().join("data").exists(), "nothing was created");
}
