//! A private PostgreSQL cluster that accepts only TLS connections, with a test
//! CA and server certificate made with openssl for this run. The server's
//! certificate names `localhost` only, so `127.0.0.1` is a name it does not hold.
//! Stopped and removed when dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TlsCluster {
    dir: PathBuf,
    pg_ctl: PathBuf,
    pub port: u16,
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
    /// A CA that did not.
    pub other_ca: PathBuf,
}

impl TlsCluster {
    pub fn start() -> Self {
        let dir = PathBuf::from(format!(
            "/tmp/supahook-tls-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        make_certificates(&dir);
        let initdb = pg_program("initdb");
        let pg_ctl = pg_program("pg_ctl");
        as_owner(
            &dir,
            &[
                initdb.to_str().unwrap(),
                "-D",
                "data",
                "--auth=trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        for file in ["server.crt", "server.key"] {
            std::fs::copy(dir.join(file), dir.join("data").join(file)).unwrap();
        }
        // TLS only: no `host` lines, so a plain TCP connection is refused.
        std::fs::write(
            dir.join("data/pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        )
        .unwrap();
        own(&dir);
        let mut cluster = Self {
            ca: dir.join("ca.crt"),
            other_ca: dir.join("other-ca.crt"),
            dir,
            pg_ctl,
            port: 0,
        };
        for _ in 0..5 {
            let port = crate::process::free_port();
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c ssl=on \
                 -c ssl_cert_file=server.crt -c ssl_key_file=server.key \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                cluster.dir.join("sock").display()
            );
            let started = run_as_owner(
                &cluster.dir,
                &[
                    cluster.pg_ctl.to_str().unwrap(),
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
            );
            if started {
                cluster.port = port;
                return cluster;
            }
        }
        let log = std::fs::read_to_string(cluster.dir.join("postgres.log")).unwrap_or_default();
        panic!("the TLS-only PostgreSQL cluster did not start:\n{log}");
    }

    /// A URL of database `db` on this cluster at `host` (`localhost` or `127.0.0.1`), with `params`.
    pub fn url(&self, host: &str, db: &str, params: &str) -> String {
        format!("postgres://postgres@{host}:{}/{db}?{params}", self.port)
    }

    /// `sslmode=verify-full` against the right CA.
    pub fn verified_url(&self, db: &str) -> String {
        self.url(
            "localhost",
            db,
            &format!("sslmode=verify-full&sslrootcert={}", self.ca.display()),
        )
    }

    /// Runs SQL through psql over TLS (a test's own setup, apart from supahook).
    pub fn psql(&self, db: &str, sql: &str) {
        self.query(db, sql);
    }

    /// Runs a SQL file through psql over TLS.
    pub fn psql_file(&self, db: &str, file: &Path) {
        self.psql(db, &std::fs::read_to_string(file).unwrap());
    }

    /// What `sql` prints through psql over TLS, unaligned and trimmed: the value of a one-value query.
    pub fn query(&self, db: &str, sql: &str) -> String {
        let output = Command::new(pg_program("psql"))
            .args(["-v", "ON_ERROR_STOP=1", "-qAtX", "-d"])
            .arg(format!(
                "host=127.0.0.1 port={} user=postgres dbname={db} sslmode=require",
                self.port
            ))
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
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        if self.port != 0 {
            run_as_owner(
                &self.dir,
                &[
                    self.pg_ctl.to_str().unwrap(),
                    "-D",
                    "data",
                    "stop",
                    "-m",
                    "immediate",
                    "-w",
                ],
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A CA, a server key and certificate for `localhost` signed by it, and an unrelated CA.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run openssl (Debian package `openssl`)");
        assert!(
            output.status.success(),
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, subject) in [
        ("ca", "/CN=supahook test CA"),
        ("other-ca", "/CN=some other CA"),
    ] {
        let mut args = vec!["req", "-x509", "-days", "2", "-subj", subject];
        args.extend(ec);
        let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
        args.extend([
            "-keyout",
            &key,
            "-out",
            &crt,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&args);
    }
    let mut args = vec![
        "req",
        "-new",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ];
    args.extend(ec);
    openssl(&args);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.crt",
        "-extfile",
        "server.ext",
    ]);
}

/// A PostgreSQL program: from the newest /usr/lib/postgresql/*/bin, else from PATH.
fn pg_program(name: &str) -> PathBuf {
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
        .unwrap_or_else(|| panic!("{name} not found: install PostgreSQL's server package"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// Gives the directory to the postgres OS user when running as root (PostgreSQL refuses root).
fn own(dir: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success(), "chown to postgres failed");
    }
    let key = dir.join("data/server.key");
    if key.exists() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn as_owner(dir: &Path, args: &[&str]) {
    own(dir);
    assert!(run_as_owner(dir, args), "{} failed", args[0]);
}

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
