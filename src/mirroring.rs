//! The use-case every entry point shares: apply one verified delivery to the mirror.
//!
//! HTTP handlers and CLI commands both come through here, so the rules about
//! time budgets, what happens when the database cannot answer, and what gets
//! logged and counted live in one place.

mod breaker;
mod db_check;
mod drain;
mod fast_path;
mod feed;
mod reconcile;

pub use db_check::DatabaseState;

use crate::events::{Delivery, HookKind, UserChange};
use crate::mirror::{DeleteMode, EventTypes, Outcome, SignUpPolicy};
use crate::spool::Spool;
use crate::storage::{
    Applied, Backend, Batch, ChangeNotice, EventBell, GroupCommit, ProfileClaim, Queries, Request,
    Storage, StorageError,
};
use crate::telemetry::{self, Delivered};
use breaker::Breaker;
use chrono::Utc;
use fast_path::FastPath;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a delivery may wait for the database before it is spooled (`open`) or
/// refused with a 503 (`closed`), unless `SUPAHOOK_STORE_BUDGET_MS` says otherwise.
/// Supabase gives the whole hook call 5 seconds, retries included.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(crate::config::DEFAULT_BUDGET_MS);

/// How long an append may wait for the spool (an fsync, normally milliseconds), so
/// that the whole answer stays within the budget plus this.
const SPOOL_WAIT: Duration = Duration::from_millis(500);

/// The current time at the precision the databases keep.
fn now() -> chrono::DateTime<Utc> {
    crate::events::to_micros(Utc::now())
}

/// What became of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// It reached the mirror, with this outcome.
    Applied(Outcome),
    /// The database could not take it in time; it is on disk in the spool and will be
    /// applied, exactly once, as soon as the database answers.
    Spooled,
}

impl Handled {
    /// The name reported in `Supahook-Outcome`, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied(outcome) => outcome.as_str(),
            Self::Spooled => "spooled",
        }
    }
}

/// Logs and counts what became of `delivery`, begun at `started`: `None` when it
/// failed.
fn report(delivery: &Delivery, handled: Option<Handled>, started: Instant) {
    let delivered = match handled {
        Some(Handled::Applied(outcome)) => Delivered::Applied(outcome.as_str()),
        Some(Handled::Spooled) => Delivered::Spooled,
        None => Delivered::Failed,
    };
    let user_id = delivery.change.user_id();
    telemetry::delivery_handled(
        delivery.hook.as_str(),
        user_id,
        delivered,
        started.elapsed(),
    );
}

/// Reports a user the delivery to `hook` gave an email the sign-up policy refuses.
fn report_flagged(hook: &'static str, applied: &Applied) {
    if let Some(user) = applied.user.as_ref().filter(|_| applied.flagged) {
        telemetry::policy_violation(hook, user.id);
    }
}

/// The `kind` label a database failure is counted under.
fn error_kind(error: &StorageError) -> &'static str {
    match error {
        StorageError::Unavailable(_) => "unavailable",
        StorageError::Query(_) => "query",
        StorageError::Migration(_) | StorageError::Occupied(_) | StorageError::Revert(_) => {
            "migration"
        }
        StorageError::Config(_) => "config",
    }
}

/// Applies deliveries to the mirror.
#[derive(Clone)]
pub struct Mirroring {
    storage: Storage,
    on_delete: DeleteMode,
    /// The sign-up policy: a user given an email it refuses is flagged.
    policy: Arc<SignUpPolicy>,
    budget: Duration,
    /// Set in `open` mode (`SUPAHOOK_ON_STORE_FAILURE`): where deliveries wait while
    /// the database cannot take them.
    spool: Option<Spool>,
    /// Whether the database was reachable at the last real attempt; in `open` mode,
    /// while it was not, deliveries go to the spool at once.
    breaker: Arc<Breaker>,
    /// `false` when `serve` started while the database was down, until the drainer
    /// has applied the migrations: until then the database counts as unreachable.
    migrated: Arc<std::sync::atomic::AtomicBool>,
    /// How many transactions apply deliveries at once (`SUPAHOOK_DB_WRITERS`).
    writers: usize,
    /// The lifecycle event types recorded with the changes (`SUPAHOOK_EVENTS_TYPES`).
    events: EventTypes,
    /// Rung after every commit that recorded events, here or in another process.
    bell: EventBell,
    /// Started on first use, inside the runtime.
    writer: Arc<OnceLock<GroupCommit>>,
    fast: Arc<FastPath>,
    /// The background check's last finding, for readiness.
    check: Arc<db_check::DbCheck>,
}

