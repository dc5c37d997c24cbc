//! The claims custom-access-token answers with: Supabase's, changed by the project's
//! own access-token hook when one is chained behind supahook
//! (`SUPAHOOK_ACCESS_TOKEN_CHAIN`), with supahook's own claims added (the profile claim,
//! the claims query's). What the hook and the queries give for a user is kept per user
//! for `SUPAHOOK_TOKEN_CLAIMS_TTL` (see [`cache`]), so a refresh answered from it costs
//! no database work.
//!
//! A chained hook answers as it would have answered Supabase Auth: its claims are
//! checked as Supabase checks them, and its `error` is passed on. When it cannot be
//! reached or answers what Supabase would refuse, `SUPAHOOK_ACCESS_TOKEN_CHAIN_ON_FAILURE`
//! decides: `closed` answers with the failure, `open` lets the claims go on without it.
//! A claims query that fails is treated the same way; one the database cannot answer
//! is treated like the profile claim (see [`Mirroring::profile_claim`]).

mod answer;
mod cache;
mod chain;
mod merge;
mod profile;
mod schema;
mod splice;
mod webhook;

pub use answer::Refusal;

use crate::config::{ClaimsQuery, OnClaimsFailure, TokenClaimsSettings};
use crate::events::ParseError;
use crate::mirror::Outcome;
use crate::mirroring::{Handled, Mirroring};
use crate::storage::{Backend, ChangeNotice, Database, StorageError};
use answer::Reply;
use cache::ClaimsCache;
use chain::{Chained, Failure};
use merge::{Additions, ChainDelta};
use serde_json::{Map, Value};
use splice::Prepared;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// What custom-access-token answers Supabase Auth.
#[derive(Debug)]
pub enum TokenAnswer {
    /// The claims to sign, as JSON text.
    Claims(String),
    /// A refusal, passed on in Supabase's form (a 200 answer with an `error` object).
    Refused(Refusal),
}

/// Why custom-access-token could not answer.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The database could not give what the claims need.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The token's claims are not a JSON object.
    #[error(transparent)]
    Claims(#[from] ParseError),
}

/// Computes, keeps and applies what custom-access-token adds to the claims.
pub struct TokenClaims {
    mirroring: Mirroring,
    profile_claim: Option<String>,
    query: Option<ClaimsQuery>,
    chain: Option<Chained>,
    on_failure: OnClaimsFailure,
    cache: ClaimsCache,
}

/// The claims computed for one token, and whether they may be kept for the user.
struct Computed {
    additions: Additions,
    keep: bool,
}

impl TokenClaims {
    /// From the settings, over the mirroring use-case and the mirror database `about`:
    /// a `pg-functions://` hook must be in that database (named `postgres`, as Supabase
    /// writes it, or by its own name) on PostgreSQL.
    pub fn new(
        settings: &TokenClaimsSettings,
        mirroring: Mirroring,
        about: &Database,
    ) -> Result<Self, String> {
        let chain = match &settings.chain {
            None => None,
            Some(chain) => Some(Chained::new(chain, about)?),
        };
        Ok(Self {
            mirroring,
            profile_claim: settings.profile_claim.clone(),
            query: settings.query.clone(),
            chain,
            on_failure: settings.on_failure,
            cache: ClaimsCache::new(settings.ttl),
        })
    }

    /// Whether anything is added or chained; when not, the claims go back byte for byte.
    pub fn is_on(&self) -> bool {
        self.profile_claim.is_some() || self.query.is_some() || self.chain.is_some()
    }

    /// Drops what is kept for the user, whose profile was just edited here.
    pub fn forget(&self, id: Uuid) {
        self.cache.forget(id);
    }

    /// What the change and claims listeners tell the cache.
    pub fn listener(self: &Arc<Self>) -> Arc<dyn Fn(ChangeNotice) + Send + Sync> {
        let this = self.clone();
        Arc::new(move |notice| this.cache.notice(notice))
    }

