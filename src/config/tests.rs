use super::*;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::path::PathBuf;

const SECRET_A: &str = "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=";
const SECRET_B: &str = "v1,whsec_/yNMaHaPP5sX873J6OQEznxFvOa0dod1Sc3t/kZYFsQ=";
const ADMIN_TOKEN: &str = "admin-token-7f3a9c2e41d8";
const DATABASE_URL: &str = "postgres://supahook:pw-5c1e8b@db.internal:5432/app";

fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    settings_with_file(None, vars)
}

fn settings_with_file(file: Option<&Path>, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_environment(file, &map)
}

fn error_text(vars: &[(&str, &str)]) -> String {
    settings(vars)
        .expect_err("the settings should be refused")
        .to_string()
}

/// A config file in the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(label: &str, contents: &str) -> Self {
        let name = format!("supahook-{label}-{}.toml", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn nothing_set_gives_the_defaults() {
    let s = settings(&[]).unwrap();

    assert_eq!(s.listen_addr, DEFAULT_LISTEN_ADDR.parse().unwrap());
    assert_eq!(s.listen_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(s.shutdown_timeout, std::time::Duration::from_secs(10));
    assert_eq!(s.log_format, LogFormat::Pretty);
    assert_eq!(s.log_filter, "info");
    assert_eq!(s.db_pool_size, 16);
    assert_eq!(s.db_writers, 2);
    assert!(s.hook_secrets.is_empty());
    assert!(s.database_url.is_none() && s.admin_token.is_none());
    assert!(s.allowed_email_domains.is_empty() && s.blocked_email_domains.is_empty());
}

#[test]
fn blank_variables_count_as_unset() {
    let s = settings(&[("SUPAHOOK_LISTEN_ADDR", "  "), ("DATABASE_URL", "")]).unwrap();

    assert_eq!(s.listen_addr.to_string(), "127.0.0.1:8080");
    assert!(s.database_url.is_none());
}

#[test]
fn two_secrets_separated_by_a_pipe_are_both_accepted() {
    let both = format!("{SECRET_A}|{SECRET_B}");

    let s = settings(&[("SUPAHOOK_HOOK_SECRETS", &both)]).unwrap();

    let texts: Vec<&str> = s.hook_secrets.iter().map(|k| k.expose_text()).collect();
    assert_eq!(texts, [SECRET_A, SECRET_B]);
}

#[test]
fn a_bad_secret_names_the_setting_without_repeating_the_secret() {
    let bad = [
        "whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=",
        "v1,whsec_c2hvcnQtc2VjcmV0LXRleHQ=",
        "v1,whsec_not*base64*at*all",
    ];
    for secret in bad {
        let list = format!("{SECRET_A}|{secret}");

        let message = error_text(&[("SUPAHOOK_HOOK_SECRETS", &list)]);

        assert!(message.contains("SUPAHOOK_HOOK_SECRETS"), "{message}");
        assert!(!message.contains(secret.trim_start_matches("v1,whsec_")));
        assert!(!message.contains("x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98"));
    }
}

#[test]
fn an_address_without_a_port_names_the_listen_setting() {
    let message = error_text(&[("SUPAHOOK_LISTEN_ADDR", "localhost")]);

    assert!(message.contains("SUPAHOOK_LISTEN_ADDR"), "{message}");
}

#[test]
fn a_host_name_with_a_port_is_a_listen_address() {
    let s = settings(&[("SUPAHOOK_LISTEN_ADDR", "localhost:8080")]).unwrap();

    assert_eq!(s.listen_addr.to_string(), "localhost:8080");
}

#[test]
fn the_shutdown_timeout_is_whole_seconds() {
    let s = settings(&[("SUPAHOOK_SHUTDOWN_TIMEOUT", "25")]).unwrap();
    assert_eq!(s.shutdown_timeout, std::time::Duration::from_secs(25));

    let message = error_text(&[("SUPAHOOK_SHUTDOWN_TIMEOUT", "10s")]);
    assert!(message.contains("SUPAHOOK_SHUTDOWN_TIMEOUT"), "{message}");
}

#[test]
fn an_unknown_log_format_names_the_setting() {
    let message = error_text(&[("SUPAHOOK_LOG_FORMAT", "xml")]);

    assert!(message.contains("SUPAHOOK_LOG_FORMAT"), "{message}");
    let json = settings(&[("SUPAHOOK_LOG_FORMAT", "json")]).unwrap();
    assert_eq!(json.log_format, LogFormat::Json);
}

#[test]
fn an_admin_token_shorter_than_sixteen_characters_is_refused_without_being_shown() {
    let message = error_text(&[("SUPAHOOK_ADMIN_TOKEN", "fifteen-chars!!")]);

    assert!(message.contains("SUPAHOOK_ADMIN_TOKEN"), "{message}");
    assert!(!message.contains("fifteen-chars!!"));
    let sixteen = settings(&[("SUPAHOOK_ADMIN_TOKEN", "sixteen-chars!!!")]).unwrap();
    assert_eq!(
        sixteen.admin_token.unwrap().expose_secret(),
        "sixteen-chars!!!"
    );
}

#[test]
fn a_pool_size_or_writer_count_of_zero_or_not_a_number_names_the_setting() {
    for name in ["SUPAHOOK_DB_POOL_SIZE", "SUPAHOOK_DB_WRITERS"] {
        for size in ["0", "many", "-1"] {
            let message = error_text(&[(name, size)]);

            assert!(message.contains(name), "{name}={size}: {message}");
        }
    }
}

#[test]
fn without_database_url_the_embedded_database_lives_in_the_data_dir() {
    let default = settings(&[]).unwrap();
    let custom = settings(&[("SUPAHOOK_DATA_DIR", "/var/lib/supahook")]).unwrap();

    assert_eq!(
        default.database_url().expose_secret(),
        "sqlite://./data/supahook.db"
    );
    assert_eq!(
        custom.database_url().expose_secret(),
        "sqlite:///var/lib/supahook/supahook.db"
    );
    assert!(default.hook_secrets.is_empty());
}

#[test]
fn a_configured_database_url_and_secret_are_used() {
    let s = settings(&[
        ("DATABASE_URL", DATABASE_URL),
        ("SUPAHOOK_HOOK_SECRETS", SECRET_A),
    ]);
    let s = s.unwrap();

    assert_eq!(s.database_url().expose_secret(), DATABASE_URL);
    assert_eq!(s.hook_secrets.len(), 1);
}

#[test]
fn the_file_is_read_and_the_environment_wins_over_it() {
    let file = TempFile::new(
        "env-wins",
        &format!(
            "listen_addr = \"0.0.0.0:9000\"\nlog_format = \"json\"\nrust_log = \"debug\"\n\
             db_pool_size = 4\ndb_writers = 3\nhook_secrets = \"{SECRET_A}\"\n\
             allowed_email_domains = [\"@Example.COM\"]\n"
        ),
    );
    let env = [
        ("SUPAHOOK_LISTEN_ADDR", "127.0.0.1:7000"),
        ("RUST_LOG", "warn"),
    ];

    let s = settings_with_file(Some(&file.0), &env).unwrap();

    assert_eq!(s.listen_addr.to_string(), "127.0.0.1:7000");
    assert_eq!(s.log_filter, "warn");
    assert_eq!(s.log_format, LogFormat::Json);
    assert_eq!(s.db_pool_size, 4);
    assert_eq!(s.db_writers, 3);
    assert_eq!(s.hook_secrets.len(), 1);
    assert_eq!(s.allowed_email_domains, ["example.com"]);
}

#[test]
fn an_unknown_key_in_the_file_is_an_error_naming_the_file() {
    let file = TempFile::new("unknown-key", "listen_adress = \"0.0.0.0:9000\"\n");

    let error = settings_with_file(Some(&file.0), &[]).unwrap_err();

    let message = error.to_string();
    assert!(matches!(error, ConfigError::Unknown { .. }), "{message}");
    assert!(message.contains(&file.0.display().to_string()), "{message}");
    assert!(message.contains("listen_adress"), "{message}");
    assert!(message.contains("did you mean listen_addr?"), "{message}");
}

#[test]
fn an_unknown_supahook_variable_is_refused_naming_the_closest_setting() {
    let message = error_text(&[("SUPAHOOK_STORE_BUDGET", "500"), ("HOME", "/root")]);

    assert!(message.contains("SUPAHOOK_STORE_BUDGET "), "{message}");
    assert!(
        message.contains("did you mean SUPAHOOK_STORE_BUDGET_MS?"),
        "{message}"
    );
}

#[test]
fn every_setting_the_readme_documents_is_read_and_so_known() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## Settings\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README.md has a Settings section");
    let documented: Vec<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|cell| cell.split('`').next())
        .filter(|name| name.starts_with("SUPAHOOK_"))
        .collect();
    let (_, asked) = Settings::read(None, |_| None).unwrap();

    assert!(documented.len() > 20, "{documented:?}");
    for name in documented {
        assert!(asked.contains(name), "{name} is documented but never read");
    }
}

