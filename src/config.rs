//! Settings, read once at start from the environment and an optional TOML file.
//!
//! The environment wins over the file. Every problem names the setting. Each
//! component reads and checks its own settings through
//! [`Sources`](crate::config_sources::Sources); this module composes them into
//! [`Settings`] and refuses names no setting has.

mod claim_names;
mod connections;
mod cors_origins;
mod event_push;
mod events;
mod listen_addr;
mod names;
mod nats;
mod spool_size;
mod store_failure;
mod token_claims;

pub use crate::config_sources::ConfigError;
pub use crate::jwt::{DEFAULT_AUDIENCE, JwtSettings};
pub use crate::telemetry::LogFormat;
pub use connections::ConnectionLimits;
pub use event_push::{PushEndpoint, PushSettings};
pub use events::{DEFAULT_EVENTS_RETENTION_DAYS, EventSettings};
pub use listen_addr::{DEFAULT_LISTEN_ADDR, ListenAddr};
pub use nats::{DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX, NatsSettings};
pub use secrecy::SecretString;
pub use spool_size::DEFAULT_SPOOL_MAX_BYTES;
pub use store_failure::{DEFAULT_BUDGET_MS, OnStoreFailure};
pub use token_claims::{
    Chain, ChainTarget, ClaimsQuery, HookFunction, OnClaimsFailure, TokenClaimsSettings,
};

use crate::config_sources::{Form, Sources, one_of};
use crate::mirror::DeleteMode;
use crate::signature::SigningKey;
use crate::storage::SchemaName;
use crate::telemetry;
use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The data directory used when `SUPAHOOK_DATA_DIR` is not set.
pub const DEFAULT_DATA_DIR: &str = "./data";

/// Transactions applying deliveries at once, unless `SUPAHOOK_DB_WRITERS` says otherwise.
/// Few writers let deliveries gather into shared transactions, which is what makes
/// sign-ups outrun one transaction per sign-up (`bench/README.md`: 2 measured faster
/// than 3 and 4, and those much faster than 16); two, so that a transaction waiting
/// on a row lock does not hold up every delivery.
pub const DEFAULT_WRITERS: usize = 2;

/// How long a provisional user waits for confirmation, unless
/// `SUPAHOOK_PROVISIONAL_GRACE_SECONDS` says otherwise: a day, far past any sign-up
/// transaction, and past the hour `reconcile --prune` waits by default.
pub const DEFAULT_PROVISIONAL_GRACE: Duration = Duration::from_secs(86_400);

/// Every setting supahook reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`; when unset, a SQLite file in the data directory.
    pub database_url: Option<SecretString>,
    /// `SUPAHOOK_DB_SCHEMA`: the PostgreSQL schema of supahook's tables (`public`).
    pub db_schema: SchemaName,
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
    /// `SUPAHOOK_PROVISIONAL_GRACE_SECONDS`: how long a user seen only in
    /// before-user-created is kept waiting for Supabase to confirm it.
    pub provisional_grace: Duration,
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
    /// What custom-access-token adds to the claims or hands on: the profile claim, the
    /// claims query, the chained hook, and how long their answers are kept.
    pub token_claims: TokenClaimsSettings,
    /// `SUPAHOOK_SPOOL_MAX_BYTES`: the most the spool file may hold; past it, deliveries
    /// the database cannot take are refused with 503 instead of filling the disk.
    pub spool_max_bytes: u64,
    /// `SUPAHOOK_USERS_MAY_SET_ONBOARDED`: whether the sync body may set `is_onboarded`.
    pub users_may_set_onboarded: bool,
    /// Which lifecycle events are recorded, and how long they are kept.
    pub events: EventSettings,
    /// Where lifecycle events are published to NATS JetStream; `None` when they are not.
    pub events_nats: Option<NatsSettings>,
    /// Where recorded events are pushed as signed webhooks, and how they are retried.
    pub push: PushSettings,
}

/// The shortest bearer token accepted; shorter ones are too easy to guess.
const MIN_TOKEN_LEN: usize = 16;

impl Settings {
    /// Reads the process environment and, when given, the TOML file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_environment(file, &environment())
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

