//! Tells a database that refuses supahook for good from one that is away for a while.
//!
//! A wrong setting (an unknown database, a refused role or password, a `pg_hba.conf`
//! without a line for us, a certificate that fails the check, a server without the TLS
//! the URL requires) will not pass by itself: `serve`, `migrate` and `reconcile` stop at
//! start with the reason, and a refusal that begins while serving shows in readiness.
//! Everything else (refused or cut connections, timeouts, a server shutting down or
//! starting up, too many clients) can pass, and `serve` goes on degraded.

use crate::infra::tls;

/// What a failed connection attempt ran into, reduced to what decides its fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The server answered with an error: its SQLSTATE and message.
    Server { code: String, message: String },
    /// The server's certificate failed verification.
    Certificate,
    /// The URL requires TLS and the server does not offer it.
    NoTls,
    /// The client cannot authenticate as the server asks (a password missing from the
    /// URL, an authentication method not supported here).
    Authentication,
    /// Anything else: the network, a timeout, a connection closed.
    Other,
}

/// Whether a failed attempt will pass by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It will not: the settings must change. The reason says what was refused, in
    /// short; the connection's error says the rest.
    Refused { reason: String },
    /// It may: try again later.
    Unavailable,
}

/// SQLSTATEs a server answers a connection with when a setting is wrong.
const REFUSING: [(&str, &str); 4] = [
    ("3D000", "the database does not exist"),
    ("28P01", "the password was refused"),
    (
        "28000",
        "the role, or this client in pg_hba.conf, was refused",
    ),
    ("42501", "the role may not connect to this database"),
];

/// Decides whether `fault` will pass by itself (pure, so that every case is tested).
pub fn classify(fault: &Fault) -> Verdict {
    let refused = |reason: String| Verdict::Refused { reason };
    match fault {
        Fault::Server { code, .. } => match REFUSING.iter().find(|(c, _)| c == code) {
            Some((_, meaning)) => refused(format!("{meaning} ({code})")),
            None => Verdict::Unavailable,
        },
        Fault::Certificate => refused("the server's certificate failed verification".to_owned()),
        Fault::NoTls => {
            refused("the server does not offer TLS, which the URL's sslmode requires".to_owned())
        }
        Fault::Authentication => {
            refused("supahook cannot authenticate as the server asks".to_owned())
        }
        Fault::Other => Verdict::Unavailable,
    }
}

/// What `error` from a connection attempt ran into.
pub fn fault_of(error: &tokio_postgres::Error) -> Fault {
    if let Some(db) = error.as_db_error() {
        return Fault::Server {
            code: db.code().code().to_owned(),
            message: db.message().to_owned(),
        };
    }
    if tls::certificate_failure(error).is_some() {
        return Fault::Certificate;
    }
    let cause = std::error::Error::source(error).map(ToString::to_string);
    let kind = error.to_string();
    match (kind.as_str(), cause) {
        // tokio-postgres's own words for a server that answers `N` to the TLS request.
        ("error performing TLS handshake", Some(cause))
            if cause.contains("does not support TLS") =>
        {
            Fault::NoTls
        }
        ("authentication error" | "invalid configuration", Some(_)) => Fault::Authentication,
        _ => Fault::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: &str, message: &str) -> Fault {
        Fault::Server {
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    fn reason(fault: Fault) -> String {
        match classify(&fault) {
            Verdict::Refused { reason } => reason,
            Verdict::Unavailable => panic!("{fault:?} was taken for an outage"),
        }
    }

    #[test]
    fn a_wrong_database_role_password_or_pg_hba_is_refused_naming_what() {
        let missing = reason(server("3D000", "database \"mirorr\" does not exist"));
        let password = reason(server(
            "28P01",
            "password authentication failed for user \"app\"",
        ));
        let hba = reason(server(
            "28000",
            "no pg_hba.conf entry for host \"10.0.0.5\", user \"app\", database \"app\", no encryption",
        ));
        let privilege = reason(server("42501", "permission denied for database \"app\""));

        assert_eq!(missing, "the database does not exist (3D000)");
        assert_eq!(password, "the password was refused (28P01)");
        assert!(
            hba.contains("pg_hba.conf") && hba.contains("28000"),
            "{hba}"
        );
        assert!(privilege.contains("may not connect"), "{privilege}");
    }

    #[test]
    fn a_failed_certificate_missing_tls_or_impossible_authentication_is_refused() {
        assert!(reason(Fault::Certificate).contains("certificate failed verification"));
        assert!(reason(Fault::NoTls).contains("does not offer TLS"));
        assert!(reason(Fault::Authentication).contains("cannot authenticate"));
    }

    #[test]
    fn an_outage_a_restart_or_a_full_server_can_pass() {
        for fault in [
            server(
                "57P01",
                "terminating connection due to administrator command",
            ),
            server("57P03", "the database system is starting up"),
            server("57P03", "the database system is shutting down"),
            server("53300", "sorry, too many clients already"),
            server("08006", "connection failure"),
            Fault::Other,
        ] {
            assert_eq!(classify(&fault), Verdict::Unavailable, "{fault:?}");
        }
    }
}
