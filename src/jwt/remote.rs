//! The project's JWKS fetched over HTTPS (plain HTTP only from a loopback host, as
//! the settings allow), cached, and fetched again when it grows old or a token names a
//! key it does not hold. Redirects are not followed.
//!
//! A token with an unknown `kid` costs at most one fetch per [`RemoteKeys::min_interval`],
//! however many such tokens arrive, so forged key ids cannot make supahook hammer the
//! key endpoint. A failed fetch keeps the keys already known.

use super::TokenError;
use super::keys::{KeySet, VerificationKey};
use jsonwebtoken::Algorithm;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How long one fetch of the key set may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long fetched keys are used before they are fetched again.
pub const MAX_AGE: Duration = Duration::from_secs(600);
/// The least time between two fetches.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5);
/// The largest key set document read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// A key set at a URL, cached in memory.
pub struct RemoteKeys {
    url: String,
    client: reqwest::Client,
    min_interval: Duration,
    cache: RwLock<Cache>,
    /// Held while fetching, so concurrent requests wait for one fetch instead of each making one.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cache {
    keys: KeySet,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

impl Cache {
    fn fresh(&self) -> bool {
        self.fetched_at.is_some_and(|t| t.elapsed() < MAX_AGE)
    }

    fn may_fetch(&self, min_interval: Duration) -> bool {
        self.attempted_at
            .is_none_or(|t| t.elapsed() >= min_interval)
    }
}

impl RemoteKeys {
    /// Keys from `url`, fetched on first use; `min_interval` is [`MIN_INTERVAL`] outside tests.
    pub fn new(url: String, min_interval: Duration) -> Result<Self, String> {
        Ok(Self {
            url,
            client: crate::infra::urls::client(FETCH_TIMEOUT)?,
            min_interval,
            cache: RwLock::default(),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The keys that may verify a token of `algorithm` naming `kid`, fetching the
    /// set first when it is old or does not hold `kid` (at most once per interval).
    pub async fn candidates(
        &self,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<Vec<VerificationKey>, TokenError> {
        if let Some(found) = self.fresh(kid, algorithm) {
            return Ok(found);
        }
        let _turn = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(found) = self.fresh(kid, algorithm) {
            return Ok(found);
        }
        let may_fetch = self.read().may_fetch(self.min_interval);
        if may_fetch {
            self.write().attempted_at = Some(Instant::now());
            match self.fetch().await {
                Ok(keys) => {
                    tracing::info!(keys = keys.len(), "fetched the JSON Web Key Set");
                    let mut cache = self.write();
                    cache.keys = keys;
                    cache.fetched_at = Some(Instant::now());
                }
                Err(reason) => {
                    tracing::warn!(reason = %reason, "could not fetch the JSON Web Key Set")
                }
            }
        }
        let cache = self.read();
        if cache.fetched_at.is_none() {
            return Err(TokenError::KeysUnavailable);
        }
        Ok(cache.keys.candidates(kid, algorithm))
    }

    /// Known keys for the token, when the set is fresh and holds one.
    fn fresh(&self, kid: Option<&str>, algorithm: Algorithm) -> Option<Vec<VerificationKey>> {
        let cache = self.read();
        if !cache.fresh() {
            return None;
        }
        Some(cache.keys.candidates(kid, algorithm)).filter(|found| !found.is_empty())
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        if status.is_redirection() {
            return Err(format!(
                "the key endpoint answered {status}, a redirect, which is not followed: \
                 set SUPAHOOK_JWKS_URL to where the keys are"
            ));
        }
        if !status.is_success() {
            return Err(format!("the key endpoint answered {status}"));
        }
        let body = crate::infra::urls::read_body(response, MAX_DOCUMENT_BYTES)
            .await
            .map_err(|e| format!("the key set: {e}"))?;
        KeySet::from_json(&body).map_err(|e| e.to_string())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
