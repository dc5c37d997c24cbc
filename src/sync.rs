//! The use-case every entry point shares: apply one verified delivery to the mirror.
//!
//! HTTP handlers and CLI commands both come through here, so the rules about
//! time budgets and what gets logged live in one place.

mod fast_path;

use crate::events::{Delivery, HookKind, UserChange};
use crate::mirror::{DeleteMode, Outcome};
use crate::storage::{GroupCommit, Request, Storage, StorageError};
use chrono::Utc;
use fast_path::FastPath;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long one delivery may take in the database. Supabase gives the whole hook
/// call 5 seconds, retries included, and retries a 503 with `Retry-After` at once:
/// at 1.5 s an attempt, three attempts fit.
pub const APPLY_DEADLINE: Duration = Duration::from_millis(1500);

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
    fast: Arc<FastPath>,
}

impl Sync {
    /// A use-case over this storage; users removed upstream are kept marked deleted.
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            on_delete: DeleteMode::Soft,
            writer: Arc::default(),
            fast: Arc::default(),
        }
    }

    /// The same use-case, treating users removed upstream per `mode` (`SUPAHOOK_ON_DELETE`).
    pub fn with_delete_mode(self, mode: DeleteMode) -> Self {
        Self {
            on_delete: mode,
            ..Self::new(self.storage)
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
        let id = match &delivery.change {
            UserChange::Skip(_) => return Ok(Outcome::Skipped),
            UserChange::Upsert(record) if delivery.hook == HookKind::CustomAccessToken => {
                if let Some(outcome) = self.fast.answer(record, &delivery.idempotency_key) {
                    return Ok(outcome);
                }
                record.id
            }
            UserChange::Upsert(record) => record.id,
            UserChange::Delete(deletion) => deletion.id,
        };
        let writer = self.writer.get_or_init(|| self.start());
        let generation = self.fast.generation();
        let applied = writer.apply(delivery.clone()).await?;
        let key = &delivery.idempotency_key;
        self.fast
            .remember(generation, id, applied.user.as_ref(), key);
        Ok(applied.outcome)
    }

    /// Starts the writers, the change listener and the flushing of skipped tokens.
    fn start(&self) -> GroupCommit {
        let fast = self.fast.clone();
        self.storage
            .watch_changes(Arc::new(move |notice| fast.notice(notice)));
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(fast_path::FLUSH_EVERY).await;
                this.flush().await;
            }
        });
        GroupCommit::start(self.storage.clone(), self.on_delete, self.storage.writers())
    }

    /// Writes the tokens the fast path answered without the database (their version
    /// moves), now. Runs every second and at shutdown; kept for later on failure.
    pub async fn flush(&self) {
        let skipped = self.fast.take_skipped();
        for chunk in skipped.chunks(crate::storage::MAX_BATCH) {
            let changes: Vec<UserChange> = chunk
                .iter()
                .map(|record| UserChange::Upsert(Box::new(record.clone())))
                .collect();
            let requests: Vec<Request<'_>> = changes
                .iter()
                .map(|change| Request {
                    change,
                    ledger: None,
                })
                .collect();
            let generation = self.fast.generation();
            match self
                .storage
                .batch(&requests, self.on_delete, now(), true)
                .await
            {
                Ok(applied) => {
                    for (record, done) in chunk.iter().zip(applied) {
                        self.fast
                            .remember(generation, record.id, done.user.as_ref(), "flushed");
                    }
                }
                Err(error) => {
                    tracing::debug!(error = %error, "skipped tokens not written yet");
                    self.fast.keep_skipped(chunk.to_vec());
                }
            }
        }
    }
}
