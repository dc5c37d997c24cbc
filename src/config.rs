//! Settings, read once at start from the environment and an optional TOML file.
//!
//! The environment wins over the file. Every problem names the setting.

mod names;
mod session;

pub use crate::telemetry::LogFormat;
pub use session::{DEFAULT_AUDIENCE, JwtSettings};

use crate::mirror::DeleteMode;
use crate::signature::{SecretError, SigningKey};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod bounds;
mod connections;
mod listen_addr;
mod store_failure;
pub use bounds::DEFAULT_SPOOL_MAX_BYTES;
pub use connections::ConnectionLimits;
pub use listen_addr::ListenAddr;
pub use store_failure::{DEFAULT_BUDGET_MS, OnStoreFailure};

/// The data directory used when `SUPAHOOK_DATA_DIR` is not set.
pub const DEFAULT_DATA_DIR: &str = "./data";

/// The listen address used when `SUPAHOOK_LISTEN_ADDR` is not set.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8080";

/// Transactions applying deliveries at once, unless `SUPAHOOK_DB_WRITERS` says otherwise.
/// Few writers let deliveries gather into shared transactions, which is what makes
/// sign-ups outrun one transaction per sign-up (`bench/README.md`: 2 measured faster
/// than 3 and 4, and those much faster than 16); two, so that a transaction waiting
/// on a row lock does not hold up every delivery.
pub const DEFAULT_WRITERS: usize = 2;

/// A setting could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{setting} is not set")]
    Missing { setting: &'static str },
    #[error("{setting} is invalid: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
    #[error("cannot read the config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error(
        "{name} ({what}) is not a setting supahook knows{}",
        .closest.as_ref().map(|c| format!("; did you mean {c}?")).unwrap_or_default()
    )]
    Unknown {
        what: String,
        name: String,
        closest: Option<String>,
    },
}

fn invalid(setting: &'static str, reason: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.to_string(),
    }
}

/// A string that is never printed: not by `Debug`, not in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Every setting supahook reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`; when unset, a SQLite file in the data directory.
    pub database_url: Option<SecretString>,
    /// `SUPAHOOK_DATA_DIR`: where the SQLite file and generated secrets live.
    pub data_dir: PathBuf,
    /// `SUPAHOOK_LISTEN_ADDR`
    pub listen_addr: ListenAddr,
    /// `SUPAHOOK_SHUTDOWN_TIMEOUT`: how long requests in flight may finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// `SUPAHOOK_ADMIN_LISTEN_ADDR`: when set, the admin API, `/metrics` and `/docs`
    /// are served here only, and the listen address carries the public paths alone.
    pub admin_listen_addr: Option<ListenAddr>,
    /// Timeouts and the connection cap of both listeners.
    pub connections: ConnectionLimits,
    /// `SUPAHOOK_HOOK_SECRETS`: accepted signing secrets, newest and older during rotation.
    pub hook_secrets: Vec<SigningKey>,
    /// `SUPAHOOK_ADMIN_TOKEN`: bearer token for the read API.
    pub admin_token: Option<SecretString>,
    /// `SUPAHOOK_DB_WEBHOOK_TOKEN`: bearer token accepted on `/hooks/auth-users`
    /// from Database Webhooks that cannot sign.
    pub db_webhook_token: Option<SecretString>,
    /// `SUPAHOOK_ON_DELETE`: what a delete upstream does to the mirror.
    pub on_delete: DeleteMode,
    /// `SUPAHOOK_ON_STORE_FAILURE`: what hooks answer when the database cannot take a
    /// delivery within the budget.
    pub on_store_failure: OnStoreFailure,
    /// `SUPAHOOK_STORE_BUDGET_MS`: how long a delivery waits for the database.
    pub store_budget: Duration,
    /// `SUPAHOOK_LEDGER_RETENTION_DAYS`: how long delivery keys are kept (0: forever).
    pub ledger_retention_days: u32,
    /// `SUPAHOOK_LOG_FORMAT`
    pub log_format: LogFormat,
    /// `RUST_LOG`
    pub log_filter: String,
    /// `SUPAHOOK_SOURCE_DATABASE_URL`: the Supabase database `reconcile` reads.
    pub source_database_url: Option<SecretString>,
    /// `SUPAHOOK_DB_POOL_SIZE`
    pub db_pool_size: usize,
    /// `SUPAHOOK_DB_WRITERS`: how many transactions apply deliveries at once (at most
    /// the pool size); deliveries that arrive while all are busy share the next one.
    pub db_writers: usize,
    /// `SUPAHOOK_ALLOWED_EMAIL_DOMAINS`: when not empty, only these domains may sign up.
    pub allowed_email_domains: Vec<String>,
    /// `SUPAHOOK_BLOCKED_EMAIL_DOMAINS`: these domains may not sign up.
    pub blocked_email_domains: Vec<String>,
    /// How access tokens presented to the frontend sync endpoint are verified.
    pub jwt: JwtSettings,
    /// `SUPAHOOK_CORS_ORIGINS`: browser origins allowed to call the sync endpoint.
    pub cors_origins: Vec<String>,
    /// `SUPAHOOK_TOKEN_PROFILE_CLAIM`: the claim custom-access-token adds with the profile.
    pub token_profile_claim: Option<String>,
    /// `SUPAHOOK_SPOOL_MAX_BYTES`: the most the spool file may hold; past it, deliveries
    /// the database cannot take are refused with 503 instead of filling the disk.
    pub spool_max_bytes: u64,
    /// `SUPAHOOK_USERS_MAY_SET_ONBOARDED`: whether the sync body may set `is_onboarded`.
    pub users_may_set_onboarded: bool,
}