impl Mirroring {
    /// A use-case over this storage that refuses what the database cannot take
    /// (`closed`); users removed upstream are kept marked deleted.
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            on_delete: DeleteMode::Soft,
            policy: Arc::default(),
            budget: DEFAULT_BUDGET,
            spool: None,
            breaker: Arc::default(),
            migrated: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            writers: crate::config::DEFAULT_WRITERS,
            events: EventTypes::default(),
            bell: EventBell::default(),
            writer: Arc::default(),
            fast: Arc::default(),
            check: Arc::default(),
        }
    }

    /// The same use-case, treating users removed upstream per `mode` (`SUPAHOOK_ON_DELETE`).
    pub fn with_delete_mode(self, mode: DeleteMode) -> Self {
        Self {
            on_delete: mode,
            ..self
        }
    }

    /// The same use-case, flagging users given an email `policy` refuses by a path that
    /// never asks before-user-created.
    pub fn with_policy(self, policy: SignUpPolicy) -> Self {
        Self {
            policy: Arc::new(policy),
            ..self
        }
    }

    /// The same use-case, applying deliveries in at most `writers` transactions at once
    /// (and never more than the storage can run at once).
    pub fn with_writers(self, writers: usize) -> Self {
        Self { writers, ..self }
    }

    /// The same use-case, recording lifecycle events of the types in `events`.
    pub fn with_events(self, events: EventTypes) -> Self {
        Self { events, ..self }
    }

    /// The bell rung after every commit that recorded lifecycle events, for the feed's
    /// long polls.
    pub fn event_bell(&self) -> EventBell {
        self.bell.clone()
    }

    /// The same use-case, waiting at most `budget` for the database.
    pub fn with_budget(self, budget: Duration) -> Self {
        Self { budget, ..self }
    }

    /// The same use-case in `open` mode: what the database cannot take within the
    /// budget goes to `spool`, and is drained into the database when it is back.
    pub fn with_spool(self, spool: Spool) -> Self {
        Self {
            spool: Some(spool),
            ..self
        }
    }

    /// The same use-case, for a database that could not be migrated at start because
    /// it was unreachable: deliveries are spooled, and the drainer applies the
    /// migrations once the database answers, before it drains anything.
    pub fn with_migrations_pending(self) -> Self {
        self.migrated
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.breaker.unreachable();
        self
    }

    /// How long a delivery waits for the database (`SUPAHOOK_STORE_BUDGET_MS`).
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The spool, in `open` mode.
    pub fn spool(&self) -> Option<&Spool> {
        self.spool.as_ref()
    }

    /// `false` while the last real attempt to reach the database failed.
    pub fn database_up(&self) -> bool {
        !self.breaker.is_down()
    }

    /// The database's state for readiness: what the background check (once a second)
    /// found last, unless a real attempt found otherwise since (the breaker moved), or
    /// no check has run yet. Costs the database nothing.
    pub fn database_state(&self) -> DatabaseState {
        match self.check.state(self.breaker.moves()) {
            DatabaseState::Unknown if self.breaker.is_down() => match self.storage.refusal() {
                Some(refusal) => DatabaseState::Refused(refusal.reason),
                None => DatabaseState::Down,
            },
            DatabaseState::Unknown => DatabaseState::Up,
            found => found,
        }
    }

    /// Asks the database whether it answers, within the budget, and remembers it.
    async fn ping(&self) -> bool {
        if !self.migrated.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        let answered = self.storage.ping(self.budget).await.is_ok();
        match answered {
            true => self.breaker.reached(),
            false => self.breaker.unreachable(),
        }
        answered
    }

    /// The connection pool's state, for metrics.
    pub fn pool_status(&self) -> crate::storage::PoolStatus {
        self.storage.pool_status()
    }

    /// The storage it writes to.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Applies `changes` in one transaction without ledger rows (they are idempotent by
    /// themselves); with `commit == false` nothing is written.
    async fn apply_changes(
        &self,
        changes: &[UserChange],
        commit: bool,
    ) -> Result<Vec<Applied>, StorageError> {
        let requests: Vec<Request<'_>> = changes
            .iter()
            .map(|change| Request {
                change,
                ledger: None,
            })
            .collect();
        self.storage
            .batch(Batch {
                requests: &requests,
                mode: self.on_delete,
                policy: &self.policy,
                now: now(),
                commit,
                events: self.events,
            })
            .await
            .inspect(|applied| {
                if commit {
                    self.bell.recorded(applied);
                }
            })
    }

    /// Removes the provisional users mirrored longer than `grace` ago that nothing
    /// confirmed: sign-ups that failed after before-user-created. Each is decided again
    /// under its user's lock, so a confirmation arriving meanwhile keeps the user.
    /// Returns how many went.
    pub async fn forget_unconfirmed(&self, grace: Duration) -> Result<usize, StorageError> {
        if !self.migrated.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(0);
        }
        let grace = chrono::TimeDelta::from_std(grace).unwrap_or(chrono::TimeDelta::MAX);
        let mirrored_before = now()
            .checked_sub_signed(grace)
            .unwrap_or(chrono::DateTime::UNIX_EPOCH);
        let (mut after, mut removed) = (None, 0);
        loop {
            let ids = self
                .storage
                .provisional_user_ids(after, crate::storage::MAX_BATCH, mirrored_before)
                .await?;
            let Some(last) = ids.last() else {
                return Ok(removed);
            };
            after = Some(*last);
            let changes: Vec<UserChange> = ids
                .iter()
                .map(|&id| UserChange::Unconfirmed {
                    id,
                    mirrored_before,
                })
                .collect();
            let applied = self.apply_changes(&changes, true).await?;
            removed += applied
                .iter()
                .filter(|a| a.outcome == Outcome::Deleted)
                .count();
        }
    }

    /// Records and applies one delivery, exactly once per idempotency key. In `open`
    /// mode a delivery the database cannot take within the budget is spooled instead.
    pub async fn apply(&self, delivery: &Delivery) -> Result<Handled, StorageError> {
        let started = Instant::now();
        let spool_at_once = self.spool.is_some() && self.breaker.is_down();
        let result = match self.answer_without_database(delivery) {
            Some(outcome) => Ok(outcome),
            None if spool_at_once => Err(StorageError::Unavailable(
                "the database was unreachable moments ago".into(),
            )),
            None => self.write_within_budget(delivery).await,
        };
        let result = match (result, &self.spool) {
            (Ok(outcome), _) => Ok(Handled::Applied(outcome)),
            (Err(error), None) => Err(error),
            // Any failure, not only an outage: supahook's own trouble must not fail a
            // sign-in either. What the database refuses for good is set aside by the
            // drainer, with its reason, and logged.
            (Err(error), Some(spool)) => self.send_to_spool(spool, delivery, &error).await,
        };
        report(delivery, result.as_ref().ok().copied(), started);
        result
    }

    async fn send_to_spool(
        &self,
        spool: &Spool,
        delivery: &Delivery,
        error: &StorageError,
    ) -> Result<Handled, StorageError> {
        let reason = crate::infra::error_chain::describe(error);
        if !matches!(error, StorageError::Unavailable(_)) {
            tracing::error!(reason, "the database refused a delivery; spooling it");
        }
        match tokio::time::timeout(SPOOL_WAIT, spool.append(delivery)).await {
            Ok(Ok(())) => Ok(Handled::Spooled),
            Ok(Err(spool_error)) => Err(StorageError::Unavailable(format!(
                "{reason}; and the spool failed: {spool_error}"
            ))),
            Err(_) => Err(StorageError::Unavailable(format!(
                "{reason}; and the spool did not answer within {} ms",
                SPOOL_WAIT.as_millis()
            ))),
        }
    }

    /// Applies one delivery, waiting for the database however it fares; for callers
    /// that need the mirror's answer (the frontend sync endpoint), never spooled.
    pub async fn apply_now(&self, delivery: &Delivery) -> Result<Outcome, StorageError> {
        let started = Instant::now();
        let result = match self.answer_without_database(delivery) {
            Some(outcome) => Ok(outcome),
            None => self.write_within_budget(delivery).await,
        };
        report(
            delivery,
            result.as_ref().ok().copied().map(Handled::Applied),
            started,
        );
        result
    }

    /// The profile claim for custom-access-token. In `closed` mode it waits for the
    /// budget; in `open` mode only for what is left of the budget of the delivery that
    /// began at `started`, and a database that does not answer means no claim rather
    /// than a failed sign-in.
    pub async fn profile_claim(
        &self,
        id: Uuid,
        started: Instant,
    ) -> Result<Option<ProfileClaim>, StorageError> {
        let open = self.spool.is_some();
        if open && self.breaker.is_down() {
            return Ok(None);
        }
        let wait = match open {
            true => self.budget.saturating_sub(started.elapsed()),
            false => self.budget,
        };
        let read = tokio::time::timeout(wait, self.storage.profile_claim(id)).await;
        match read {
            Ok(Ok(claim)) => Ok(claim),
            Ok(Err(StorageError::Unavailable(_))) | Err(_) if open => Ok(None),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(self.too_slow()),
        }
    }

    fn too_slow(&self) -> StorageError {
        StorageError::Unavailable(format!(
            "the database did not answer within {} ms",
            self.budget.as_millis()
        ))
    }

    /// What needs no database: a skipped delivery, or a token refresh the fast path
    /// knows changes nothing.
    fn answer_without_database(&self, delivery: &Delivery) -> Option<Outcome> {
        match &delivery.change {
            UserChange::Skip(_) => Some(Outcome::Skipped),
            UserChange::Upsert(record) if delivery.hook == HookKind::CustomAccessToken => {
                self.fast.answer(record, &delivery.idempotency_key)
            }
            _ => None,
        }
    }

    /// Writes through the database within the budget, and tells the breaker what the
    /// database did.
    async fn write_within_budget(&self, delivery: &Delivery) -> Result<Outcome, StorageError> {
        let write = self.write_to_database(delivery);
        let Ok(result) = tokio::time::timeout(self.budget, write).await else {
            self.breaker.slow();
            return Err(self.too_slow());
        };
        match &result {
            Ok(_) => self.breaker.reached(),
            Err(error) => {
                telemetry::database_error(error_kind(error));
                if matches!(error, StorageError::Unavailable(_)) {
                    self.breaker.unreachable();
                }
            }
        }
        result
    }

    async fn write_to_database(&self, delivery: &Delivery) -> Result<Outcome, StorageError> {
        let Some(id) = delivery.change.user_id() else {
            return Ok(Outcome::Skipped);
        };
        let writer = self.writer.get_or_init(|| self.start());
        let generation = self.fast.generation();
        let applied = writer.apply(delivery.clone()).await?;
        report_flagged(delivery.hook.as_str(), &applied);
        let key = &delivery.idempotency_key;
        self.fast
            .remember(generation, id, applied.user.as_ref(), key);
        Ok(applied.outcome)
    }

    /// Starts the writers now rather than at the first delivery.
    pub fn start_writers(&self) {
        self.writer.get_or_init(|| self.start());
    }

    /// Starts the transactions that apply deliveries.
    fn start(&self) -> GroupCommit {
        let writers = self.writers.min(self.storage.writers());
        GroupCommit::start(
            self.storage.clone(),
            self.on_delete,
            self.policy.clone(),
            writers,
            (self.events, self.bell.clone()),
        )
    }

    /// In `open` mode, the task that drains the spool into the database whenever it
    /// answers (applying pending migrations first).
    pub fn spool_drainer(&self) -> Option<impl Future<Output = ()> + Send + 'static> {
        let spool = self.spool.clone()?;
        Some(drain::run(self.clone(), spool))
    }

    /// The task that checks the database once a second, for readiness.
    pub fn database_check(&self) -> impl Future<Output = ()> + Send + 'static {
        db_check::run(self.clone())
    }

    /// What the fast path is told about the users other processes change.
    pub fn change_listener(&self) -> Arc<dyn Fn(ChangeNotice) + Send + Sync> {
        let fast = self.fast.clone();
        let bell = self.bell.clone();
        Arc::new(move |notice| match notice {
            ChangeNotice::EventsRecorded => bell.ring(),
            other => fast.notice(other),
        })
    }

    /// The task that writes, every [`fast_path::FLUSH_EVERY`], the tokens the fast path
    /// answered without the database.
    pub fn skipped_token_flusher(&self) -> impl Future<Output = ()> + Send + 'static {
        let this = self.clone();
        async move {
            loop {
                tokio::time::sleep(fast_path::FLUSH_EVERY).await;
                this.flush().await;
            }
        }
    }

    /// Writes the tokens the fast path answered without the database (their version
    /// moves), now. Runs every second and at shutdown; kept for later on failure.
    pub async fn flush(&self) {
        let skipped = self.fast.take_skipped();
        for chunk in skipped.chunks(crate::storage::MAX_BATCH) {
            let changes: Vec<UserChange> = chunk
                .iter()
                .map(|record| UserChange::Upsert(record.clone()))
                .collect();
            let generation = self.fast.generation();
            match self.apply_changes(&changes, true).await {
                Ok(applied) => {
                    for (record, done) in chunk.iter().zip(applied) {
                        report_flagged("custom-access-token", &done);
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
