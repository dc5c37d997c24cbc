//! Public keys read from a JSON Web Key Set (RFC 7517).
//!
//! Only signature keys for the asymmetric algorithms supahook accepts (ES256, RS256)
//! are kept. A symmetric (`oct`) key in a published set is ignored: a key anyone can
//! download must never be able to verify an HMAC.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

/// The asymmetric algorithms a key in a set may be used with.
pub const ASYMMETRIC: [Algorithm; 2] = [Algorithm::ES256, Algorithm::RS256];

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

/// The usable keys of one JSON Web Key Set.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
}

/// A key set that cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    /// Not JSON, or no `keys` array.
    #[error("not a JSON Web Key Set ({0})")]
    Shape(String),
    /// A set without one ES256 or RS256 signature key.
    #[error("it holds no ES256 or RS256 signature key")]
    NoUsableKey,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<Value>,
}

impl KeySet {
    /// Parses a JWKS document, keeping the keys supahook can verify with.
    pub fn from_json(text: &[u8]) -> Result<Self, KeySetError> {
        let raw: RawSet =
            serde_json::from_slice(text).map_err(|e| KeySetError::Shape(e.to_string()))?;
        let keys: Vec<VerificationKey> = raw.keys.into_iter().filter_map(usable).collect();
        if keys.is_empty() {
            return Err(KeySetError::NoUsableKey);
        }
        Ok(Self { keys })
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

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The key described by one JWK, when it is an ES256 or RS256 signature key.
fn usable(value: Value) -> Option<VerificationKey> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = algorithm_of(&jwk)?;
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(VerificationKey {
        kid: jwk.common.key_id.clone(),
        algorithm,
        key,
    })
}

/// The key's declared algorithm, or the one its type implies; `None` when the
/// declared algorithm and the key type disagree.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let implied = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(implied),
        Some(declared) => {
            let declared: Algorithm = declared.to_string().parse().ok()?;
            (declared == implied && ASYMMETRIC.contains(&declared)).then_some(declared)
        }
    }
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
        assert!(matches!(set(&[oct]), Err(KeySetError::NoUsableKey)));
        assert!(matches!(set(&[&enc]), Err(KeySetError::NoUsableKey)));
        assert_eq!(set(&[oct, EC_KEY]).unwrap().len(), 1);
    }

    #[test]
    fn a_key_declaring_another_algorithm_than_its_type_is_ignored() {
        let lying = EC_KEY.replace("ES256", "RS256");
        assert!(matches!(set(&[&lying]), Err(KeySetError::NoUsableKey)));
    }

    #[test]
    fn a_document_that_is_not_a_key_set_is_refused() {
        assert!(matches!(
            KeySet::from_json(b"{\"nokeys\":1}"),
            Err(KeySetError::Shape(_))
        ));
    }
}
