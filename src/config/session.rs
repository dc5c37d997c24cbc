//! Settings of the frontend sync endpoint (how access tokens are verified, which
//! browser origins may call it) and of the profile claim added to access tokens.

use super::{ConfigError, SecretString, invalid};
use crate::jwt::KeySet;
use std::fmt;
use std::path::Path;

/// The shortest HS256 secret accepted (Supabase's own minimum).
const MIN_JWT_SECRET_LEN: usize = 32;

/// The audience Supabase puts in the access tokens of signed-in users.
pub const DEFAULT_AUDIENCE: &str = "authenticated";

/// Claims Supabase Auth sets or requires; the profile claim may not take their names.
const SUPABASE_CLAIMS: [&str; 18] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "email",
    "phone",
    "app_metadata",
    "user_metadata",
    "role",
    "aal",
    "amr",
    "session_id",
    "is_anonymous",
    "client_id",
    "scope",
];

/// How access tokens presented to `POST /api/auth/users/sync` are verified.
#[derive(Clone, Default)]
pub struct JwtSettings {
    /// `SUPAHOOK_JWT_SECRET`: the project's HS256 secret.
    pub secret: Option<SecretString>,
    /// `SUPAHOOK_JWKS_URL`: where the project's public keys are published.
    pub jwks_url: Option<String>,
    /// `SUPAHOOK_JWKS_FILE`: public keys read from a file at start.
    pub jwks_file: Option<KeySet>,
    /// `SUPAHOOK_JWT_AUDIENCE`: accepted `aud` values (default `authenticated`).
    pub audiences: Vec<String>,
    /// `SUPAHOOK_JWT_ISSUER`: the required `iss`, when set.
    pub issuer: Option<String>,
}

impl fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &self.secret)
            .field("jwks_url", &self.jwks_url)
            .field("jwks_file_keys", &self.jwks_file.as_ref().map(KeySet::len))
            .field("audiences", &self.audiences)
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// Raw values of the session settings, from the environment or the file.
pub(super) struct RawSessionSettings {
    pub jwt_secret: Option<String>,
    pub jwks_url: Option<String>,
    pub jwks_file: Option<String>,
    pub jwt_audience: Option<Vec<String>>,
    pub jwt_issuer: Option<String>,
}

impl RawSessionSettings {
    /// Checks every value; reads and parses the JWKS file.
    pub(super) fn validate(self) -> Result<JwtSettings, ConfigError> {
        let secret = match self.jwt_secret {
            Some(s) if s.chars().count() < MIN_JWT_SECRET_LEN => {
                return Err(invalid(
                    "SUPAHOOK_JWT_SECRET",
                    format!("must be at least {MIN_JWT_SECRET_LEN} characters"),
                ));
            }
            other => other.map(SecretString::new),
        };
        let jwks_url = self.jwks_url.map(jwks_url).transpose()?;
        let jwks_file = self.jwks_file.as_deref().map(jwks_file).transpose()?;
        let audiences = self
            .jwt_audience
            .unwrap_or_else(|| vec![DEFAULT_AUDIENCE.to_owned()]);
        if audiences.is_empty() {
            return Err(invalid("SUPAHOOK_JWT_AUDIENCE", "names no audience"));
        }
        Ok(JwtSettings {
            secret,
            jwks_url,
            jwks_file,
            audiences,
            issuer: self.jwt_issuer,
        })
    }
}

/// The keys decide which tokens are genuine, so they come over https: a network
/// attacker could otherwise supply their own. Plain http is left to loopback hosts (a
/// local Supabase, tests), where no network lies between the two.
fn jwks_url(url: String) -> Result<String, ConfigError> {
    let parsed = reqwest::Url::parse(&url).map_err(|e| invalid("SUPAHOOK_JWKS_URL", e))?;
    match parsed.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&parsed) => Ok(url),
        "http" => Err(invalid(
            "SUPAHOOK_JWKS_URL",
            "must be an https:// URL (plain http:// only for localhost, 127.0.0.0/8 or [::1])",
        )),
        _ => Err(invalid("SUPAHOOK_JWKS_URL", "must be an https:// URL")),
    }
}

/// Whether `url` names this machine: `localhost`, 127.0.0.0/8 or `::1`.
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn jwks_file(path: &str) -> Result<KeySet, ConfigError> {
    let text = std::fs::read(Path::new(path))
        .map_err(|e| invalid("SUPAHOOK_JWKS_FILE", format!("cannot read {path}: {e}")))?;
    KeySet::from_json(&text).map_err(|e| invalid("SUPAHOOK_JWKS_FILE", format!("{path}: {e}")))
}

/// `SUPAHOOK_CORS_ORIGINS`: `*`, or origins such as `https://app.example.com`.
pub(super) fn cors_origins(list: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for origin in &list {
        if origin == "*" {
            continue;
        }
        let valid = reqwest::Url::parse(origin).is_ok_and(|url| {
            matches!(url.scheme(), "https" | "http")
                && url.host_str().is_some()
                && url.path() == "/"
                && !origin.ends_with('/')
        });
        if !valid {
            return Err(invalid(
                "SUPAHOOK_CORS_ORIGINS",
                format!(
                    "`{origin}` is not an origin such as https://app.example.com (no path, no trailing /)"
                ),
            ));
        }
    }
    Ok(list)
}

/// `SUPAHOOK_TOKEN_PROFILE_CLAIM`: a claim name that Supabase does not use.
pub(super) fn profile_claim(name: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(name) = name else {
        return Ok(None);
    };
    let valid = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !valid {
        return Err(invalid(
            "SUPAHOOK_TOKEN_PROFILE_CLAIM",
            "must be letters, digits and _ (for example app_profile)",
        ));
    }
    if SUPABASE_CLAIMS.contains(&name.as_str()) {
        return Err(invalid(
            "SUPAHOOK_TOKEN_PROFILE_CLAIM",
            format!(
                "`{name}` is a claim Supabase Auth sets; choose another name, such as app_profile"
            ),
        ));
    }
    Ok(Some(name))
}