/// The TOML file: the same settings, lower-case and without the `SUPAHOOK_` prefix.
#[derive(Debug, Default, Deserialize)]
struct FileSettings {
    /// Keys no setting has, refused once every setting is read (see [`names`]).
    #[serde(flatten)]
    unknown: std::collections::BTreeMap<String, toml::Value>,
    database_url: Option<String>,
    data_dir: Option<String>,
    listen_addr: Option<String>,
    shutdown_timeout: Option<u64>,
    admin_listen_addr: Option<String>,
    header_read_timeout_ms: Option<u64>,
    request_read_timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    max_connections: Option<u64>,
    hook_secrets: Option<String>,
    admin_token: Option<String>,
    db_webhook_token: Option<String>,
    on_delete: Option<String>,
    on_store_failure: Option<String>,
    store_budget_ms: Option<u64>,
    log_format: Option<String>,
    rust_log: Option<String>,
    source_database_url: Option<String>,
    db_pool_size: Option<usize>,
    db_writers: Option<usize>,
    ledger_retention_days: Option<u32>,
    allowed_email_domains: Option<Vec<String>>,
    blocked_email_domains: Option<Vec<String>>,
    jwt_secret: Option<String>,
    jwks_url: Option<String>,
    jwks_file: Option<String>,
    jwt_audience: Option<Vec<String>>,
    jwt_issuer: Option<String>,
    cors_origins: Option<Vec<String>>,
    token_profile_claim: Option<String>,
    spool_max_bytes: Option<u64>,
    users_may_set_onboarded: Option<bool>,
}

/// The shortest bearer token accepted; shorter ones are too easy to guess.
const MIN_TOKEN_LEN: usize = 16;

