//! The use-case every entry point shares: apply one verified delivery to the mirror.
//!
//! HTTP handlers and CLI commands both come through here, so the rules about
//! time budgets and what gets logged live in one place.

use crate::events::{Delivery, UserChange};
use crate::mirror::{DeleteMode, Outcome};
use crate::storage::{GroupCommit, Request, Storage, StorageError};
use chrono::Utc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long one delivery may take in the database. Supabase gives the whole hook
/// call 5 seconds, retries included, and retries a 503 with `Retry-After` at once:
/// at 1.5 s an attempt, three attempts fit.
pub const APPLY_DEADLINE: Duration = Duration::from_millis(1500);

/// Transactions applying deliveries at once. A few writers keep a small database busy;
/// more deliveries than that wait and then share a transaction (group commit).
pub const WRITERS: usize = 4;

/// The current time at the precision the databases keep.
fn now() -> chrono::DateTime<Utc> {
    crate::events::to_micros(Utc::now())
}

/// Applies deliveries to the mirror.
#[derive(Clone)]
pub struct Sync {
    storage: Storage,
    on_delete: DeleteMode,
    /// Started on first use, inside the runtime.
    writer: Arc<OnceLock<GroupCommit>>,
}

impl Sync {
    /// A use-case over this storage; users removed upstream are kept marked deleted.
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            on_delete: DeleteMode::Soft,
            writer: Arc::default(),
        }
    }

    /// The same use-case, treating users removed upstream per `mode` (`SUPAHOOK_ON_DELETE`).
    pub fn with_delete_mode(self, mode: DeleteMode) -> Self {
        Self {
            on_delete: mode,
            writer: Arc::default(),
            ..self
        }
    }

    /// The storage it writes to.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Applies one change found by reconciliation; with `dry_run` nothing is written.
    pub async fn reconcile(
        &self,
        change: &UserChange,
        dry_run: bool,
    ) -> Result<Outcome, StorageError> {
        let request = Request {
            change,
            ledger: None,
        };
        let applied = self
            .storage
            .batch(&[request], self.on_delete, now(), !dry_run)
            .await?;
        Ok(applied.first().map_or(Outcome::Skipped, |a| a.outcome))
    }

    /// Records and applies one delivery, exactly once per idempotency key.
    pub async fn apply(&self, delivery: &Delivery) -> Result<Outcome, StorageError> {
        let started = Instant::now();
        let result = match tokio::time::timeout(APPLY_DEADLINE, self.write(delivery)).await {
            Ok(result) => result,
            Err(_) => Err(StorageError::Unavailable(format!(
                "the database did not answer within {} s",
                APPLY_DEADLINE.as_secs_f32()
            ))),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let user_id = delivery.change.user_id().map(|id| id.to_string());
        match &result {
            Ok(outcome) => tracing::info!(
                hook = delivery.hook.as_str(),
                user_id,
                outcome = outcome.as_str(),
                duration_ms,
                "delivery applied"
            ),
            Err(_) => tracing::debug!(
                hook = delivery.hook.as_str(),
                user_id,
                duration_ms,
                "delivery failed"
            ),
        }
        result
    }

    async fn write(&self, delivery: &Delivery) -> Result<Outcome, StorageError> {
        if let UserChange::Skip(_) = delivery.change {
            return Ok(Outcome::Skipped);
        }
        let writer = self
            .writer
            .get_or_init(|| GroupCommit::start(self.storage.clone(), self.on_delete, WRITERS));
        Ok(writer.apply(delivery.clone()).await?.outcome)
    }
}
