//! What custom-access-token adds to the claims or hands on: the profile claim
//! (`SUPAHOOK_TOKEN_PROFILE_CLAIM`), the claims query (`SUPAHOOK_TOKEN_CLAIMS_*`), the
//! project's own hook behind supahook (`SUPAHOOK_ACCESS_TOKEN_CHAIN*`), and how long
//! their answers are kept.

use super::claim_names;
use crate::config_sources::{ConfigError, Form, Sources, invalid, one_of};
use crate::signature::SigningKey;
use std::time::Duration;

/// The default of `SUPAHOOK_TOKEN_CLAIMS_NAME`.
pub const DEFAULT_CLAIMS_NAME: &str = "app";

/// The default of `SUPAHOOK_TOKEN_CLAIMS_TTL`, in seconds.
pub const DEFAULT_TTL_SECONDS: u64 = 5;

/// The default of `SUPAHOOK_ACCESS_TOKEN_CHAIN_TIMEOUT_MS`: what Supabase Auth gives a
/// Postgres-function hook (its statement timeout), leaving room in its 5 s for the rest.
pub const DEFAULT_CHAIN_TIMEOUT_MS: u64 = 2000;

/// The longest wait for the chained hook: with the database's budget and the answer's
/// way back, a longer one would not fit in Supabase's 5 s.
const MAX_CHAIN_TIMEOUT_MS: u64 = 3000;

/// What custom-access-token adds to the claims or hands on.
#[derive(Debug, Clone)]
pub struct TokenClaimsSettings {
    /// `SUPAHOOK_TOKEN_PROFILE_CLAIM`: the claim that holds the user's profile facts.
    pub profile_claim: Option<String>,
    /// `SUPAHOOK_TOKEN_CLAIMS_QUERY` and `SUPAHOOK_TOKEN_CLAIMS_NAME`.
    pub query: Option<ClaimsQuery>,
    /// `SUPAHOOK_ACCESS_TOKEN_CHAIN` and its companions.
    pub chain: Option<Chain>,
    /// `SUPAHOOK_ACCESS_TOKEN_CHAIN_ON_FAILURE`: what a failing chained hook or claims
    /// query means for the token.
    pub on_failure: OnClaimsFailure,
    /// `SUPAHOOK_TOKEN_CLAIMS_TTL`: how long a user's computed claims are kept;
    /// zero keeps nothing.
    pub ttl: Duration,
}

impl Default for TokenClaimsSettings {
    fn default() -> Self {
        Self {
            profile_claim: None,
            query: None,
            chain: None,
            on_failure: OnClaimsFailure::Closed,
            ttl: Duration::from_secs(DEFAULT_TTL_SECONDS),
        }
    }
}

/// A read-only statement taking the user id as `$1` and returning one JSON value,
/// added to the claims under `claim`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsQuery {
    /// The statement, without a trailing `;`.
    pub sql: String,
    /// The claim it is added under.
    pub claim: String,
}

/// The project's own custom-access-token hook, called after mirroring.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Where it is.
    pub target: ChainTarget,
    /// `SUPAHOOK_ACCESS_TOKEN_CHAIN_TIMEOUT_MS`: how long it may take.
    pub timeout: Duration,
}

/// Where the chained hook is.
#[derive(Debug, Clone)]
pub enum ChainTarget {
    /// `pg-functions://<database>/<schema>/<function>`: a function in the mirror
    /// database.
    Function(HookFunction),
    /// `https://…` (or `http://` on this machine), signed with its own secrets.
    Webhook {
        /// The URL posted to.
        url: reqwest::Url,
        /// `SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS`: every one signs each request.
        secrets: Vec<SigningKey>,
    },
}

/// `<schema>.<function>(event jsonb) returns jsonb`, named as in Supabase's
/// `pg-functions://<database>/<schema>/<function>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookFunction {
    /// The URI's database segment: `postgres`, or the mirror database's name.
    pub database: String,
    /// The function's schema.
    pub schema: String,
    /// The function's name.
    pub function: String,
}

/// What a failing chained hook or claims query means for the token
/// (`SUPAHOOK_ACCESS_TOKEN_CHAIN_ON_FAILURE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnClaimsFailure {
    /// The failure is the answer, as if Supabase Auth had called the hook itself: the
    /// sign-in or refresh fails with its message.
    Closed,
    /// The claims go on without what failed; the failure is logged and counted.
    Open,
}

