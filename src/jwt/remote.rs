//! The project's JWKS fetched over HTTPS (plain HTTP only from a loopback host, as
//! the settings allow), cached, and fetched again when it grows old or a token names a
//! key it does not hold. Redirects are not followed.
//!
//! The key set is fetched at most once per [`RemoteKeys::min_interval`], however many
//! tokens with unknown `kid`s arrive, so forged key ids cannot make supahook hammer the
//! key endpoint. A token whose `kid` the set does not hold while that limit holds (a
//! key rotated in moments after the last fetch) waits for the next allowed fetch and
//! is checked against what it brings, never waiting more than [`MAX_WAIT`] in all;
//! requests waiting together share that one fetch, and a request never waits for a
//! second one. Waiting costs no work: only the sync endpoint verifies access tokens,
//! no Supabase hook does. A failed fetch keeps the keys already known.

use super::TokenError;
use super::keys::{IgnoredKey, KeySet, VerificationKey};
use jsonwebtoken::Algorithm;
use std::sync::RwLock;
use std::time::Duration;
use tokio::time::Instant;

/// How long one fetch of the key set may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long fetched keys are used before they are fetched again.
pub const MAX_AGE: Duration = Duration::from_secs(600);
/// The least time between two fetches.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5);
/// The longest a token waits for the key set: the rate limit and the fetch together.
pub const MAX_WAIT: Duration = Duration::from_secs(5);
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
    /// How many fetches have ended, well or not.
    attempts: u64,
    /// The ignored keys already reported, so that each refetch does not repeat them.
    reported: Vec<IgnoredKey>,
}

impl Cache {
    fn fresh(&self) -> bool {
        self.fetched_at.is_some_and(|t| t.elapsed() < MAX_AGE)
    }

    /// When a request that the fresh set could not answer, and that began after `seen`
    /// fetches had ended, should fetch; `None` when it should answer from what is known.
    fn next_fetch(&self, min_interval: Duration, seen: u64, holds_key: bool) -> Option<Instant> {
        let allowed = self.attempted_at.map(|t| t + min_interval);
        match allowed {
            None => Some(Instant::now()),
            // A fetch ended while this request waited its turn: its keys are the answer.
            Some(_) if self.attempts != seen => None,
            Some(at) if at <= Instant::now() => Some(at),
            // An old set that holds the key serves until a fetch is allowed.
            Some(_) if holds_key => None,
            Some(at) => Some(at),
        }
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
    /// set first when it is old or does not hold `kid` (at most once per interval,
    /// waiting for the next allowed fetch for at most [`MAX_WAIT`]).
    pub async fn candidates(
        &self,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<Vec<VerificationKey>, TokenError> {
        if let Some(found) = self.fresh(kid, algorithm) {
            return Ok(found);
        }
        let deadline = Instant::now() + MAX_WAIT;
        let seen = self.read().attempts;
        let Ok(_turn) = tokio::time::timeout_at(deadline, self.fetching.lock()).await else {
            return self.known(kid, algorithm);
        };
        // Another request may have fetched while this one waited.
        if let Some(found) = self.fresh(kid, algorithm) {
            return Ok(found);
        }
        let next = {
            let cache = self.read();
            // A kid the set holds for another algorithm is no key a fetch would bring.
            let holds_key =
                !cache.keys.candidates(kid, algorithm).is_empty() || cache.keys.names(kid);
            cache.next_fetch(self.min_interval, seen, holds_key)
        };
        if let Some(at) = next.filter(|at| *at < deadline) {
            tokio::time::sleep_until(at).await;
            self.refetch(deadline).await;
        }
        self.known(kid, algorithm)
    }

    /// Fetches the set, giving up at `deadline`, and keeps what it brings.
    async fn refetch(&self, deadline: Instant) {
        self.write().attempted_at = Some(Instant::now());
        let fetched = match tokio::time::timeout_at(deadline, self.fetch()).await {
            Ok(fetched) => fetched,
            Err(_) => Err(format!(
                "no answer within the {} s a token may wait",
                MAX_WAIT.as_secs()
            )),
        };
        let mut cache = self.write();
        cache.attempts += 1;
        match fetched {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "fetched the JSON Web Key Set");
                keys.report_ignored(&cache.reported);
                cache.reported = keys.ignored().to_vec();
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
            }
            Err(reason) => {
                tracing::warn!(reason = %reason, "could not fetch the JSON Web Key Set")
            }
        }
    }

    /// What the known set holds for the token; unavailable before the first fetch.
    fn known(
        &self,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<Vec<VerificationKey>, TokenError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(5);

    fn fetched(ago: Duration) -> Cache {
        Cache {
            attempted_at: Some(Instant::now() - ago),
            attempts: 1,
            ..Cache::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_request_fetches_at_once() {
        let now = Instant::now();
        assert_eq!(Cache::default().next_fetch(INTERVAL, 0, false), Some(now));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_kid_within_the_interval_waits_for_its_end() {
        let cache = fetched(Duration::from_secs(1));
        let at = cache.next_fetch(INTERVAL, 1, false).unwrap();
        assert_eq!(at - Instant::now(), Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_that_saw_a_fetch_end_while_it_waited_fetches_no_more() {
        let cache = fetched(Duration::from_secs(1));
        assert_eq!(cache.next_fetch(INTERVAL, 0, false), None);
        assert_eq!(
            fetched(Duration::from_secs(9)).next_fetch(INTERVAL, 0, false),
            None
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_old_set_holding_the_key_serves_until_a_fetch_is_allowed() {
        assert_eq!(
            fetched(Duration::from_secs(1)).next_fetch(INTERVAL, 1, true),
            None
        );
        let late = fetched(Duration::from_secs(6));
        assert!(late.next_fetch(INTERVAL, 1, true).unwrap() <= Instant::now());
    }
}
