//! Standard Webhooks signatures (HMAC-SHA256), as Supabase Auth sends them.
//!
//! Pure code: no HTTP types. A delivery is checked in two steps: [`Verifier::admit`]
//! (or [`admit_bearer`]) checks what needs no body, so a request that fails it is refused
//! before its body is read; [`Admitted::verify`] then checks the body and is the only way
//! to obtain a [`VerifiedBody`], so nothing can parse a payload before its bytes are checked.
//! A check costs one HMAC per configured secret, whatever the header holds.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

type HmacSha256 = Hmac<Sha256>;

/// How far a `webhook-timestamp` may be from our clock, in either direction.
/// Every official Standard Webhooks library uses five minutes.
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// The most entries a `webhook-signature` header may hold: one per secret in rotation,
/// with room to spare (Supabase accepts at most a handful of secrets).
pub const MAX_SIGNATURES: usize = 16;

/// The longest `webhook-signature` header accepted, in bytes: sixteen `v1,<base64>`
/// entries take under 800.
pub const MAX_SIGNATURE_HEADER_BYTES: usize = 4096;

/// Why a delivery's signature was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the {0} header is missing or blank")]
    MissingHeader(&'static str),
    #[error(
        "the webhook-signature header holds more than {0} entries; send one `v1,<base64>` entry per secret"
    )]
    TooManySignatures(usize),
    #[error("the webhook-signature header is longer than {0} bytes")]
    SignatureHeaderTooLong(usize),
    #[error("the webhook-timestamp header is not a Unix time in seconds")]
    BadTimestamp,
    #[error("the webhook-timestamp is too far from the server clock ({0} s allowed either way)")]
    TimestampOutOfTolerance(u64),
    #[error("no signature in the webhook-signature header matches any configured secret")]
    NoMatch,
    #[error("the bearer token is not valid")]
    BadBearer,
    #[error(
        "the request carries neither a webhook-signature header nor an Authorization bearer token"
    )]
    NoCredentials,
}

/// A secret in the form `v1,whsec_<base64>` could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("a secret must start with `v1,whsec_`")]
    BadPrefix,
    #[error("the part after `v1,whsec_` is not valid padded base64")]
    BadBase64,
    #[error("a secret must decode to between 24 and 66 bytes, this one has {0}")]
    BadLength(usize),
}

/// One HMAC key, decoded from its `v1,whsec_<base64>` text. Never printed.
#[derive(Clone)]
pub struct SigningKey {
    key: Vec<u8>,
    text: String,
}

impl SigningKey {
    /// Decodes a Supabase hook secret. The HMAC key is the base64-decoded bytes,
    /// not the ASCII text, exactly as Supabase Auth derives it.
    pub fn parse(secret: &str) -> Result<Self, SecretError> {
        let secret = secret.trim();
        let encoded = secret
            .strip_prefix("v1,whsec_")
            .ok_or(SecretError::BadPrefix)?;
        let key = B64.decode(encoded).map_err(|_| SecretError::BadBase64)?;
        if !(24..=66).contains(&key.len()) {
            return Err(SecretError::BadLength(key.len()));
        }
        Ok(Self {
            key,
            text: secret.to_owned(),
        })
    }

