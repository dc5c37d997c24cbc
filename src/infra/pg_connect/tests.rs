use super::*;

fn split(url: &str) -> (String, Option<String>, Option<String>) {
    let (rest, params) = split_tls_params(url);
    (rest, params.sslmode, params.sslrootcert)
}

#[test]
fn tls_parameters_are_taken_from_a_url_and_the_rest_is_kept() {
    assert_eq!(
        split(
            "postgres://u:p%40ss@db:6543/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x"
        ),
        (
            "postgres://u:p%40ss@db:6543/app?application_name=x".to_owned(),
            Some("verify-full".to_owned()),
            Some("/etc/ca.pem".to_owned())
        )
    );
    assert_eq!(
        split("postgresql://db/app?sslmode=require"),
        (
            "postgresql://db/app".to_owned(),
            Some("require".to_owned()),
            None
        )
    );
    assert_eq!(
        split("postgres://db/app"),
        ("postgres://db/app".to_owned(), None, None)
    );
}

#[test]
fn tls_parameters_are_taken_from_a_key_value_string() {
    assert_eq!(
        split("host=db port=5432 sslmode=verify-ca sslrootcert='/ca.pem' dbname=app"),
        (
            "host=db port=5432 dbname=app".to_owned(),
            Some("verify-ca".to_owned()),
            Some("/ca.pem".to_owned())
        )
    );
}

#[test]
fn every_libpq_mode_parses_and_others_are_refused_by_name() {
    for mode in ["disable", "prefer", "require", "verify-full"] {
        let target = PgTarget::parse(&format!("postgres://db/app?sslmode={mode}")).unwrap();
        assert_eq!(target.ssl_mode().to_string(), mode);
    }
    let Err(error) = PgTarget::parse("postgres://db/app?sslmode=always") else {
        panic!("an unknown sslmode was accepted");
    };
    assert!(error.to_string().contains("sslmode `always`"), "{error}");
}

#[test]
fn the_default_mode_is_prefer_as_in_libpq() {
    assert_eq!(
        PgTarget::parse("postgres://db/app").unwrap().ssl_mode(),
        SslMode::Prefer
    );
}

#[test]
fn a_missing_root_certificate_file_is_named() {
    let Err(error) =
        PgTarget::parse("postgres://db/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
    else {
        panic!("a missing sslrootcert was accepted");
    };
    assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
}

#[test]
fn a_broken_url_is_refused_without_repeating_it() {
    let Err(error) = PgTarget::parse("postgres://user:hunter2@db:notaport/app") else {
        panic!("a bad port was accepted");
    };
    let message = error.to_string();
    assert!(
        message.contains("not a valid PostgreSQL connection string"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn the_place_names_every_host_and_port() {
    let place = |url: &str| PgTarget::parse(url).unwrap().place().to_owned();
    assert_eq!(place("postgres://u@db.internal/app"), "db.internal:5432");
    assert_eq!(place("postgres://u@db:6543/app"), "db:6543");
    assert_eq!(place("host=a,b port=1,2 dbname=app"), "a:1, b:2");
}

#[tokio::test]
async fn a_refused_connection_names_the_address_and_the_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Nothing listens on the port once the probe listener is dropped.
    let target = PgTarget::parse(&format!("postgres://postgres@127.0.0.1:{port}/app")).unwrap();
    let Err(error) = target.connect().await else {
        panic!("connected to a closed port");
    };
    let message = error.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(
        message.to_lowercase().contains("connection refused"),
        "{message}"
    );
}

#[test]
fn sslrootcert_system_means_verify_full_as_in_libpq_16() {
    assert_eq!(
        tls_policy(None, Some("system")).unwrap(),
        (SslMode::VerifyFull, Some(Check::ChainAndName))
    );
    assert_eq!(
        tls_policy(Some("verify-full"), Some("system")).unwrap(),
        (SslMode::VerifyFull, Some(Check::ChainAndName))
    );
    let target = PgTarget::parse("postgres://db/app?sslrootcert=system").unwrap();
    assert_eq!(target.ssl_mode(), SslMode::VerifyFull);
}

#[test]
fn a_weaker_mode_with_the_system_roots_is_refused_saying_why() {
    for mode in ["disable", "prefer", "require", "verify-ca"] {
        let Err(reason) = tls_policy(Some(mode), Some("system")) else {
            panic!("sslmode={mode} with sslrootcert=system was accepted");
        };
        assert!(
            reason.contains(&format!(
                "sslmode={mode} cannot be used with sslrootcert=system"
            )) && reason.contains("verify-full"),
            "{reason}"
        );
    }
    let Err(reason) = tls_policy(Some("verify-ca"), None) else {
        panic!("verify-ca against the system's CAs was accepted");
    };
    assert!(
        reason.contains("sslmode=verify-ca needs sslrootcert=FILE"),
        "{reason}"
    );
    let Err(error) = PgTarget::parse("postgres://db/app?sslmode=verify-ca") else {
        panic!("verify-ca without sslrootcert was accepted");
    };
    assert!(error.to_string().contains("verify-ca"), "{error}");
}

#[test]
fn each_mode_checks_what_libpq_checks() {
    let check = |mode: Option<&str>, root: Option<&str>| tls_policy(mode, root).unwrap().1;
    assert_eq!(check(Some("disable"), None), None);
    assert_eq!(check(None, None), Some(Check::Nothing));
    assert_eq!(check(Some("require"), None), Some(Check::Nothing));
    assert_eq!(check(Some("require"), Some("/ca.pem")), Some(Check::Chain));
    assert_eq!(
        check(Some("verify-ca"), Some("/ca.pem")),
        Some(Check::Chain)
    );
    assert_eq!(check(Some("verify-full"), None), Some(Check::ChainAndName));
}

#[test]
fn the_database_is_described_and_identified_without_its_password() {
    let target =
        PgTarget::parse("postgres://app:s3cret@DB.example.com:6543/mirror?sslmode=require")
            .unwrap();

    assert_eq!(
        target.describe(),
        "DB.example.com:6543/mirror as app (sslmode=require)"
    );
    assert_eq!(target.identity(), "postgres://db.example.com:6543/mirror");
    assert_eq!(target.refusal(), None);
}
