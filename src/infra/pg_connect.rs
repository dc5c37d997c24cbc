//! Opens PostgreSQL connections, over TLS as libpq's `sslmode` and `sslrootcert`
//! ask, for the mirror's pool and for the Supabase database `reconcile` reads.
//!
//! | `sslmode` | TLS | certificate check |
//! | --- | --- | --- |
//! | `disable` | never | |
//! | `prefer` (default) | when the server offers it | none |
//! | `require` | always | none, or chain only when `sslrootcert` is given |
//! | `verify-ca` | always | chain to a trusted CA |
//! | `verify-full` | always | chain, and the name must match the host |
//!
//! Trusted CAs are the ones in `sslrootcert=FILE`, else the system's (or Mozilla's).
//! As in libpq 16, `sslrootcert=system` means `verify-full` and refuses weaker modes:
//! the system's CAs vouch for every public host, so only the host name check makes
//! them mean anything. For the same reason `verify-ca` needs `sslrootcert=FILE`.
//!
//! A failed attempt is classified ([`refusal`]): the last refusal is kept, so that
//! callers holding only a pool's error text can still tell a wrong setting.

pub mod refusal;

use crate::infra::error_chain::describe;
use crate::infra::tls::{self, Check, Roots};
use diesel::{ConnectionError, ConnectionResult};
use diesel_async::AsyncPgConnection;
use percent_encoding::percent_decode_str;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::config::{Host, SslMode as WireSslMode};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Why a database refused supahook for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What was refused, with PostgreSQL's code: `the password was refused (28P01)`.
    /// Names no server, user or database, so readiness can show it to anyone.
    pub reason: String,
    /// The connection's error: server, `sslmode` and the server's own words, for the
    /// operator's eyes (the start's message, logs).
    pub detail: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