#[test]
fn a_missing_file_is_an_error_naming_the_file() {
    let path = std::env::temp_dir().join(format!("supahook-absent-{}.toml", std::process::id()));

    let message = settings_with_file(Some(&path), &[])
        .unwrap_err()
        .to_string();

    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn debug_output_never_shows_a_secret() {
    let s = settings(&[
        ("DATABASE_URL", DATABASE_URL),
        ("SUPAHOOK_ADMIN_TOKEN", ADMIN_TOKEN),
        ("SUPAHOOK_HOOK_SECRETS", &format!("{SECRET_A}|{SECRET_B}")),
    ])
    .unwrap();

    let debug = format!("{s:?} {s:#?}");

    assert!(!debug.contains(ADMIN_TOKEN));
    assert!(!debug.contains("pw-5c1e8b"));
    assert!(!debug.contains("x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98"));
    assert!(!debug.contains("yNMaHaPP5sX873J6OQEznxFvOa0dod1Sc3t"));
    assert!(
        debug.contains("listen_addr"),
        "the rest is still shown: {debug}"
    );
}

#[test]
fn domain_lists_are_trimmed_lower_cased_and_lose_a_leading_at() {
    let s = settings(&[
        (
            "SUPAHOOK_ALLOWED_EMAIL_DOMAINS",
            " Example.COM, @Corp.Example ,, ",
        ),
        ("SUPAHOOK_BLOCKED_EMAIL_DOMAINS", "@MAILINATOR.com"),
    ])
    .unwrap();

    assert_eq!(s.allowed_email_domains, ["example.com", "corp.example"]);
    assert_eq!(s.blocked_email_domains, ["mailinator.com"]);
}

#[test]
fn an_invalid_log_filter_names_rust_log() {
    let error = settings(&[("RUST_LOG", "supahook=loud")])
        .unwrap_err()
        .to_string();

    assert!(error.contains("RUST_LOG"), "{error}");
}

#[test]
fn session_settings_default_to_off_with_the_authenticated_audience() {
    let s = settings(&[]).unwrap();

    assert!(s.jwt.secret.is_none() && s.jwt.jwks_url.is_none() && s.jwt.jwks_file.is_none());
    assert_eq!(s.jwt.audiences, [DEFAULT_AUDIENCE]);
    assert!(s.cors_origins.is_empty() && s.token_claims.profile_claim.is_none());
}

#[test]
fn session_settings_are_read_and_listed() {
    let s = settings(&[
        ("SUPAHOOK_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        (
            "SUPAHOOK_JWKS_URL",
            "https://ref.supabase.co/auth/v1/.well-known/jwks.json",
        ),
        ("SUPAHOOK_JWT_AUDIENCE", "authenticated, app"),
        (
            "SUPAHOOK_CORS_ORIGINS",
            "https://app.example.com, http://localhost:3000",
        ),
        ("SUPAHOOK_TOKEN_PROFILE_CLAIM", "app_profile"),
    ])
    .unwrap();

    assert_eq!(s.jwt.audiences, ["authenticated", "app"]);
    assert_eq!(
        s.cors_origins,
        ["https://app.example.com", "http://localhost:3000"]
    );
    assert_eq!(s.token_claims.profile_claim.as_deref(), Some("app_profile"));
    assert!(
        !format!("{s:?}").contains("0123456789abcdef"),
        "the secret is never printed"
    );
}

#[test]
fn bad_session_settings_name_the_setting() {
    for (name, value) in [
        ("SUPAHOOK_JWT_SECRET", "too-short"),
        ("SUPAHOOK_JWKS_URL", "ftp://keys.example.com/jwks.json"),
        (
            "SUPAHOOK_JWKS_URL",
            "http://ref.supabase.co/auth/v1/.well-known/jwks.json",
        ),
        (
            "SUPAHOOK_JWKS_URL",
            "http://localhost.example.com/jwks.json",
        ),
        ("SUPAHOOK_JWKS_FILE", "/nonexistent/jwks.json"),
        ("SUPAHOOK_CORS_ORIGINS", "https://app.example.com/path"),
        ("SUPAHOOK_TOKEN_PROFILE_CLAIM", "email"),
        ("SUPAHOOK_TOKEN_PROFILE_CLAIM", "app-profile"),
    ] {
        let message = error_text(&[(name, value)]);
        assert!(message.contains(name), "{name}={value}: {message}");
        assert!(!message.contains("too-short"), "{message}");
    }
}

#[test]
fn a_jwks_file_is_read_at_start() {
    let jwks = TempFile::new(
        "jwks",
        r#"{"keys":[{"kty":"EC","crv":"P-256","alg":"ES256","kid":"k1",
            "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
    );
    let empty = TempFile::new("jwks-empty", r#"{"keys":[]}"#);

    let s = settings(&[("SUPAHOOK_JWKS_FILE", jwks.0.to_str().unwrap())]).unwrap();
    let refused = error_text(&[("SUPAHOOK_JWKS_FILE", empty.0.to_str().unwrap())]);

    assert_eq!(s.jwt.jwks_file.map(|k| k.len()), Some(1));
    assert!(refused.contains("no signature key for"), "{refused}");
}

#[test]
fn the_spool_bound_and_the_onboarded_switch_have_safe_defaults_and_are_read() {
    let defaults = settings(&[]).unwrap();
    let set = settings(&[
        ("SUPAHOOK_SPOOL_MAX_BYTES", "1048576"),
        ("SUPAHOOK_USERS_MAY_SET_ONBOARDED", "true"),
    ])
    .unwrap();

    assert_eq!(defaults.spool_max_bytes, DEFAULT_SPOOL_MAX_BYTES);
    assert!(!defaults.users_may_set_onboarded);
    assert_eq!(set.spool_max_bytes, 1_048_576);
    assert!(set.users_may_set_onboarded);
    for (name, value) in [
        ("SUPAHOOK_SPOOL_MAX_BYTES", "0"),
        ("SUPAHOOK_SPOOL_MAX_BYTES", "20GiB"),
        ("SUPAHOOK_USERS_MAY_SET_ONBOARDED", "yes"),
    ] {
        let message = error_text(&[(name, value)]);
        assert!(message.contains(name), "{name}={value}: {message}");
    }
}

#[test]
fn a_jwks_url_over_plain_http_is_accepted_only_for_loopback_hosts() {
    for url in [
        "http://127.0.0.1:54321/auth/v1/.well-known/jwks.json",
        "http://127.8.0.1/jwks.json",
        "http://localhost:54321/auth/v1/.well-known/jwks.json",
        "http://[::1]:54321/jwks.json",
        "https://ref.supabase.co/auth/v1/.well-known/jwks.json",
    ] {
        let s = settings(&[("SUPAHOOK_JWKS_URL", url)]).unwrap();

        assert_eq!(s.jwt.jwks_url.as_deref(), Some(url));
    }
    let refused = error_text(&[("SUPAHOOK_JWKS_URL", "http://10.0.0.7/jwks.json")]);
    assert!(refused.contains("SUPAHOOK_JWKS_URL"), "{refused}");
    assert!(refused.contains("https://"), "{refused}");
}

#[test]
fn a_file_value_of_the_wrong_type_is_refused_naming_the_file_and_the_key() {
    for (label, line) in [
        ("wrong-number", "db_pool_size = \"4\"\n"),
        ("wrong-switch", "users_may_set_onboarded = \"yes\"\n"),
        ("wrong-list", "cors_origins = \"https://app.example.com\"\n"),
        ("wrong-text", "listen_addr = 8080\n"),
    ] {
        let file = TempFile::new(label, line);
        let key = line.split(' ').next().unwrap();

        let message = settings_with_file(Some(&file.0), &[])
            .unwrap_err()
            .to_string();

        assert!(message.contains(&file.0.display().to_string()), "{message}");
        assert!(message.contains(key), "{message}");
    }
}

#[test]
fn numbers_switches_and_lists_are_read_from_the_file() {
    let file = TempFile::new(
        "typed",
        "store_budget_ms = 500\nusers_may_set_onboarded = true\nmax_connections = 8\n\
         cors_origins = [\"https://app.example.com\"]\njwt_audience = [\"app\"]\n",
    );

    let s = settings_with_file(Some(&file.0), &[]).unwrap();

    assert_eq!(s.store_budget, std::time::Duration::from_millis(500));
    assert!(s.users_may_set_onboarded);
    assert_eq!(s.connections.max_connections, 8);
    assert_eq!(s.cors_origins, ["https://app.example.com"]);
    assert_eq!(s.jwt.audiences, ["app"]);
}

#[test]
fn token_claims_default_to_nothing_added_kept_five_seconds_and_closed() {
    let s = settings(&[]).unwrap().token_claims;

    assert!(s.query.is_none() && s.chain.is_none() && s.profile_claim.is_none());
    assert_eq!(s.ttl, Duration::from_secs(5));
    assert_eq!(s.on_failure, OnClaimsFailure::Closed);
}

#[test]
fn a_chained_url_needs_its_own_secret_and_a_function_takes_none() {
    let url = (
        "SUPAHOOK_ACCESS_TOKEN_CHAIN",
        "https://hooks.example.com/claims",
    );
    let secret = (
        "SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS",
        "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=",
    );
    let function = (
        "SUPAHOOK_ACCESS_TOKEN_CHAIN",
        "pg-functions://postgres/public/hook",
    );

    assert!(error_text(&[url]).contains("SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS is not set"));
    assert!(
        settings(&[url, secret])
            .unwrap()
            .token_claims
            .chain
            .is_some()
    );
    assert!(error_text(&[function, secret]).contains("takes no secret"));
    assert!(error_text(&[secret]).contains("names no hook"));
    let printed = format!("{:?}", settings(&[url, secret]).unwrap());
    assert!(!printed.contains("x9S5JSS6"), "the secret is never printed");
}

#[test]
fn the_claims_name_is_never_a_supabase_claim_nor_the_profile_claims() {
    assert!(
        error_text(&[("SUPAHOOK_TOKEN_CLAIMS_NAME", "role")])
            .contains("SUPAHOOK_TOKEN_CLAIMS_NAME")
    );
    let same = error_text(&[
        ("SUPAHOOK_TOKEN_CLAIMS_NAME", "app_profile"),
        ("SUPAHOOK_TOKEN_PROFILE_CLAIM", "app_profile"),
    ]);
    assert!(
        same.contains("already SUPAHOOK_TOKEN_PROFILE_CLAIM"),
        "{same}"
    );
}