    /// The answer to the custom-access-token delivery `event` (its raw body) about
    /// `user`, with the event's `claims` (their JSON text), after mirroring it came to
    /// `handled`; `started` is when the delivery began, for its database budget.
    pub async fn answer(
        &self,
        user: Uuid,
        event: &[u8],
        claims: &str,
        handled: Handled,
        started: Instant,
    ) -> Result<TokenAnswer, AnswerError> {
        if matches!(
            handled,
            Handled::Applied(Outcome::Created | Outcome::Updated)
        ) {
            // The identity changed: so may whatever was computed from it.
            self.cache.forget(user);
        }
        let prepared = match self.cache.get(user) {
            Some(kept) => {
                crate::telemetry::token_claims_cache(true);
                kept
            }
            None => {
                crate::telemetry::token_claims_cache(false);
                let epoch = self.cache.epoch();
                let read = splice::read(claims)?;
                let computed = match self.compute(user, event, &read, handled, started).await? {
                    Ok(computed) => computed,
                    Err(refusal) => return Ok(TokenAnswer::Refused(refusal)),
                };
                let prepared = Arc::new(Prepared::new(computed.additions));
                if computed.keep {
                    self.cache.put(user, epoch, prepared.clone());
                }
                prepared
            }
        };
        Ok(TokenAnswer::Claims(prepared.apply(claims)?))
    }

    /// Calls the chained hook and runs supahook's own queries for one token.
    async fn compute(
        &self,
        user: Uuid,
        event: &[u8],
        claims: &Map<String, Value>,
        handled: Handled,
        started: Instant,
    ) -> Result<Result<Computed, Refusal>, StorageError> {
        let mut computed = Computed {
            additions: Additions::default(),
            keep: true,
        };
        if let Some(chained) = &self.chain {
            match chained.call(&self.mirroring, event, handled).await {
                Ok(Reply::Claims(answered)) => {
                    let delta = ChainDelta::between(claims, &answered);
                    computed.keep = !delta.per_token();
                    computed.additions.chain = Some(delta);
                }
                Ok(Reply::Refused(refusal)) => return Ok(Err(refusal)),
                Err(failure) => match self.failed("chain", failure) {
                    Some(refusal) => return Ok(Err(refusal)),
                    None => computed.keep = false,
                },
            }
        }
        let spooled = handled == Handled::Spooled;
        if let Some(name) = self.profile_claim.as_ref().filter(|_| !spooled) {
            match self.mirroring.profile_claim(user, started).await? {
                Some(found) => computed
                    .additions
                    .own
                    .push((name.clone(), profile::value(&found))),
                None => computed.keep = false,
            }
        }
        if let Some(query) = self.query.as_ref().filter(|_| !spooled) {
            match self.run_query(query, user).await? {
                Ok(Some(value)) => computed.additions.own.push((query.claim.clone(), value)),
                Ok(None) => {}
                Err(failure) => match self.failed("query", failure) {
                    Some(refusal) => return Ok(Err(refusal)),
                    None => computed.keep = false,
                },
            }
        }
        if spooled && (self.profile_claim.is_some() || self.query.is_some()) {
            computed.keep = false;
        }
        Ok(Ok(computed))
    }

    /// The claims query's value; a database that cannot answer is an `Err` of the
    /// outer result in `closed` store mode (as for the profile claim) and no value in
    /// `open` mode; any other failure is the inner `Err`.
    async fn run_query(
        &self,
        query: &ClaimsQuery,
        user: Uuid,
    ) -> Result<Result<Option<Value>, Failure>, StorageError> {
        let storage = self.mirroring.storage();
        let ran = storage
            .claims_query(&query.sql, user, self.mirroring.budget())
            .await;
        match ran {
            Ok(value) => Ok(Ok(value)),
            Err(StorageError::Unavailable(reason)) if self.mirroring.spool().is_none() => {
                Err(StorageError::Unavailable(reason))
            }
            Err(StorageError::Unavailable(_)) => Ok(Ok(None)),
            Err(error) => Ok(Err(Failure::Broken(format!(
                "the claims query failed: {}",
                crate::infra::error_chain::describe(&error)
            )))),
        }
    }

    /// Logs and counts a failure of `source`; in `closed` mode, the refusal to answer with.
    fn failed(&self, source: &'static str, failure: Failure) -> Option<Refusal> {
        let policy = self.on_failure.as_str();
        let refusal = failure.refusal(source);
        tracing::warn!(
            source,
            policy,
            reason = refusal.message,
            "the token's claims could not be completed"
        );
        crate::telemetry::token_claims_failed(source, policy);
        match self.on_failure {
            OnClaimsFailure::Closed => Some(refusal),
            OnClaimsFailure::Open => None,
        }
    }
}
