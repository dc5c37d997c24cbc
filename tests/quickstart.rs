//! The README's quickstart, with the real binary: with no settings at all, `serve`
//! runs on the embedded database, and `replay` feeds it the example sign-ups.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_supahook");
const SIGNUPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/signups.jsonl");
/// The first user in examples/signups.jsonl.
const FIRST_USER: &str = "73844cbf-f828-5a46-858f-f098e1495336";

/// A fresh working directory, removed at the end of the test.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "supahook-quickstart-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `supahook serve` process with an empty environment, stopped when dropped.
struct Server {
    child: Child,
    dir: PathBuf,
    addr: String,
}

impl Server {
    fn start(dir: &WorkDir) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.0.join("serve.log")).unwrap();
        let child = command(&dir.0, &addr)
            .env("RUST_LOG", "info")
            .env("SUPAHOOK_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start supahook serve");
        let server = Self {
            child,
            dir: dir.0.clone(),
            addr,
        };
        server.wait_until_ready();
        server
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut stream) = std::net::TcpStream::connect(&self.addr) {
                use std::io::{Read, Write};
                let _ = stream.write_all(b"GET /health/ready HTTP/1.0\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("supahook serve did not become ready on {}", self.addr);
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap()
    }

    fn replay(&self, extra: &[&str]) -> Output {
        command(&self.dir, &self.addr)
            .env("RUST_LOG", "warn")
            .arg("replay")
            .arg(SIGNUPS)
            .args(extra)
            .output()
            .expect("run supahook replay")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `supahook` run in `dir` with nothing in its environment but the listen address.
fn command(dir: &Path, addr: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_clear()
        .env("SUPAHOOK_LISTEN_ADDR", addr);
    command
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The value after `label` in replay's summary.
fn figure(output: &Output, label: &str) -> String {
    let text = stdout(output);
    text.lines()
        .find(|l| l.starts_with(label))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"))
        .to_owned()
}

#[test]
fn with_no_settings_the_example_sign_ups_are_mirrored_once_and_readable() {
    let dir = WorkDir::new();
    let server = Server::start(&dir);

    let first = server.replay(&[]);
    let second = server.replay(&[]);
    let fresh = server.replay(&["--new-ids"]);

    assert!(
        first.status.success(),
        "{}{}",
        stdout(&first),
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(figure(&first, "created"), "200");
    assert_eq!(figure(&second, "duplicate"), "200");
    assert_eq!(figure(&second, "created"), "0");
    assert_eq!(figure(&fresh, "duplicate"), "0");
    assert_eq!(
        figure(&fresh, "unchanged"),
        "200",
        "new events of the same users"
    );

    let token = std::fs::read_to_string(dir.0.join("data/admin-token")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let body = runtime.block_on(async {
        supahook::infra::tls::http_client(Duration::from_secs(10))
            .unwrap()
            .get(format!("http://{}/v1/users/{FIRST_USER}", server.addr))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let user: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(user["email"], "ada.lovelace0@example.com", "{body}");
    assert_eq!(user["profile"]["display_name"], "Ada Lovelace");
    assert!(
        dir.0.join("data/supahook.db").exists(),
        "the embedded database is used"
    );
}

#[test]
fn a_wrong_secret_makes_replay_fail_with_the_servers_reason_and_the_count_of_rejections() {
    let dir = WorkDir::new();
    let server = Server::start(&dir);

    let output = server.replay(&[
        "--secret",
        "v1,whsec_/yNMaHaPP5sX873J6OQEznxFvOa0dod1Sc3t/kZYFsQ=",
    ]);

    assert!(!output.status.success());
    assert_eq!(figure(&output, "rejected"), "200");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("200 of 200 deliveries failed (200 rejected, 0 errors)"),
        "{stderr}"
    );
    let why = "no signature in the webhook-signature header matches any configured secret";
    let report = stdout(&output);
    assert!(
        report.contains(&format!("200  401 invalid_signature: {why}")),
        "the reason is listed once with its count:\n{report}"
    );
    assert!(stderr.contains(why), "{stderr}");
    assert_eq!(figure(&output, "created"), "0");
}

#[test]
fn the_generated_secret_is_private_reused_across_restarts_and_never_logged() {
    let dir = WorkDir::new();
    let path = dir.0.join("data/hook-secret");
    let first = Server::start(&dir);
    let secret = std::fs::read_to_string(&path).unwrap();
    let first_logs = first.logs();
    drop(first);

    let second = Server::start(&dir);
    let second_logs = second.logs();

    assert_eq!(std::fs::read_to_string(&path).unwrap(), secret);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(
        first_logs.contains("hook secret was generated"),
        "{first_logs}"
    );
    assert!(first_logs.contains("data/hook-secret"), "{first_logs}");
    assert!(!second_logs.contains("was generated"), "{second_logs}");
    // The first start says what to try next; later ones do not repeat it.
    assert!(
        first_logs.contains(
            "first start: send the example sign-ups with `supahook replay examples/signups.jsonl`"
        ) && first_logs.contains("/docs with the token in"),
        "{first_logs}"
    );
    assert!(!second_logs.contains("first start"), "{second_logs}");
    for logs in [&first_logs, &second_logs] {
        assert!(
            !logs.contains(&secret.trim()["v1,whsec_".len()..]),
            "the secret itself is never logged"
        );
    }
}