impl Settings {
    /// Reads the process environment and, when given, the TOML file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        Self::from_environment(file, &vars)
    }

    /// Reads settings from the variables `vars` over the optional file, and refuses a
    /// `SUPAHOOK_*` variable or a file key that no setting has.
    pub fn from_environment(
        file: Option<&Path>,
        vars: &HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let (settings, asked) = Self::read(file, |name| vars.get(name).cloned())?;
        names::check_environment(vars.keys().map(String::as_str), &asked)?;
        Ok(settings)
    }

    /// Reads settings from `env` (a lookup by variable name) over the optional file.
    pub fn from_sources(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::read(file, env).map(|(settings, _)| settings)
    }

    /// Reads every setting; returns them with the variable names they were read under.
    fn read(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, BTreeSet<String>), ConfigError> {
        let mut file = match path {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let unknown_keys = std::mem::take(&mut file.unknown);
        let asked = names::Asked::default();
        let env = |name: &str| {
            asked.note(name);
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let listen_addr = env("SUPAHOOK_LISTEN_ADDR")
            .or(file.listen_addr)
            .unwrap_or_else(|| DEFAULT_LISTEN_ADDR.to_owned());
        let listen_addr = listen_addr
            .parse()
            .map_err(|e| invalid("SUPAHOOK_LISTEN_ADDR", e))?;
        let shutdown_timeout = match env("SUPAHOOK_SHUTDOWN_TIMEOUT") {
            Some(v) => v.parse().map_err(|e| {
                invalid(
                    "SUPAHOOK_SHUTDOWN_TIMEOUT",
                    format!("{e} (expected whole seconds)"),
                )
            })?,
            None => file.shutdown_timeout.unwrap_or(10),
        };
        let admin_listen_addr = match env("SUPAHOOK_ADMIN_LISTEN_ADDR").or(file.admin_listen_addr) {
            Some(v) => Some(
                v.parse::<ListenAddr>()
                    .map_err(|e| invalid("SUPAHOOK_ADMIN_LISTEN_ADDR", e))?,
            ),
            None => None,
        };
        if admin_listen_addr.as_ref() == Some(&listen_addr) {
            return Err(invalid(
                "SUPAHOOK_ADMIN_LISTEN_ADDR",
                "must differ from SUPAHOOK_LISTEN_ADDR",
            ));
        }
        let number = |name: &str, file: Option<u64>| env(name).or(file.map(|n| n.to_string()));
        let connections = connections::RawLimits {
            header_read_timeout_ms: number(
                "SUPAHOOK_HEADER_READ_TIMEOUT_MS",
                file.header_read_timeout_ms,
            ),
            request_read_timeout_ms: number(
                "SUPAHOOK_REQUEST_READ_TIMEOUT_MS",
                file.request_read_timeout_ms,
            ),
            idle_timeout_ms: number("SUPAHOOK_IDLE_TIMEOUT_MS", file.idle_timeout_ms),
            max_connections: number("SUPAHOOK_MAX_CONNECTIONS", file.max_connections),
        }
        .validate()?;

        let hook_secrets = match env("SUPAHOOK_HOOK_SECRETS").or(file.hook_secrets) {
            Some(list) => SigningKey::parse_list(&list).map_err(|e: SecretError| {
                invalid(
                    "SUPAHOOK_HOOK_SECRETS",
                    format!("{e} (expected v1,whsec_<base64>, several separated by |)"),
                )
            })?,
            None => Vec::new(),
        };

        let admin_token = token(
            "SUPAHOOK_ADMIN_TOKEN",
            env("SUPAHOOK_ADMIN_TOKEN").or(file.admin_token),
        )?;
        let db_webhook_token = token(
            "SUPAHOOK_DB_WEBHOOK_TOKEN",
            env("SUPAHOOK_DB_WEBHOOK_TOKEN").or(file.db_webhook_token),
        )?;
        let on_delete = match env("SUPAHOOK_ON_DELETE").or(file.on_delete).as_deref() {
            None | Some("soft") => DeleteMode::Soft,
            Some("hard") => DeleteMode::Hard,
            Some(other) => {
                return Err(invalid(
                    "SUPAHOOK_ON_DELETE",
                    format!("`{other}` is not `soft` or `hard`"),
                ));
            }
        };

        let on_store_failure = store_failure::policy(
            env("SUPAHOOK_ON_STORE_FAILURE")
                .or(file.on_store_failure)
                .as_deref(),
        )?;
        let store_budget = store_failure::budget(
            env("SUPAHOOK_STORE_BUDGET_MS").as_deref(),
            file.store_budget_ms,
        )?;

        let log_format = match env("SUPAHOOK_LOG_FORMAT").or(file.log_format) {
            Some(v) => v.parse().map_err(|e| invalid("SUPAHOOK_LOG_FORMAT", e))?,
            None => LogFormat::default(),
        };

        let log_filter = env("RUST_LOG")
            .or(file.rust_log)
            .unwrap_or_else(|| "info".to_owned());
        let log_filter =
            crate::telemetry::log_filter(&log_filter).map_err(|e| invalid("RUST_LOG", e))?;

        let ledger_retention_days = match env("SUPAHOOK_LEDGER_RETENTION_DAYS") {
            Some(v) => v
                .parse()
                .map_err(|e| invalid("SUPAHOOK_LEDGER_RETENTION_DAYS", e))?,
            None => file.ledger_retention_days.unwrap_or(7),
        };

        let db_pool_size = match env("SUPAHOOK_DB_POOL_SIZE") {
            Some(v) => v.parse().map_err(|e| invalid("SUPAHOOK_DB_POOL_SIZE", e))?,
            None => file.db_pool_size.unwrap_or(16),
        };
        if db_pool_size == 0 {
            return Err(invalid("SUPAHOOK_DB_POOL_SIZE", "must be at least 1"));
        }
        let db_writers = match env("SUPAHOOK_DB_WRITERS") {
            Some(v) => v.parse().map_err(|e| invalid("SUPAHOOK_DB_WRITERS", e))?,
            None => file.db_writers.unwrap_or(DEFAULT_WRITERS),
        };
        if db_writers == 0 {
            return Err(invalid("SUPAHOOK_DB_WRITERS", "must be at least 1"));
        }

        let jwt = session::RawSessionSettings {
            jwt_secret: env("SUPAHOOK_JWT_SECRET").or(file.jwt_secret),
            jwks_url: env("SUPAHOOK_JWKS_URL").or(file.jwks_url),
            jwks_file: env("SUPAHOOK_JWKS_FILE").or(file.jwks_file),
            jwt_audience: env("SUPAHOOK_JWT_AUDIENCE")
                .map(|csv| list(&csv))
                .or(file.jwt_audience),
            jwt_issuer: env("SUPAHOOK_JWT_ISSUER").or(file.jwt_issuer),
        }
        .validate()?;
        let cors_origins = session::cors_origins(
            env("SUPAHOOK_CORS_ORIGINS")
                .map(|csv| list(&csv))
                .or(file.cors_origins)
                .unwrap_or_default(),
        )?;
        let token_profile_claim = session::profile_claim(
            env("SUPAHOOK_TOKEN_PROFILE_CLAIM").or(file.token_profile_claim),
        )?;

        let spool_max_bytes = bounds::spool_max_bytes(
            env("SUPAHOOK_SPOOL_MAX_BYTES").as_deref(),
            file.spool_max_bytes,
        )?;
        let users_may_set_onboarded = bounds::users_may_set_onboarded(
            env("SUPAHOOK_USERS_MAY_SET_ONBOARDED").as_deref(),
            file.users_may_set_onboarded,
        )?;

        let settings = Self {
            database_url: env("DATABASE_URL")
                .or(file.database_url)
                .map(SecretString::new),
            data_dir: PathBuf::from(
                env("SUPAHOOK_DATA_DIR")
                    .or(file.data_dir)
                    .unwrap_or_else(|| DEFAULT_DATA_DIR.to_owned()),
            ),
            listen_addr,
            shutdown_timeout: Duration::from_secs(shutdown_timeout),
            admin_listen_addr,
            connections,
            hook_secrets,
            admin_token,
            db_webhook_token,
            on_delete,
            on_store_failure,
            store_budget,
            log_format,
            log_filter,
            source_database_url: env("SUPAHOOK_SOURCE_DATABASE_URL")
                .or(file.source_database_url)
                .map(SecretString::new),
            db_pool_size,
            db_writers,
            ledger_retention_days,
            allowed_email_domains: domains(
                env("SUPAHOOK_ALLOWED_EMAIL_DOMAINS"),
                file.allowed_email_domains,
            ),
            blocked_email_domains: domains(
                env("SUPAHOOK_BLOCKED_EMAIL_DOMAINS"),
                file.blocked_email_domains,
            ),
            jwt,
            cors_origins,
            token_profile_claim,
            spool_max_bytes,
            users_may_set_onboarded,
        };
        let asked = asked.names();
        if let Some(path) = path {
            names::check_file(&path.display().to_string(), unknown_keys.keys(), &asked)?;
        }
        Ok((settings, asked))
    }

    /// The database to use: `DATABASE_URL`, or the embedded SQLite file
    /// `supahook.db` in the data directory.
    pub fn database_url(&self) -> SecretString {
        self.database_url.clone().unwrap_or_else(|| {
            SecretString::new(format!(
                "sqlite://{}",
                self.data_dir.join("supahook.db").display()
            ))
        })
    }
}

/// A bearer token setting, refused when too short to resist guessing.
fn token(
    setting: &'static str,
    value: Option<String>,
) -> Result<Option<SecretString>, ConfigError> {
    match value {
        Some(v) if v.chars().count() < MIN_TOKEN_LEN => Err(invalid(
            setting,
            format!("must be at least {MIN_TOKEN_LEN} characters"),
        )),
        other => Ok(other.map(SecretString::new)),
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let error = |reason: String| ConfigError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    toml::from_str(&text).map_err(|e| error(e.to_string()))
}

/// The non-empty items of a comma-separated list, trimmed.
fn list(csv: &str) -> Vec<String> {
    csv.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn domains(env: Option<String>, file: Option<Vec<String>>) -> Vec<String> {
    let list = match env {
        Some(csv) => list(&csv),
        None => file.unwrap_or_default(),
    };
    list.iter()
        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;
