use super::*;
use jsonwebtoken::{EncodingKey, Header, encode};
use secrecy::SecretString;
use serde_json::json;

const SECRET: &str = "a-test-secret-of-at-least-32-characters!";

fn settings() -> JwtSettings {
    JwtSettings {
        secret: Some(SecretString::from(SECRET)),
        audiences: vec!["authenticated".into()],
        ..JwtSettings::default()
    }
}

fn verifier(settings: &JwtSettings) -> TokenVerifier {
    TokenVerifier::new(settings, MIN_INTERVAL).unwrap().unwrap()
}

fn claims(aud: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14", "aud": aud, "iat": now, "exp": now + 3600,
           "iss": "https://ref.supabase.co/auth/v1"})
}

fn hs256(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn a_valid_hs256_token_gives_its_claims_and_a_stable_digest() {
    let token = hs256(&claims(json!("authenticated")), SECRET);

    let first = verifier(&settings()).verify(&token).await.unwrap();
    let again = verifier(&settings()).verify(&token).await.unwrap();

    assert_eq!(
        first.claims()["sub"],
        "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14"
    );
    assert_eq!(first.digest(), again.digest());
    assert_eq!(first.digest().len(), 64);
}

#[tokio::test]
async fn an_audience_array_holding_an_accepted_audience_is_accepted() {
    let token = hs256(&claims(json!(["other", "authenticated"])), SECRET);

    assert!(verifier(&settings()).verify(&token).await.is_ok());
}

#[tokio::test]
async fn expired_wrong_audience_and_wrong_secret_tokens_are_refused() {
    let mut expired = claims(json!("authenticated"));
    expired["exp"] = json!(chrono::Utc::now().timestamp() - LEEWAY_SECONDS as i64 - 5);
    let v = verifier(&settings());

    let cases = [
        (hs256(&expired, SECRET), TokenError::Expired),
        (
            hs256(&claims(json!("anon")), SECRET),
            TokenError::WrongAudience,
        ),
        (
            hs256(
                &claims(json!("authenticated")),
                "another-secret-of-at-least-32-chars!!",
            ),
            TokenError::BadSignature,
        ),
        ("not.a.jwt".to_owned(), TokenError::Malformed),
    ];
    for (token, expected) in cases {
        assert_eq!(v.verify(&token).await.unwrap_err(), expected);
    }
}

#[tokio::test]
async fn a_token_without_aud_or_exp_is_refused() {
    for missing in ["aud", "exp", "sub"] {
        let mut c = claims(json!("authenticated"));
        c.as_object_mut().unwrap().remove(missing);

        let error = verifier(&settings()).verify(&hs256(&c, SECRET)).await;

        assert_eq!(error.unwrap_err(), TokenError::MissingClaim(missing.into()));
    }
}

#[tokio::test]
async fn the_issuer_is_checked_when_one_is_set_or_told_by_the_key_set_url() {
    let mut with_issuer = settings();
    with_issuer.issuer = Some("https://ref.supabase.co/auth/v1".into());
    let with_jwks = JwtSettings {
        jwks_url: Some("https://ref.supabase.co/auth/v1/.well-known/jwks.json".into()),
        ..settings()
    };
    let mut other = claims(json!("authenticated"));
    other["iss"] = json!("https://evil.example/auth/v1");
    let mut without = claims(json!("authenticated"));
    without.as_object_mut().unwrap().remove("iss");

    for settings in [with_issuer, with_jwks] {
        let v = verifier(&settings);

        let good = hs256(&claims(json!("authenticated")), SECRET);
        assert!(v.verify(&good).await.is_ok(), "{settings:?}");
        assert_eq!(
            v.verify(&hs256(&other, SECRET)).await.unwrap_err(),
            TokenError::WrongIssuer
        );
        assert_eq!(
            v.verify(&hs256(&without, SECRET)).await.unwrap_err(),
            TokenError::MissingClaim("iss".into())
        );
    }
}

#[tokio::test]
async fn alg_none_is_refused() {
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64url(claims(json!("authenticated")).to_string().as_bytes());

    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert_eq!(
            verifier(&settings()).verify(&token).await.unwrap_err(),
            TokenError::Malformed
        );
    }
}

#[tokio::test]
async fn an_hs256_token_is_refused_when_only_keys_are_configured() {
    // Algorithm confusion: an attacker signs HS256 with the public key as the secret.
    let public_x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    let jwks = format!(
        r#"{{"keys":[{{"kty":"EC","crv":"P-256","alg":"ES256","kid":"k1","x":"{public_x}","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}}]}}"#
    );
    let keys_only = JwtSettings {
        jwks_file: Some(KeySet::from_json(jwks.as_bytes()).unwrap()),
        audiences: vec!["authenticated".into()],
        ..JwtSettings::default()
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let key = EncodingKey::from_secret(jwks.as_bytes()).unwrap();
    let token = encode(&header, &claims(json!("authenticated")), &key).unwrap();

    let error = verifier(&keys_only).verify(&token).await.unwrap_err();

    assert_eq!(error, TokenError::HmacNotAccepted);
}

#[test]
fn nothing_configured_gives_no_verifier() {
    let none = JwtSettings {
        audiences: vec!["authenticated".into()],
        ..JwtSettings::default()
    };

    assert!(TokenVerifier::new(&none, MIN_INTERVAL).unwrap().is_none());
}