    /// Parses Supabase's `secrets` setting: one or more secrets separated by `|`.
    pub fn parse_list(secrets: &str) -> Result<Vec<Self>, SecretError> {
        secrets
            .split('|')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Self::parse)
            .collect()
    }

    /// Whether `other` is the same HMAC key, however its text is written; compared
    /// in constant time.
    pub fn same_key(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.key.ct_eq(&other.key).into()
    }

    /// The secret in its `v1,whsec_<base64>` form, for tools that hand it on.
    pub fn expose_text(&self) -> &str {
        &self.text
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `v1,<base64>` signature of one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac(id, &timestamp.to_string(), body)
            .finalize()
            .into_bytes();
        format!("v1,{}", B64.encode(tag))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// The three Standard Webhooks headers of one delivery, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    /// `webhook-id`
    pub id: Option<&'a str>,
    /// `webhook-timestamp`
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`
    pub signature: Option<&'a str>,
}

/// A body whose sender has been authenticated, with its delivery id.
#[derive(Debug)]
pub struct VerifiedBody<'a> {
    /// The `webhook-id` the sender signed, or for a bearer-token delivery without
    /// one, `sha256:<hex>` of the body.
    pub webhook_id: Cow<'a, str>,
    /// The raw bytes, exactly as signed.
    pub bytes: &'a [u8],
}

/// Checks Standard Webhooks signatures against every configured secret.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: Vec<SigningKey>,
}

impl Verifier {
    /// A verifier that accepts a signature made with any of `keys` (rotation).
    pub fn new(keys: Vec<SigningKey>) -> Self {
        Self { keys }
    }

    /// Verifies `body` against the headers at the time `now` (Unix seconds), with the
    /// standard tolerance of [`TOLERANCE`] either way.
    pub fn verify<'a>(
        &self,
        headers: SignedHeaders<'a>,
        body: &'a [u8],
        now: i64,
    ) -> Result<VerifiedBody<'a>, SignatureError> {
        self.verify_within(headers, body, now, TOLERANCE)
    }

    /// Verifies `body` allowing the timestamp to be up to `tolerance` away from `now`.
    pub fn verify_within<'a>(
        &self,
        headers: SignedHeaders<'a>,
        body: &'a [u8],
        now: i64,
        tolerance: Duration,
    ) -> Result<VerifiedBody<'a>, SignatureError> {
        self.admit(headers, now, tolerance)?.verify(body)
    }

    /// Checks everything that needs no body: the headers are present, the signature
    /// header within [`MAX_SIGNATURES`] and [`MAX_SIGNATURE_HEADER_BYTES`], and the
    /// timestamp at most `tolerance` away from `now`.
    pub fn admit<'k, 'a>(
        &'k self,
        headers: SignedHeaders<'a>,
        now: i64,
        tolerance: Duration,
    ) -> Result<Admitted<'k, 'a>, SignatureError> {
        // A blank id would become an idempotency key that every such delivery shares.
        let id = headers
            .id
            .filter(|id| !id.trim().is_empty())
            .ok_or(SignatureError::MissingHeader("webhook-id"))?;
        let timestamp = headers
            .timestamp
            .ok_or(SignatureError::MissingHeader("webhook-timestamp"))?;
        let signature = headers
            .signature
            .ok_or(SignatureError::MissingHeader("webhook-signature"))?;
        if signature.len() > MAX_SIGNATURE_HEADER_BYTES {
            return Err(SignatureError::SignatureHeaderTooLong(
                MAX_SIGNATURE_HEADER_BYTES,
            ));
        }
        if signature.split_whitespace().nth(MAX_SIGNATURES).is_some() {
            return Err(SignatureError::TooManySignatures(MAX_SIGNATURES));
        }

        let timestamp = timestamp.trim();
        let sent_at: i64 = timestamp
            .parse()
            .map_err(|_| SignatureError::BadTimestamp)?;
        if now.abs_diff(sent_at) > tolerance.as_secs() {
            return Err(SignatureError::TimestampOutOfTolerance(tolerance.as_secs()));
        }

        let tags = v1_signatures(signature)
            .filter_map(|s| B64.decode(s).ok())
            .collect();
        Ok(Admitted::signed(&self.keys, id, timestamp, tags))
    }
}

/// The base64 parts of the `v1` entries in a signature header.
///
/// The spec separates entries with spaces; Supabase joins them with `", "`,
/// which leaves a trailing comma on every entry but the last.
fn v1_signatures(header: &str) -> impl Iterator<Item = &str> {
    header.split_whitespace().filter_map(|entry| {
        let (version, sig) = entry.trim_end_matches(',').split_once(',')?;
        (version == "v1").then_some(sig)
    })
}

/// Compares two shared secrets (bearer tokens) in constant time, without
/// revealing their lengths: the SHA-256 digests are compared instead.
pub fn same_secret(presented: &str, expected: &str) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.as_slice().ct_eq(b.as_slice()).into()
}

mod admitted;
pub use admitted::{Admitted, admit_bearer};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