    /// Reads every setting and refuses a file key none has; returns the settings with
    /// the variable names they were read under.
    fn read(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, BTreeSet<String>), ConfigError> {
        let sources = Sources::new(path, &env)?;
        let settings = Self::compose(&sources)?;
        let asked = sources.asked();
        if let Some((path, keys)) = sources.file_keys() {
            names::check_file(path, keys, &asked)?;
        }
        Ok((settings, asked))
    }

    /// Every component's settings, read from `s`.
    fn compose(s: &Sources) -> Result<Self, ConfigError> {
        let listen_addr: ListenAddr = s
            .read("SUPAHOOK_LISTEN_ADDR", Form::Text, str::parse)?
            .unwrap_or_default();
        Ok(Self {
            shutdown_timeout: s
                .read("SUPAHOOK_SHUTDOWN_TIMEOUT", Form::Number, seconds)?
                .unwrap_or(Duration::from_secs(10)),
            admin_listen_addr: s.read("SUPAHOOK_ADMIN_LISTEN_ADDR", Form::Text, |text| {
                listen_addr::other_than(&listen_addr, text)
            })?,
            listen_addr,
            connections: ConnectionLimits::load(s)?,
            hook_secrets: s
                .read("SUPAHOOK_HOOK_SECRETS", Form::Text, hook_secrets)?
                .unwrap_or_default(),
            admin_token: s.read("SUPAHOOK_ADMIN_TOKEN", Form::Text, bearer_token)?,
            db_webhook_token: s.read("SUPAHOOK_DB_WEBHOOK_TOKEN", Form::Text, bearer_token)?,
            on_delete: s
                .read("SUPAHOOK_ON_DELETE", Form::Text, delete_mode)?
                .unwrap_or_default(),
            on_store_failure: s
                .read(
                    "SUPAHOOK_ON_STORE_FAILURE",
                    Form::Text,
                    store_failure::policy,
                )?
                .unwrap_or_default(),
            store_budget: s
                .read(
                    "SUPAHOOK_STORE_BUDGET_MS",
                    Form::Number,
                    store_failure::budget,
                )?
                .unwrap_or(Duration::from_millis(DEFAULT_BUDGET_MS)),
            log_format: s
                .read("SUPAHOOK_LOG_FORMAT", Form::Text, str::parse)?
                .unwrap_or_default(),
            log_filter: s
                .read("RUST_LOG", Form::Text, telemetry::log_filter)?
                .unwrap_or_else(|| "info".to_owned()),
            ledger_retention_days: s
                .read("SUPAHOOK_LEDGER_RETENTION_DAYS", Form::Number, str::parse)?
                .unwrap_or(7),
            provisional_grace: s
                .read(
                    "SUPAHOOK_PROVISIONAL_GRACE_SECONDS",
                    Form::Number,
                    positive_seconds,
                )?
                .unwrap_or(DEFAULT_PROVISIONAL_GRACE),
            db_pool_size: s
                .read("SUPAHOOK_DB_POOL_SIZE", Form::Number, at_least_one)?
                .unwrap_or(16),
            db_writers: s
                .read("SUPAHOOK_DB_WRITERS", Form::Number, at_least_one)?
                .unwrap_or(DEFAULT_WRITERS),
            jwt: JwtSettings::load(s)?,
            events: EventSettings::load(s)?,
            events_nats: NatsSettings::load(s)?,
            push: PushSettings::load(s)?,
            cors_origins: s
                .list("SUPAHOOK_CORS_ORIGINS", cors_origins::check)?
                .unwrap_or_default(),
            token_claims: TokenClaimsSettings::load(s)?,
            spool_max_bytes: s
                .read(
                    "SUPAHOOK_SPOOL_MAX_BYTES",
                    Form::Number,
                    spool_size::spool_max_bytes,
                )?
                .unwrap_or(DEFAULT_SPOOL_MAX_BYTES),
            users_may_set_onboarded: s
                .read(
                    "SUPAHOOK_USERS_MAY_SET_ONBOARDED",
                    Form::Switch,
                    true_or_false,
                )?
                .unwrap_or(false),
            database_url: s.read("DATABASE_URL", Form::Text, secret)?,
            db_schema: s
                .read("SUPAHOOK_DB_SCHEMA", Form::Text, SchemaName::parse)?
                .unwrap_or_default(),
            data_dir: s
                .read("SUPAHOOK_DATA_DIR", Form::Text, path)?
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            source_database_url: s.read("SUPAHOOK_SOURCE_DATABASE_URL", Form::Text, secret)?,
            allowed_email_domains: s
                .list("SUPAHOOK_ALLOWED_EMAIL_DOMAINS", domains)?
                .unwrap_or_default(),
            blocked_email_domains: s
                .list("SUPAHOOK_BLOCKED_EMAIL_DOMAINS", domains)?
                .unwrap_or_default(),
        })
    }