/// How long sent data may go unacknowledged before the connection is dropped, unless
/// the URL sets `tcp_user_timeout`.
const TCP_USER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a connection may sit idle before TCP probes it, unless the URL sets
/// `keepalives_idle`.
const KEEPALIVES_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a connection attempt may take when the URL sets no `connect_timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            // libpq's `allow` tries plain first; nothing here needs it.
            other => {
                return Err(format!(
                    "sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        })
    }
}

/// A connection string that cannot be used. It never repeats the string, which may hold a password.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UrlError(String);

/// Where and how to connect: parsed once, used for every connection.
pub struct PgTarget {
    config: tokio_postgres::Config,
    mode: SslMode,
    tls: Option<MakeRustlsConnect>,
    place: String,
    /// See [`PgTarget::refusal`].
    refused: std::sync::Mutex<Option<Refusal>>,
}

impl PgTarget {
    /// Parses a `postgres://` URL or a `key=value` connection string.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let (rest, params) = split_tls_params(url);
        let (mode, check) = tls_policy(params.sslmode.as_deref(), params.sslrootcert.as_deref())
            .map_err(UrlError)?;
        let mut config = tokio_postgres::Config::from_str(&rest).map_err(|e| {
            UrlError(format!(
                "not a valid PostgreSQL connection string: {}",
                describe(&e)
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("supahook");
        }
        // A server that vanishes without closing the socket (a failover, a dropped
        // route) is noticed within seconds, not after TCP's own 15 minutes: unsent data
        // times out, and idle connections are probed.
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        if config.get_keepalives_idle() == tokio_postgres::Config::new().get_keepalives_idle() {
            config.keepalives_idle(KEEPALIVES_IDLE);
        }
        let roots = match params.sslrootcert.as_deref() {
            None | Some("system") => Roots::Platform,
            Some(path) => Roots::File(path.into()),
        };
        config.ssl_mode(match mode {
            SslMode::Disable => WireSslMode::Disable,
            SslMode::Prefer => WireSslMode::Prefer,
            _ => WireSslMode::Require,
        });
        let tls = match check {
            None => None,
            Some(check) => Some(MakeRustlsConnect::new(
                tls::client_config(&roots, check).map_err(|e| UrlError(e.to_string()))?,
            )),
        };
        let place = place(&config);
        Ok(Self {
            config,
            mode,
            tls,
            place,
            refused: std::sync::Mutex::default(),
        })
    }

    /// What the last connection attempt was refused for, when it was refused for a
    /// reason that will not pass by itself. `None` after a success or an outage.
    pub fn refusal(&self) -> Option<Refusal> {
        self.refused.lock().map(|r| r.clone()).unwrap_or(None)
    }

    /// The database as `host:port/dbname as user`, for logs (never the password).
    pub fn describe(&self) -> String {
        let dbname = self.config.get_dbname().or(self.config.get_user());
        format!(
            "{}/{} as {} (sslmode={})",
            self.place,
            dbname.unwrap_or("postgres"),
            self.config.get_user().unwrap_or("(default user)"),
            self.mode
        )
    }

    /// What identifies the database whatever the connection's options: its first
    /// server and its name.
    pub fn identity(&self) -> String {
        let place = self.place.split(", ").next().unwrap_or_default();
        let dbname = self.config.get_dbname().or(self.config.get_user());
        format!(
            "postgres://{}/{}",
            place.to_ascii_lowercase(),
            dbname.unwrap_or("postgres")
        )
    }

    /// The server(s) as `host:port`, for messages.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// The TLS mode in effect.
    pub fn ssl_mode(&self) -> SslMode {
        self.mode
    }

    /// Opens one connection. The error names the server and the cause, and says
    /// so plainly when the server's certificate failed verification.
    pub async fn connect(&self) -> ConnectionResult<AsyncPgConnection> {
        let result = match &self.tls {
            None => establish(&self.config, NoTls).await,
            Some(tls) => establish(&self.config, tls.clone()).await,
        };
        let refusal = match &result {
            Ok(_) => None,
            Err(error @ Failure::Postgres(cause)) => {
                match refusal::classify(&refusal::fault_of(cause)) {
                    refusal::Verdict::Refused { reason } => Some(Refusal {
                        reason,
                        detail: self.explain(error),
                    }),
                    refusal::Verdict::Unavailable => None,
                }
            }
            Err(Failure::Diesel(_)) => self.refusal(),
        };
        if refusal.is_some() {
            crate::telemetry::database_refused();
        }
        if let Ok(mut kept) = self.refused.lock() {
            *kept = refusal;
        }
        result.map_err(|error| ConnectionError::BadConnection(self.explain(&error)))
    }

    fn explain(&self, error: &Failure) -> String {
        let cause = match error {
            Failure::Postgres(e) => match tls::certificate_failure(e) {
                Some(failure) => format!(
                    "the server's certificate failed verification (sslmode={}): {}",
                    self.mode,
                    tls::explain_certificate_failure(failure)
                ),
                None => describe(e),
            },
            Failure::Diesel(e) => e.to_string(),
        };
        format!("cannot connect to PostgreSQL at {}: {cause}", self.place)
    }
}

/// The TLS mode and certificate check that `sslmode` and `sslrootcert` ask for, or why
/// they cannot be used together.
fn tls_policy(
    sslmode: Option<&str>,
    sslrootcert: Option<&str>,
) -> Result<(SslMode, Option<Check>), String> {
    let asked = sslmode.map(str::parse::<SslMode>).transpose()?;
    let mode = match (asked, sslrootcert) {
        (None | Some(SslMode::VerifyFull), Some("system")) => SslMode::VerifyFull,
        (Some(weaker), Some("system")) => {
            return Err(format!(
                "sslmode={weaker} cannot be used with sslrootcert=system: the system's CAs \
                 vouch for every public host, so only verify-full, which also checks the host \
                 name, makes them mean anything (libpq 16 refuses it too); use \
                 sslmode=verify-full"
            ));
        }
        (Some(SslMode::VerifyCa), None) => {
            return Err(
                "sslmode=verify-ca needs sslrootcert=FILE: against the system's CAs \
                 it would accept any publicly issued certificate, for any host name; use \
                 sslmode=verify-full, or give the server's CA with sslrootcert=FILE"
                    .to_owned(),
            );
        }
        (asked, _) => asked.unwrap_or(SslMode::Prefer),
    };
    let check = match mode {
        SslMode::Disable => None,
        SslMode::Prefer => Some(Check::Nothing),
        SslMode::Require if sslrootcert.is_some() => Some(Check::Chain),
        SslMode::Require => Some(Check::Nothing),
        SslMode::VerifyCa => Some(Check::Chain),
        SslMode::VerifyFull => Some(Check::ChainAndName),
    };
    Ok((mode, check))
}

enum Failure {
    Postgres(tokio_postgres::Error),
    Diesel(ConnectionError),
}

async fn establish<T>(config: &tokio_postgres::Config, tls: T) -> Result<AsyncPgConnection, Failure>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: tokio_postgres::tls::TlsStream + Unpin + Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, connection) = config.connect(tls).await.map_err(Failure::Postgres)?;
    AsyncPgConnection::try_from_client_and_connection(client, connection)
        .await
        .map_err(Failure::Diesel)
}

fn place(config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    let port = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| match host {
            Host::Tcp(name) if name.contains(':') => format!("[{name}]:{}", port(i)),
            Host::Tcp(name) => format!("{name}:{}", port(i)),
            #[cfg(unix)]
            Host::Unix(dir) => format!("{}/.s.PGSQL.{}", dir.display(), port(i)),
        })
        .collect();
    match hosts.is_empty() {
        true => format!("localhost:{}", port(0)),
        false => hosts.join(", "),
    }
}

/// The TLS parameters libpq knows and tokio-postgres does not.
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsParams {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query or a `key=value` string,
/// leaving the rest as it was.
fn split_tls_params(url: &str) -> (String, TlsParams) {
    let mut params = TlsParams::default();
    let mut take = |key: &str, value: String| match key {
        "sslmode" => params.sslmode = Some(value),
        "sslrootcert" => params.sslrootcert = Some(value),
        _ => unreachable!("only TLS keys are taken"),
    };
    let is_tls_key = |key: &str| matches!(key, "sslmode" | "sslrootcert");
    let rest = if url.contains("://") {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            if is_tls_key(&decode(key)) {
                take(&decode(key), decode(value));
            } else {
                kept.push(pair);
            }
        }
        match kept.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", kept.join("&")),
        }
    } else {
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            match word.split_once('=') {
                Some((key, value)) if is_tls_key(key) => {
                    take(key, value.trim_matches('\'').to_owned())
                }
                _ => kept.push(word),
            }
        }
        kept.join(" ")
    };
    (rest, params)
}

#[cfg(test)]
mod tests;
