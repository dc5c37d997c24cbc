//! Verifies Supabase access tokens (JWTs) presented by the application's frontend.
//!
//! HS256 tokens are checked with the project's shared secret; tokens signed with an
//! asymmetric key (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA:
//! every algorithm Supabase Auth signs with but ES512, which the JWT library cannot
//! verify) with the project's published keys (a JWKS at a URL, fetched and cached, or
//! in a file). The algorithm decides which key is used, never the other way round: an
//! HS256 token is only ever checked against the shared secret, an ES256 token only
//! against a P-256 key that declares ES256 or no algorithm, so a public key can never
//! serve as an HMAC secret. `alg: none` is refused. [`VerifiedToken`] is the only way
//! to the claims.

mod issuer;
mod jwk_algorithms;
mod keys;
mod remote;
mod settings;

pub use keys::{IgnoredKey, KeySet, KeySetError};
pub use remote::{MAX_WAIT, MIN_INTERVAL};
pub use settings::{DEFAULT_AUDIENCE, JwtSettings};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use keys::is_asymmetric;
use remote::RemoteKeys;
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 30;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts with a JSON header naming a known algorithm.
    #[error("the bearer token is not a JWT with a supported algorithm")]
    Malformed,
    /// An algorithm supahook never accepts (HS384, HS512).
    #[error("tokens signed with {0:?} are not accepted")]
    Algorithm(Algorithm),
    /// HS256, but no shared secret is configured.
    #[error("HS256 tokens are not accepted here")]
    HmacNotAccepted,
    /// Signed with an asymmetric key (RS*, PS*, ES*, EdDSA), but no key set is configured.
    #[error("tokens signed with a public-key algorithm (RS, PS, ES, EdDSA) are not accepted here")]
    AsymmetricNotAccepted,
    /// No configured key has the token's `kid` and algorithm.
    #[error("no signing key matches the token's kid and algorithm")]
    UnknownKey,
    /// The signature does not match.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// `exp` is past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `aud` is not one of the accepted audiences.
    #[error("the token's audience (aud) is not accepted")]
    WrongAudience,
    /// `iss` is not the configured issuer.
    #[error("the token's issuer (iss) is not accepted")]
    WrongIssuer,
    /// A claim that must be present is not.
    #[error("the token has no `{0}` claim")]
    MissingClaim(String),
    /// The key set could not be fetched and no key is known yet.
    #[error("the signing keys cannot be fetched right now")]
    KeysUnavailable,
}

impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        match error.into_kind() {
            ErrorKind::InvalidSignature
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat => Self::BadSignature,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::MissingRequiredClaim(claim) => Self::MissingClaim(claim),
            _ => Self::Malformed,
        }
    }
}

/// The claims of a token whose signature, expiry, audience and issuer were checked.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    claims: Value,
    digest: String,
}

impl VerifiedToken {
    /// The verified claims.
    pub fn claims(&self) -> &Value {
        &self.claims
    }

    /// The hex SHA-256 of the whole token: the same token gives the same digest.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

/// Checks access tokens against the configured secret and keys.
pub struct TokenVerifier {
    secret: Option<DecodingKey>,
    file_keys: Option<KeySet>,
    remote: Option<RemoteKeys>,
    audiences: Vec<String>,
    issuer: Option<String>,
}

impl TokenVerifier {
    /// A verifier for the settings, or `None` when neither a secret nor keys are configured.
    /// `min_interval` bounds how often the remote key set is fetched ([`MIN_INTERVAL`]).
    pub fn new(settings: &JwtSettings, min_interval: Duration) -> Result<Option<Self>, String> {
        if settings.secret.is_none() && settings.jwks_url.is_none() && settings.jwks_file.is_none()
        {
            return Ok(None);
        }
        let secret = match &settings.secret {
            Some(secret) => Some(
                DecodingKey::from_secret(secret.expose_secret().as_bytes())
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let remote = match &settings.jwks_url {
            Some(url) => Some(RemoteKeys::new(url.clone(), min_interval)?),
            None => None,
        };
        if let Some(keys) = &settings.jwks_file {
            keys.report_ignored(&[]);
        }
        let issuer = issuer::required(settings.issuer.as_deref(), settings.jwks_url.as_deref());
        match (&issuer, &settings.jwks_url) {
            (Some(issuer), _) => {
                tracing::info!(issuer, "access tokens must name this issuer (iss)")
            }
            (None, Some(_)) => tracing::warn!(
                "the issuer (iss) of access tokens is not checked: SUPAHOOK_JWKS_URL is not \
                 Supabase's <origin>/auth/v1/.well-known/jwks.json, so set SUPAHOOK_JWT_ISSUER"
            ),
            (None, None) => {}
        }
        Ok(Some(Self {
            secret,
            file_keys: settings.jwks_file.clone(),
            remote,
            audiences: settings.audiences.clone(),
            issuer,
        }))
    }

    /// Verifies `token` and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let keys = match header.alg {
            Algorithm::HS256 => vec![self.secret.clone().ok_or(TokenError::HmacNotAccepted)?],
            alg if is_asymmetric(alg) => self.asymmetric_keys(header.kid.as_deref(), alg).await?,
            other => return Err(TokenError::Algorithm(other)),
        };
        let validation = self.validation(header.alg);
        let mut refusal = TokenError::UnknownKey;
        for key in &keys {
            match jsonwebtoken::decode::<Value>(token, key, &validation) {
                Ok(data) => {
                    return Ok(VerifiedToken {
                        claims: data.claims,
                        digest: hex(&Sha256::digest(token.as_bytes())),
                    });
                }
                // Another key with the same kid (or none) may still match.
                Err(error) => match TokenError::from(error) {
                    TokenError::BadSignature => refusal = TokenError::BadSignature,
                    other => return Err(other),
                },
            }
        }
        Err(refusal)
    }

    /// The keys of `alg` that may have signed a token naming `kid`: from the file,
    /// else from the remote set.
    async fn asymmetric_keys(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<DecodingKey>, TokenError> {
        if self.file_keys.is_none() && self.remote.is_none() {
            return Err(TokenError::AsymmetricNotAccepted);
        }
        let mut found = self
            .file_keys
            .as_ref()
            .map(|keys| keys.candidates(kid, alg))
            .unwrap_or_default();
        if found.is_empty()
            && let Some(remote) = &self.remote
        {
            found = remote.candidates(kid, alg).await?;
        }
        Ok(found.into_iter().map(|k| k.key).collect())
    }

    /// The rules for a token of `alg`: only that algorithm; `exp`, `sub` and `aud`
    /// required, `aud` one of the accepted audiences; `iss` when an issuer is set or
    /// told by the key set URL.
    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_audience(&self.audiences);
        let mut required = vec!["exp", "sub", "aud"];
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        validation
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