    /// The sign-up policy from `SUPAHOOK_ALLOWED_EMAIL_DOMAINS` and
    /// `SUPAHOOK_BLOCKED_EMAIL_DOMAINS`.
    pub fn sign_up_policy(&self) -> crate::policy::SignUpPolicy {
        crate::policy::SignUpPolicy::new(
            self.allowed_email_domains.clone(),
            self.blocked_email_domains.clone(),
        )
    }

    /// The database to use: `DATABASE_URL`, or the embedded SQLite file
    /// `supahook.db` in the data directory.
    pub fn database_url(&self) -> SecretString {
        self.database_url.clone().unwrap_or_else(|| {
            SecretString::from(format!(
                "sqlite://{}",
                self.data_dir.join("supahook.db").display()
            ))
        })
    }
}

/// The process environment, its variables that are valid UTF-8.
pub fn environment() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// A value kept out of logs and `Debug` output.
fn secret(text: &str) -> Result<SecretString, Infallible> {
    Ok(SecretString::from(text))
}

fn path(text: &str) -> Result<PathBuf, Infallible> {
    Ok(PathBuf::from(text))
}

/// `SUPAHOOK_SHUTDOWN_TIMEOUT`: whole seconds.
fn seconds(text: &str) -> Result<Duration, String> {
    text.parse()
        .map(Duration::from_secs)
        .map_err(|e| format!("{e} (expected whole seconds)"))
}

/// Whole milliseconds from `min` to `max`.
fn millis_within(text: &str, min: u64, max: u64) -> Result<Duration, String> {
    let millis: u64 = text
        .parse()
        .map_err(|e| format!("{e} (expected whole milliseconds)"))?;
    match (min..=max).contains(&millis) {
        true => Ok(Duration::from_millis(millis)),
        false => Err(format!("{millis} is outside {min} to {max} milliseconds")),
    }
}

/// Whole seconds, at least 1.
fn positive_seconds(text: &str) -> Result<Duration, String> {
    match seconds(text)? {
        Duration::ZERO => Err("must be at least 1".to_owned()),
        duration => Ok(duration),
    }
}

/// A count of at least 1.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(count) => Ok(count),
        Err(e) => Err(e.to_string()),
    }
}

/// `SUPAHOOK_HOOK_SECRETS`: one or more signing secrets; an error never repeats one.
fn hook_secrets(list: &str) -> Result<Vec<SigningKey>, String> {
    SigningKey::parse_list(list)
        .map_err(|e| format!("{e} (expected v1,whsec_<base64>, several separated by |)"))
}

/// A bearer token, refused when too short to resist guessing.
fn bearer_token(text: &str) -> Result<SecretString, String> {
    match text.chars().count() {
        n if n < MIN_TOKEN_LEN => Err(format!("must be at least {MIN_TOKEN_LEN} characters")),
        _ => Ok(SecretString::from(text)),
    }
}

/// `SUPAHOOK_ON_DELETE`: `soft` or `hard`.
fn delete_mode(text: &str) -> Result<DeleteMode, String> {
    one_of(
        text,
        &[("soft", DeleteMode::Soft), ("hard", DeleteMode::Hard)],
    )
}

/// `true` or `false`.
fn true_or_false(text: &str) -> Result<bool, String> {
    one_of(text, &[("true", true), ("false", false)])
}

/// E-mail domains, lower-case and without a leading `@`.
fn domains(list: Vec<String>) -> Result<Vec<String>, Infallible> {
    Ok(list
        .iter()
        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect())
}

#[cfg(test)]
mod tests;
