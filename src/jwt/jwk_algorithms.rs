//! Which signature algorithms one published key (JWK) may verify.
//!
//! Supabase Auth signs access tokens with RS256, RS384, RS512, PS256, PS384, PS512,
//! ES256, ES384, ES512 or EdDSA, as the project's signing key says (its
//! `internal/conf/jwk.go`). The JWT library verifies all of them but ES512 (P-521).
//! A key verifies only the algorithms of its type: an RSA key the RSA ones, a P-256
//! key ES256, a P-384 key ES384, an Ed25519 key EdDSA. A key that declares its
//! algorithm (`alg`, as Supabase's keys do) verifies that one alone; a key without one
//! verifies every algorithm of its type.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, AlgorithmFamily};

/// Whether tokens of `algorithm` are verified with a key of a set: every algorithm the
/// JWT library knows but the HMAC ones.
pub fn is_asymmetric(algorithm: Algorithm) -> bool {
    algorithm.family() != AlgorithmFamily::Hmac
}

/// The algorithms `jwk` may verify, or why it verifies none.
pub(super) fn algorithms_of(jwk: &Jwk) -> Result<Vec<Algorithm>, &'static str> {
    let of_type: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa.algorithms(),
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            EllipticCurve::P521 => return Err("ES512 (P-521) is not supported"),
            _ => return Err("an EC key on a curve other than P-256 or P-384"),
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            &[Algorithm::EdDSA]
        }
        AlgorithmParameters::OctetKeyPair(_) => {
            return Err("an OKP key on a curve other than Ed25519");
        }
        AlgorithmParameters::OctetKey(_) => {
            return Err("a symmetric key, which anyone who can read the set could sign with");
        }
        _ => return Err("a key type the JWT library does not know"),
    };
    let Some(declared) = jwk.common.key_algorithm else {
        return Ok(of_type.to_vec());
    };
    match declared.to_string().parse::<Algorithm>() {
        Ok(declared) if of_type.contains(&declared) => Ok(vec![declared]),
        _ => Err("its alg does not fit its key type"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(text: &str) -> Jwk {
        serde_json::from_str(text).unwrap()
    }

    const P256: &str = r#""kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0""#;
    const RSA_KEY: &str = r#""kty":"RSA","n":"sXch","e":"AQAB""#;
    const ED25519: &str =
        r#""kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo""#;

    #[test]
    fn a_declared_algorithm_is_the_only_one() {
        let declared =
            |key: &str, alg: &str| algorithms_of(&jwk(&format!(r#"{{{key},"alg":"{alg}"}}"#)));

        assert_eq!(declared(RSA_KEY, "PS384"), Ok(vec![Algorithm::PS384]));
        assert_eq!(declared(P256, "ES256"), Ok(vec![Algorithm::ES256]));
        assert_eq!(declared(ED25519, "EdDSA"), Ok(vec![Algorithm::EdDSA]));
        assert!(declared(P256, "RS256").is_err());
        assert!(declared(RSA_KEY, "ES256").is_err());
        assert!(declared(RSA_KEY, "HS256").is_err());
    }

    #[test]
    fn a_key_without_alg_verifies_the_algorithms_of_its_type() {
        let plain = |key: &str| algorithms_of(&jwk(&format!("{{{key}}}")));

        assert_eq!(
            plain(RSA_KEY),
            Ok(AlgorithmFamily::Rsa.algorithms().to_vec())
        );
        assert_eq!(plain(P256), Ok(vec![Algorithm::ES256]));
        assert_eq!(plain(ED25519), Ok(vec![Algorithm::EdDSA]));
    }

    #[test]
    fn p521_and_symmetric_keys_verify_nothing() {
        let p521 = P256.replace("P-256", "P-521");
        let oct = r#""kty":"oct","k":"c2VjcmV0""#;

        assert_eq!(
            algorithms_of(&jwk(&format!("{{{p521}}}"))),
            Err("ES512 (P-521) is not supported")
        );
        assert!(algorithms_of(&jwk(&format!(r#"{{{oct},"alg":"HS256"}}"#))).is_err());
    }
}
