//! Access tokens for tests: signed with a test HS256 secret, or with RSA, EC and
//! Ed25519 keys generated in the test and published as a JWKS over HTTP.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use p256::elliptic_curve::Generate;
use p256::pkcs8::EncodePrivateKey;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Json;
use poem::{EndpointExt, Route, Server, handler};
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// The HS256 secret the test app accepts.
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef-0123456789";

/// A private key made for one test, and its public half as a JWK.
pub struct TestKey {
    pub kid: String,
    pub algorithm: Algorithm,
    encoding: EncodingKey,
    pub jwk: Value,
}

impl TestKey {
    /// A new P-256 key for ES256.
    pub fn es256(kid: &str) -> Self {
        let secret = p256::SecretKey::generate();
        let der = secret.to_pkcs8_der().expect("encode the EC key");
        Self::new(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_der(der.as_bytes()),
        )
    }

    /// A new 2048-bit RSA key for RS256.
    pub fn rs256(kid: &str) -> Self {
        Self::rsa(&[(kid, Algorithm::RS256)]).remove(0)
    }

    /// One new 2048-bit RSA key, published once per (kid, algorithm): RS256 to PS512.
    pub fn rsa(uses: &[(&str, Algorithm)]) -> Vec<Self> {
        let private = rsa::PrivateKey::generate();
        let der = private.to_pkcs1_der().expect("encode the RSA key");
        uses.iter()
            .map(|(kid, algorithm)| {
                Self::new(kid, *algorithm, EncodingKey::from_rsa_der(der.as_bytes()))
            })
            .collect()
    }

    /// A new P-384 key for ES384.
    pub fn es384(kid: &str) -> Self {
        let secret = p384::SecretKey::generate();
        let der = secret.to_pkcs8_der().expect("encode the EC key");
        Self::new(
            kid,
            Algorithm::ES384,
            EncodingKey::from_ec_der(der.as_bytes()),
        )
    }

    /// A new Ed25519 key for EdDSA: 32 random bytes, in PKCS#8 v1 form.
    pub fn ed25519(kid: &str) -> Self {
        // The DER header of a PKCS#8 v1 Ed25519 private key (RFC 8410), then the seed.
        let mut der = hex_bytes("302e020100300506032b657004220420");
        der.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        der.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self::new(kid, Algorithm::EdDSA, EncodingKey::from_ed_der(&der))
    }

    fn new(kid: &str, algorithm: Algorithm, encoding: EncodingKey) -> Self {
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).expect("the public JWK");
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            algorithm,
            encoding,
            jwk: serde_json::to_value(jwk).unwrap(),
        }
    }

    /// `claims` signed with this key, naming its kid.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.encoding).expect("sign the token")
    }
}

/// `claims` signed with HS256 and `secret`.
pub fn hs256(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
}

/// The issuer of [`claims`]: a hosted project's Auth API.
pub const HOSTED_ISSUER: &str = "https://project-ref.supabase.co/auth/v1";

/// The claims Supabase Auth puts in an access token, issued now and valid for an hour.
pub fn claims(user_id: &str, email: &str) -> Value {
    claims_from(HOSTED_ISSUER, user_id, email)
}

/// [`claims`] from the Auth API at `issuer`.
pub fn claims_from(issuer: &str, user_id: &str, email: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": issuer,
        "sub": user_id,
        "aud": "authenticated",
        "exp": now + 3600,
        "iat": now,
        "email": email,
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {"first_name": "Grace", "last_name": "Hopper", "avatar_url": "https://cdn.example.com/grace.png"},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": uuid::Uuid::new_v4().to_string(),
        "is_anonymous": false
    })
}

/// A JWKS served over HTTP on a free local port, where a local Supabase serves it;
/// keys can be published while it runs, and it counts how often it was fetched.
pub struct JwksServer {
    pub url: String,
    /// The Auth API the URL belongs to: the `iss` its tokens carry.
    pub issuer: String,
    keys: Arc<RwLock<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Published {
    keys: Arc<RwLock<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

#[handler]
fn serve_jwks(published: poem::web::Data<&Published>) -> Json<Value> {
    published.fetches.fetch_add(1, Ordering::SeqCst);
    Json(json!({"keys": *published.keys.read().unwrap()}))
}

impl JwksServer {
    /// Serves the public keys of `keys`.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let published = Published {
            keys: Arc::new(RwLock::new(keys.iter().map(|k| k.jwk.clone()).collect())),
            fetches: Arc::default(),
        };
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind a port for the JWKS");
        let addr = acceptor.local_addr()[0]
            .as_socket_addr()
            .copied()
            .expect("a TCP address");
        let app = Route::new()
            .at("/auth/v1/.well-known/jwks.json", serve_jwks)
            .data(published.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self {
            url: format!("http://{addr}/auth/v1/.well-known/jwks.json"),
            issuer: format!("http://{addr}/auth/v1"),
            keys: published.keys,
            fetches: published.fetches,
        }
    }

    /// The claims this Auth API puts in an access token ([`claims`] with its `iss`).
    pub fn claims(&self, user_id: &str, email: &str) -> Value {
        claims_from(&self.issuer, user_id, email)
    }

    /// Adds a key to the published set (a key rotation upstream).
    pub fn publish(&self, key: &TestKey) {
        self.publish_jwk(key.jwk.clone());
    }

    /// Adds a JWK, as it is, to the published set.
    pub fn publish_jwk(&self, jwk: Value) {
        self.keys.write().unwrap().push(jwk);
    }

    /// How many times the set was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
