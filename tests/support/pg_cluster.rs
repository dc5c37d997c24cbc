//! A private PostgreSQL cluster that a test runs itself, so that it can stop it and
//! start it again on the same port: initdb in a new directory, pg_ctl on a free
//! loopback port, trust authentication for the user `postgres`. When the tests run
//! as root, PostgreSQL's programs run as the `postgres` OS user (PostgreSQL refuses
//! root). Stopped and removed when dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// No fsync: a test cluster is thrown away, and fsync only guards against the machine
/// going down. `synchronous_commit` stays on: a commit the server has acknowledged
/// must survive a crash of the server itself, which the fault tests cause.
const FAST: &str = "-c fsync=off -c full_page_writes=off";

pub struct PgCluster {
    dir: PathBuf,
    pg_ctl: PathBuf,
    pub port: u16,
    /// Server settings every start passes, besides the port and socket directory.
    settings: String,
    /// libpq keywords `psql` connects with, besides host, port, user and database.
    psql_params: String,
    /// Frozen by [`PgCluster::freeze`]: a frozen server cannot even be stopped.
    frozen: std::cell::Cell<bool>,
}

impl PgCluster {
    /// A plain (non-TLS) cluster on 127.0.0.1, started.
    pub fn plain() -> Self {
        // initdb's own pg_hba.conf trusts local and loopback connections.
        Self::init("pg", |_| {}).launch("", "sslmode=disable")
    }