impl OnClaimsFailure {
    /// `closed` or `open`, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
        }
    }
}

impl TokenClaimsSettings {
    /// Reads and checks every setting, and how they fit together.
    pub(super) fn load(s: &Sources) -> Result<Self, ConfigError> {
        let profile_claim = s.read(
            "SUPAHOOK_TOKEN_PROFILE_CLAIM",
            Form::Text,
            claim_names::check,
        )?;
        let name = s
            .read("SUPAHOOK_TOKEN_CLAIMS_NAME", Form::Text, claim_names::check)?
            .unwrap_or_else(|| DEFAULT_CLAIMS_NAME.to_owned());
        if profile_claim.as_deref() == Some(name.as_str()) {
            return Err(invalid(
                "SUPAHOOK_TOKEN_CLAIMS_NAME",
                format!("`{name}` is already SUPAHOOK_TOKEN_PROFILE_CLAIM; choose another"),
            ));
        }
        let query = s
            .read("SUPAHOOK_TOKEN_CLAIMS_QUERY", Form::Text, claims_query)?
            .map(|sql| ClaimsQuery { sql, claim: name });
        let secrets = s.read(
            "SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS",
            Form::Text,
            chain_secrets,
        )?;
        let timeout = s
            .read(
                "SUPAHOOK_ACCESS_TOKEN_CHAIN_TIMEOUT_MS",
                Form::Number,
                chain_timeout,
            )?
            .unwrap_or(Duration::from_millis(DEFAULT_CHAIN_TIMEOUT_MS));
        let target = s.read("SUPAHOOK_ACCESS_TOKEN_CHAIN", Form::Text, chain_target)?;
        let target = match (target, secrets) {
            (Some(Target::Function(function)), None) => Some(ChainTarget::Function(function)),
            (Some(Target::Function(_)), Some(_)) => {
                return Err(invalid(
                    "SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS",
                    "a pg-functions:// hook is called in the database and takes no secret",
                ));
            }
            (Some(Target::Url(url)), Some(secrets)) => Some(ChainTarget::Webhook { url, secrets }),
            (Some(Target::Url(_)), None) => {
                return Err(ConfigError::Missing {
                    setting: "SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS",
                });
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS",
                    "is set, but SUPAHOOK_ACCESS_TOKEN_CHAIN names no hook",
                ));
            }
            (None, None) => None,
        };
        Ok(Self {
            profile_claim,
            query,
            chain: target.map(|target| Chain { target, timeout }),
            on_failure: s
                .read(
                    "SUPAHOOK_ACCESS_TOKEN_CHAIN_ON_FAILURE",
                    Form::Text,
                    on_failure,
                )?
                .unwrap_or(OnClaimsFailure::Closed),
            ttl: s
                .read("SUPAHOOK_TOKEN_CLAIMS_TTL", Form::Number, ttl)?
                .unwrap_or(Duration::from_secs(DEFAULT_TTL_SECONDS)),
        })
    }
}

/// The chain's URI, before its secrets are looked at.
enum Target {
    Function(HookFunction),
    Url(reqwest::Url),
}

/// `SUPAHOOK_ACCESS_TOKEN_CHAIN`: `pg-functions://<database>/<schema>/<function>`,
/// `https://…`, or `http://` on this machine.
fn chain_target(text: &str) -> Result<Target, String> {
    let Some(path) = text.strip_prefix("pg-functions://") else {
        return crate::infra::urls::https_or_loopback(text)
            .map(Target::Url)
            .map_err(|e| format!("{e}, or pg-functions://<database>/<schema>/<function>"));
    };
    let parts: Vec<&str> = path.split('/').collect();
    let [database, schema, function] = parts[..] else {
        return Err("expected pg-functions://<database>/<schema>/<function>, \
                    e.g. pg-functions://postgres/public/custom_access_token_hook"
            .to_owned());
    };
    for (what, name) in [
        ("database", database),
        ("schema", schema),
        ("function", function),
    ] {
        identifier(name).map_err(|e| format!("the {what} segment `{name}` {e}"))?;
    }
    Ok(Target::Function(HookFunction {
        database: database.to_owned(),
        schema: schema.to_owned(),
        function: function.to_owned(),
    }))
}

