//! Public keys read from a JSON Web Key Set (RFC 7517).
//!
//! Only signature keys for the asymmetric algorithms supahook accepts are kept
//! ([`super::jwk_algorithms`]). A key that cannot verify tokens (a symmetric `oct`
//! key, which must never verify an HMAC since anyone can download the set; an
//! encryption key; ES512) is set aside with its `kid`, `alg` and the reason, so that
//! loading the set can report it.

use super::jwk_algorithms::algorithms_of;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

pub use super::jwk_algorithms::is_asymmetric;

/// One public key and the one algorithm it verifies.
#[derive(Clone)]
pub struct VerificationKey {
    /// The `kid` tokens name it by, when the set gives one.
    pub kid: Option<String>,
    /// The only algorithm this key is used with.
    pub algorithm: Algorithm,
    /// The key itself.
    pub key: DecodingKey,
}

/// A key of the set that verifies nothing: what it says of itself, never its material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredKey {
    /// Its `kid`, when it has one.
    pub kid: Option<String>,
    /// Its declared `alg`, when it has one.
    pub alg: Option<String>,
    /// Why it verifies nothing.
    pub reason: &'static str,
}

/// The usable keys of one JSON Web Key Set, and the keys it ignored.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
    ignored: Vec<IgnoredKey>,
}

/// A key set that cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    /// Not JSON, or no `keys` array.
    #[error("not a JSON Web Key Set ({0})")]
    Shape(String),
    /// A set without one key supahook can verify tokens with.
    #[error(
        "it holds no signature key for RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 \
         or EdDSA{}",
        describe(.0)
    )]
    NoUsableKey(Vec<IgnoredKey>),
}

/// The longest `kid` or `alg` repeated in a message.
const MAX_LABEL: usize = 100;

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<Value>,
}

impl KeySet {
    /// Parses a JWKS document, keeping the keys supahook can verify with.
    pub fn from_json(text: &[u8]) -> Result<Self, KeySetError> {
        let raw: RawSet =
            serde_json::from_slice(text).map_err(|e| KeySetError::Shape(e.to_string()))?;
        let mut set = Self::default();
        for value in raw.keys {
            match usable(&value) {
                Ok(keys) => set.keys.extend(keys),
                Err(reason) => set.ignored.push(IgnoredKey {
                    kid: label(&value, "kid"),
                    alg: label(&value, "alg"),
                    reason,
                }),
            }
        }
        if set.keys.is_empty() {
            return Err(KeySetError::NoUsableKey(set.ignored));
        }
        Ok(set)
    }

    /// The keys that may verify a token signed with `algorithm` and naming `kid`.
    /// A token without a `kid` may be verified by any key of its algorithm.
    pub fn candidates(&self, kid: Option<&str>, algorithm: Algorithm) -> Vec<VerificationKey> {
        self.keys
            .iter()
            .filter(|k| k.algorithm == algorithm)
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .cloned()
            .collect()
    }

    /// Whether a key of the set carries `kid`, for whatever algorithm.
    pub fn names(&self, kid: Option<&str>) -> bool {
        kid.is_some() && self.keys.iter().any(|k| k.kid.as_deref() == kid)
    }

    /// The keys of the set that verify nothing.
    pub fn ignored(&self) -> &[IgnoredKey] {
        &self.ignored
    }

    /// Logs, at WARN, each key of the set that verifies nothing and is not in `already`
    /// (reported before): its kid, alg and why, never its material.
    pub fn report_ignored(&self, already: &[IgnoredKey]) {
        for key in self.ignored.iter().filter(|k| !already.contains(k)) {
            tracing::warn!(
                kid = key.kid.as_deref().unwrap_or("(none)"),
                alg = key.alg.as_deref().unwrap_or("(none)"),
                reason = key.reason,
                "a key of the JSON Web Key Set cannot verify access tokens and is ignored"
            );
        }
    }

    /// How many (key, algorithm) pairs the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The key described by one JWK, once per algorithm it verifies; or why it verifies none.
fn usable(value: &Value) -> Result<Vec<VerificationKey>, &'static str> {
    let jwk: Jwk = serde_json::from_value(value.clone())
        .map_err(|_| "an algorithm, key type or curve the JWT library does not know")?;
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return Err("not a signature key (its use is not sig)");
    }
    let algorithms = algorithms_of(&jwk)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "its key parameters are not valid")?;
    Ok(algorithms
        .into_iter()
        .map(|algorithm| VerificationKey {
            kid: jwk.common.key_id.clone(),
            algorithm,
            key: key.clone(),
        })
        .collect())
}

/// The text of member `name` of a JWK, shortened, for reports.
fn label(value: &Value, name: &str) -> Option<String> {
    let text = value.get(name)?.as_str()?;
    Some(text.chars().take(MAX_LABEL).collect())
}