    /// A cluster on 127.0.0.1 where `postgres` connects without a password and every
    /// other role only with its SCRAM password, started.
    pub fn with_passwords() -> Self {
        Self::init("scram", |data| {
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhost all postgres 127.0.0.1/32 trust\n\
                 host all all 127.0.0.1/32 scram-sha-256\n",
            )
            .unwrap();
        })
        .launch("-c password_encryption=scram-sha-256", "sslmode=disable")
    }

    /// A new cluster, not started: initdb in a new directory under /tmp, then
    /// `configure(data directory)` to change its files before the first start.
    pub fn init(label: &str, configure: impl FnOnce(&Path)) -> Self {
        let dir = PathBuf::from(format!(
            "/tmp/supahook-{label}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        let cluster = Self {
            pg_ctl: pg_program("pg_ctl"),
            dir,
            port: 0,
            settings: String::new(),
            psql_params: String::new(),
            frozen: std::cell::Cell::new(false),
        };
        let initdb = pg_program("initdb");
        cluster.as_owner(&[
            initdb.to_str().unwrap(),
            "-D",
            "data",
            "--auth=trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        configure(&cluster.dir.join("data"));
        own(&cluster.dir);
        cluster
    }

    /// Starts the cluster on a free port (a few are tried) with `settings`; `psql`
    /// connects with `psql_params`.
    pub fn launch(mut self, settings: &str, psql_params: &str) -> Self {
        self.settings = format!("{settings} {FAST}");
        self.psql_params = psql_params.to_owned();
        for _ in 0..5 {
            self.port = crate::process::free_port();
            if self.pg_ctl_start() {
                return self;
            }
        }
        self.port = 0;
        panic!("the PostgreSQL cluster did not start:\n{}", self.log());
    }

    /// The directory holding the cluster (`data`, `sock`, `postgres.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server (fast shutdown: sessions are ended, every commit is kept)
    /// and waits until it is down.
    pub fn stop(&self) {
        self.pg_ctl_stop("fast");
    }

    /// Crashes the server (immediate shutdown: every process quits at once, as if
    /// killed) and waits until it is down; the next start recovers from its log.
    pub fn crash(&self) {
        self.pg_ctl_stop("immediate");
    }

    fn pg_ctl_stop(&self, mode: &str) {
        let pg_ctl = self.pg_ctl.to_str().unwrap();
        self.as_owner(&[pg_ctl, "-D", "data", "stop", "-m", mode, "-w", "-t", "60"]);
    }

    /// Starts the stopped server again on the same port and waits until it accepts
    /// connections.
    pub fn start(&self) {
        assert!(
            self.pg_ctl_start(),
            "PostgreSQL did not start again on port {}:\n{}",
            self.port,
            self.log()
        );
    }

    /// Freezes the server (SIGSTOP to it and every session): it still accepts
    /// connections, as the kernel takes them, and never answers; a hung or cut-off
    /// database as its clients see it.
    pub fn freeze(&self) {
        self.signal("STOP");
        self.frozen.set(true);
    }

    /// Lets a frozen server go on (SIGCONT).
    pub fn thaw(&self) {
        self.signal("CONT");
        self.frozen.set(false);
    }

    fn signal(&self, signal: &str) {
        let pid_file = std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
            .expect("the server is running");
        let postmaster = pid_file.lines().next().unwrap().trim().to_owned();
        let children = Command::new("ps")
            .args(["-o", "pid=", "--ppid", &postmaster])
            .output()
            .expect("run ps");
        let children = String::from_utf8_lossy(&children.stdout).into_owned();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(&postmaster)
            .args(children.split_whitespace())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// The URL of database `db`.
    pub fn database_url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL through psql (a test's own setup and checks, apart from supahook).
    pub fn psql(&self, db: &str, sql: &str) {
        self.query(db, sql);
    }

    /// Runs a SQL file through psql.
    pub fn psql_file(&self, db: &str, file: &Path) {
        self.psql(db, &std::fs::read_to_string(file).unwrap());
    }

    /// What `sql` prints through psql, unaligned and trimmed: the value of a
    /// one-value query, or one line per row.
    pub fn query(&self, db: &str, sql: &str) -> String {
        let output = self
            .psql_command(db)
            .args(["-c", sql])
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// psql on database `db`, stopping at the first error, printing bare values;
    /// the caller adds what to run.
    pub fn psql_command(&self, db: &str) -> Command {
        let mut command = Command::new(pg_program("psql"));
        command
            .args(["-v", "ON_ERROR_STOP=1", "-qAtX", "-d"])
            .arg(format!(
                "host=127.0.0.1 port={} user=postgres dbname={db} {}",
                self.port, self.psql_params
            ));
        command
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }

    fn pg_ctl_start(&self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 {}",
            self.port,
            self.dir.join("sock").display(),
            self.settings
        );
        run_as_owner(
            &self.dir,
            &[
                self.pg_ctl.to_str().unwrap(),
                "-D",
                "data",
                "-l",
                "postgres.log",
                "-w",
                "-t",
                "60",
                "start",
                "-o",
                &options,
            ],
        )
    }

    fn as_owner(&self, args: &[&str]) {
        own(&self.dir);
        assert!(
            run_as_owner(&self.dir, args),
            "{} failed:\n{}",
            args[0],
            self.log()
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.frozen.get() {
            self.thaw();
        }
        if self.port != 0 {
            let pg_ctl = self.pg_ctl.to_str().unwrap();
            // Also when a test stopped it: pg_ctl then only says so.
            run_as_owner(
                &self.dir,
                &[pg_ctl, "-D", "data", "stop", "-m", "immediate", "-w"],
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL program: from the newest /usr/lib/postgresql/*/bin, else from PATH.
pub fn pg_program(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join(name).is_file())
        .collect();
    dirs.sort();
    if let Some(dir) = dirs.pop() {
        return dir.join(name);
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "{name} not found: these tests run a PostgreSQL server of their own; \
                 install PostgreSQL's server and client (Debian: apt-get install postgresql)"
            )
        })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// Gives the directory to the postgres OS user when running as root.
fn own(dir: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success(), "chown to postgres failed");
    }
}

/// Runs a PostgreSQL program in `dir`, as the postgres OS user when root; reports
/// whether it succeeded, printing its error output when not.
fn run_as_owner(dir: &Path, args: &[&str]) -> bool {
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(args);
        c
    } else {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    };
    let output = command
        .current_dir(dir)
        .output()
        .expect("run a PostgreSQL program");
    if !output.status.success() {
        eprintln!("{}: {}", args[0], String::from_utf8_lossy(&output.stderr));
    }
    output.status.success()
}
