//! The real `supahook` binary as a child process: `serve` on a free loopback
//! port, and one-shot commands, each with only the environment a test gives it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_supahook");

/// A fresh temporary directory, removed when dropped.
pub struct WorkDir(pub PathBuf);

impl WorkDir {
    pub fn new(label: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "supahook-{label}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `supahook ARGS` in `dir` with an empty environment plus `env`.
pub fn command(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_clear()
        .env("SUPAHOOK_DATA_DIR", dir.join("data"))
        .envs(env.iter().copied());
    command
}

/// Asserts that a finished command succeeded, showing its output when not.
pub fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        stdout(output),
        stderr(output)
    );
}

/// Runs `supahook ARGS` to the end.
pub fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(dir, env).args(args).output().expect("run supahook")
}

/// Asserts that `replay` of one delivery reports it waiting in the server's spool, and
/// so exits non-zero: it is not applied yet.
pub fn assert_replayed_into_the_spool(replayed: &Output) {
    assert!(
        stdout(replayed).contains("spooled     1"),
        "{}",
        stdout(replayed)
    );
    assert!(
        !replayed.status.success(),
        "replay says a spooled delivery is not applied yet"
    );
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A `supahook serve` process, killed when dropped.
pub struct Serve {
    child: Child,
    pub addr: String,
    log: PathBuf,
}

impl Serve {
    /// Starts `serve` on a free port and waits until `/health/ready` answers 200.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut serve = Self::spawn(dir, env);
        serve.wait_until_ready();
        serve
    }

    /// Starts `serve` on a free port without waiting for it.
    pub fn spawn(dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn_from(dir, command(dir, env))
    }

    /// Starts `serve` with the file-creation mask `umask` (octal, as `sh` takes it) and
    /// waits until it is ready: what it creates then has the modes it asks for.
    pub fn start_with_umask(dir: &Path, env: &[(&str, &str)], umask: &str) -> Self {
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(BIN)
            .current_dir(dir)
            .env_clear()
            .env("SUPAHOOK_DATA_DIR", dir.join("data"))
            .envs(env.iter().copied());
        let mut serve = Self::spawn_from(dir, command);
        serve.wait_until_ready();
        serve
    }

    fn spawn_from(dir: &Path, mut command: Command) -> Self {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = dir.join(format!("serve-{port}.log"));
        let child = command
            .env("SUPAHOOK_LISTEN_ADDR", &addr)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start supahook serve");
        Self { child, addr, log }
    }

    /// Waits until `/health/ready` answers 200; fails if the process exits first.
    pub fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("supahook serve exited with {status}:\n{}", self.logs());
            }
            if http_status(&self.addr, "/health/ready") == Some(200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "supahook serve did not become ready on {}:\n{}",
            self.addr,
            self.logs()
        );
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM without waiting.
    pub fn signal_terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Kills the process with SIGKILL, as a crash would end it, and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill -9 supahook serve");
        self.child.wait().expect("reap supahook serve");
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "supahook serve did not exit within {limit:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status of `GET path` on `addr`, `None` when nothing answers.
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// An HTTP client as `replay` builds it.
pub fn http_client() -> reqwest::Client {
    supahook::infra::tls::http_client(Duration::from_secs(30)).unwrap()
}