/// " (ignored: kid k1, alg ES512: why; ...)" for a refused set's keys.
fn describe(ignored: &[IgnoredKey]) -> String {
    if ignored.is_empty() {
        return String::new();
    }
    let each: Vec<String> = ignored
        .iter()
        .map(|k| {
            let kid = k.kid.as_deref().unwrap_or("(none)");
            let alg = k.alg.as_deref().unwrap_or("(none)");
            format!("kid {kid}, alg {alg}: {}", k.reason)
        })
        .collect();
    format!(" (ignored: {})", each.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","alg":"ES256","kid":"ec-1","use":"sig",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

    fn set(keys: &[&str]) -> Result<KeySet, KeySetError> {
        KeySet::from_json(format!(r#"{{"keys":[{}]}}"#, keys.join(",")).as_bytes())
    }

    #[test]
    fn an_ec_key_is_kept_for_es256_only() {
        let keys = set(&[EC_KEY]).unwrap();
        assert_eq!(keys.candidates(Some("ec-1"), Algorithm::ES256).len(), 1);
        assert!(keys.candidates(Some("ec-1"), Algorithm::RS256).is_empty());
        assert!(keys.candidates(Some("other"), Algorithm::ES256).is_empty());
        assert_eq!(keys.candidates(None, Algorithm::ES256).len(), 1);
    }

    #[test]
    fn symmetric_and_encryption_keys_are_ignored() {
        let oct = r#"{"kty":"oct","alg":"HS256","kid":"h","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ"}"#;
        let enc = EC_KEY.replace(r#""use":"sig""#, r#""use":"enc""#);
        assert!(matches!(set(&[oct]), Err(KeySetError::NoUsableKey(_))));
        assert!(matches!(set(&[&enc]), Err(KeySetError::NoUsableKey(_))));
        let mixed = set(&[oct, EC_KEY]).unwrap();
        assert_eq!(mixed.len(), 1);
        assert_eq!(mixed.ignored()[0].kid.as_deref(), Some("h"));
    }

    #[test]
    fn an_es512_key_is_set_aside_with_its_kid_and_alg_and_named_when_alone() {
        let es512 = r#"{"kty":"EC","crv":"P-521","alg":"ES512","kid":"p521-key",
            "x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
            "y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}"#;

        let alone = set(&[es512]).err().unwrap();
        let beside = set(&[es512, EC_KEY]).unwrap();

        let expected = IgnoredKey {
            kid: Some("p521-key".into()),
            alg: Some("ES512".into()),
            reason: "ES512 (P-521) is not supported",
        };
        assert_eq!(beside.ignored(), [expected]);
        let message = alone.to_string();
        assert!(message.contains("kid p521-key, alg ES512"), "{message}");
        assert!(!message.contains("AekpBQ8"), "no key material: {message}");
    }

    #[test]
    fn an_ignored_key_is_reported_at_warn_with_its_kid_and_alg_and_no_material() {
        #[derive(Clone, Default)]
        struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let oct = r#"{"kty":"oct","alg":"HS256","kid":"shared","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ"}"#;
        let keys = set(&[oct, EC_KEY]).unwrap();

        tracing::subscriber::with_default(subscriber, || {
            keys.report_ignored(&[]);
            keys.report_ignored(keys.ignored());
        });

        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(logged.lines().count(), 1, "reported once: {logged}");
        assert!(logged.contains("WARN"), "{logged}");
        assert!(
            logged.contains("kid=\"shared\"") || logged.contains("kid=shared"),
            "{logged}"
        );
        assert!(logged.contains("HS256"), "{logged}");
        assert!(!logged.contains("c2VjcmV0"), "no key material: {logged}");
    }

    #[test]
    fn an_rsa_key_without_alg_serves_every_rsa_algorithm() {
        let rsa = r#"{"kty":"RSA","kid":"r","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}"#;
        let keys = set(&[rsa]).unwrap();

        for algorithm in [Algorithm::RS256, Algorithm::RS512, Algorithm::PS384] {
            assert_eq!(
                keys.candidates(Some("r"), algorithm).len(),
                1,
                "{algorithm:?}"
            );
        }
        assert!(keys.candidates(Some("r"), Algorithm::ES256).is_empty());
    }

    #[test]
    fn a_key_declaring_another_algorithm_than_its_type_is_ignored() {
        let lying = EC_KEY.replace("ES256", "RS256");
        assert!(matches!(set(&[&lying]), Err(KeySetError::NoUsableKey(_))));
    }

    #[test]
    fn a_document_that_is_not_a_key_set_is_refused() {
        assert!(matches!(
            KeySet::from_json(b"{\"nokeys\":1}"),
            Err(KeySetError::Shape(_))
        ));
    }
}
