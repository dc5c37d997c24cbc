//! How access tokens presented to `POST /api/auth/users/sync` are verified: the
//! project's shared secret, its published keys, the accepted audiences and issuer.

use super::KeySet;
use crate::config_sources::{ConfigError, Form, Sources};
use secrecy::SecretString;
use std::fmt;

/// The shortest HS256 secret accepted (Supabase's own minimum).
const MIN_JWT_SECRET_LEN: usize = 32;

/// The audience Supabase puts in the access tokens of signed-in users.
pub const DEFAULT_AUDIENCE: &str = "authenticated";

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

impl JwtSettings {
    /// Reads and checks every setting; reads and parses the JWKS file.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        Ok(Self {
            secret: sources.read("SUPAHOOK_JWT_SECRET", Form::Text, secret)?,
            jwks_url: sources.read("SUPAHOOK_JWKS_URL", Form::Text, jwks_url)?,
            jwks_file: sources.read("SUPAHOOK_JWKS_FILE", Form::Text, jwks_file)?,
            audiences: sources
                .list("SUPAHOOK_JWT_AUDIENCE", audiences)?
                .unwrap_or_else(|| vec![DEFAULT_AUDIENCE.to_owned()]),
            issuer: sources.read("SUPAHOOK_JWT_ISSUER", Form::Text, |issuer| {
                Ok::<_, String>(issuer.to_owned())
            })?,
        })
    }
}

/// `SUPAHOOK_JWT_SECRET`: long enough to resist guessing.
fn secret(text: &str) -> Result<SecretString, String> {
    match text.chars().count() {
        n if n < MIN_JWT_SECRET_LEN => {
            Err(format!("must be at least {MIN_JWT_SECRET_LEN} characters"))
        }
        _ => Ok(SecretString::from(text)),
    }
}

/// The keys decide which tokens are genuine, so they come over https: a network
/// attacker could otherwise supply their own. Plain http is left to loopback hosts (a
/// local Supabase, tests), where no network lies between the two.
fn jwks_url(url: &str) -> Result<String, String> {
    crate::infra::urls::https_or_loopback(url).map(|_| url.to_owned())
}

/// `SUPAHOOK_JWKS_FILE`: the key set in the file at `path`.
fn jwks_file(path: &str) -> Result<KeySet, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    KeySet::from_json(&text).map_err(|e| format!("{path}: {e}"))
}

/// `SUPAHOOK_JWT_AUDIENCE`: at least one audience.
fn audiences(list: Vec<String>) -> Result<Vec<String>, &'static str> {
    match list.is_empty() {
        true => Err("names no audience"),
        false => Ok(list),
    }
}