/// A PostgreSQL name supahook quotes as given: letters, digits, `_`, `$` and `-`,
/// not starting with a digit, at most 63 bytes.
fn identifier(name: &str) -> Result<(), &'static str> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid
        .then_some(())
        .ok_or("must be letters, digits, _, $ or - (at most 63), not starting with a digit")
}

/// `SUPAHOOK_ACCESS_TOKEN_CHAIN_SECRETS`: `v1,whsec_<base64>`, several separated by `|`.
fn chain_secrets(list: &str) -> Result<Vec<SigningKey>, String> {
    match SigningKey::parse_list(list) {
        Ok(keys) if keys.is_empty() => Err("names no secret".to_owned()),
        Ok(keys) => Ok(keys),
        Err(e) => Err(format!(
            "{e} (expected v1,whsec_<base64>, several separated by |)"
        )),
    }
}

/// `SUPAHOOK_ACCESS_TOKEN_CHAIN_TIMEOUT_MS`: whole milliseconds, 50 to 3000.
fn chain_timeout(text: &str) -> Result<Duration, String> {
    super::millis_within(text, 50, MAX_CHAIN_TIMEOUT_MS)
}

/// `SUPAHOOK_ACCESS_TOKEN_CHAIN_ON_FAILURE`: `closed` or `open`.
fn on_failure(text: &str) -> Result<OnClaimsFailure, String> {
    one_of(
        text,
        &[
            ("closed", OnClaimsFailure::Closed),
            ("open", OnClaimsFailure::Open),
        ],
    )
}

/// `SUPAHOOK_TOKEN_CLAIMS_TTL`: whole seconds, at most an hour; 0 keeps nothing.
fn ttl(text: &str) -> Result<Duration, String> {
    let seconds: u64 = text
        .parse()
        .map_err(|e| format!("{e} (expected whole seconds)"))?;
    match seconds <= 3600 {
        true => Ok(Duration::from_secs(seconds)),
        false => Err(format!("{seconds} is more than 3600 seconds")),
    }
}

/// `SUPAHOOK_TOKEN_CLAIMS_QUERY`: one statement using `$1`, the user id; a trailing
/// `;` is dropped.
fn claims_query(text: &str) -> Result<String, String> {
    let sql = text.trim().trim_end_matches(';').trim_end();
    if sql.is_empty() {
        return Err("is empty".to_owned());
    }
    if sql.contains(';') {
        return Err("must be one statement (it holds a `;`)".to_owned());
    }
    if !sql.contains("$1") {
        return Err("must use $1, the user id, e.g. \
                    select jsonb_build_object('roles', array_agg(role)) from user_roles where user_id = $1"
            .to_owned());
    }
    Ok(sql.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pg_functions_uri_names_database_schema_and_function() {
        let Ok(Target::Function(f)) =
            chain_target("pg-functions://postgres/public/custom_access_token_hook")
        else {
            panic!("not a function");
        };
        assert_eq!(
            (f.database.as_str(), f.schema.as_str(), f.function.as_str()),
            ("postgres", "public", "custom_access_token_hook")
        );
        assert!(chain_target("pg-functions://postgres/public").is_err());
        assert!(chain_target("pg-functions://postgres/public/x\"y").is_err());
        assert!(chain_target("pg-functions://postgres/public/a/b").is_err());
    }

    #[test]
    fn a_url_must_be_https_or_on_this_machine() {
        assert!(matches!(
            chain_target("https://hooks.example.com/claims"),
            Ok(Target::Url(_))
        ));
        assert!(matches!(
            chain_target("http://127.0.0.1:9000/claims"),
            Ok(Target::Url(_))
        ));
        let refused = chain_target("http://hooks.example.com/claims")
            .err()
            .unwrap();
        assert!(refused.contains("pg-functions://"), "{refused}");
    }

    #[test]
    fn the_claims_query_is_one_statement_using_the_user_id() {
        assert_eq!(
            claims_query("select 1 where $1 is not null; ").unwrap(),
            "select 1 where $1 is not null"
        );
        assert!(claims_query("select 1").is_err());
        assert!(claims_query("select $1; drop table users").is_err());
        assert!(claims_query(" ; ").is_err());
    }
}
