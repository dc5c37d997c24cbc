//! A private PostgreSQL cluster that accepts only TLS connections, with a test
//! CA and server certificate made with openssl for this run. The server's
//! certificate names `localhost` only, so `127.0.0.1` is a name it does not hold.
//! Stopped and removed when dropped.

#![allow(dead_code)]

use crate::pg_cluster::PgCluster;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TlsCluster {
    cluster: PgCluster,
    pub port: u16,
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
    /// A CA that did not.
    pub other_ca: PathBuf,
}

impl TlsCluster {
    pub fn start() -> Self {
        let cluster = PgCluster::init("tls", |data| {
            let dir = data.parent().unwrap();
            make_certificates(dir);
            for file in ["server.crt", "server.key"] {
                std::fs::copy(dir.join(file), data.join(file)).unwrap();
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                data.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
            // TLS only: no `host` lines, so a plain TCP connection is refused.
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
            )
            .unwrap();
        })
        .launch(
            "-c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key",
            "sslmode=require",
        );
        Self {
            port: cluster.port,
            ca: cluster.dir().join("ca.crt"),
            other_ca: cluster.dir().join("other-ca.crt"),
            cluster,
        }
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
        self.cluster.psql(db, sql);
    }

    /// Runs a SQL file through psql over TLS.
    pub fn psql_file(&self, db: &str, file: &Path) {
        self.cluster.psql_file(db, file);
    }

    /// What `sql` prints through psql over TLS, unaligned and trimmed: the value of a one-value query.
    pub fn query(&self, db: &str, sql: &str) -> String {
        self.cluster.query(db, sql)
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
