//! The durable local spool: deliveries acknowledged while the database could not take
//! them, kept on this machine until it can.
//!
//! It is one SQLite file in the data directory (`spool.sqlite`), written by one thread.
//! SQLite is already in the build for the embedded mirror, and its write-ahead log gives
//! what a spool needs without a file format of our own: every commit is fsynced
//! (`synchronous = FULL`) before the caller is answered, every log frame carries a
//! checksum, and a frame cut short by a crash is ignored on recovery while every
//! earlier commit is kept. Appends that arrive together share one commit and its fsync.
//! It holds at most `SUPAHOOK_SPOOL_MAX_BYTES` (see `bound.rs`), and its files are private to
//! supahook's user from their creation.

mod bound;
mod file;
mod identity;
mod set_aside;
mod worker;

pub use identity::{Foreign, IDENTITY_FILE, claim};

use crate::events::{Delivery, UserChange};
use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use tokio::sync::oneshot;
use worker::Command;

/// The spool file's name inside the data directory.
pub const FILE_NAME: &str = "spool.sqlite";

/// The spool could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SpoolError {
    /// The file cannot be opened, read or written.
    #[error("the spool at {path} cannot be used: {reason}")]
    Io {
        /// The spool file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// The spool holds `SUPAHOOK_SPOOL_MAX_BYTES` already: nothing more is written.
    #[error(
        "the spool is full ({used} bytes in use, SUPAHOOK_SPOOL_MAX_BYTES={max}); it takes \
         deliveries again as it drains into the database"
    )]
    Full {
        /// Bytes of the spool file in use.
        used: u64,
        /// The bound.
        max: u64,
    },
    /// The spool's thread has stopped.
    #[error("the spool has stopped")]
    Stopped,
}

/// A delivery waiting in the spool.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its position: entries are drained in this order, oldest first.
    pub seq: i64,
    /// When it was acknowledged.
    pub received_at: DateTime<Utc>,
    /// The delivery as it was verified and parsed.
    pub delivery: Delivery,
}

/// A delivery the database refused for good, kept out of the queue until an operator
/// retries it (back into the queue) or discards it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// Its position in the spool, which names it for a retry or a discard.
    pub seq: i64,
    /// The delivery's idempotency key.
    pub idempotency_key: String,
    /// The endpoint that received it.
    pub hook: String,
    /// What the database said.
    pub reason: String,
    /// When it was acknowledged.
    pub received_at: DateTime<Utc>,
    /// When it was set aside.
    pub set_aside_at: DateTime<Utc>,
}

/// What opening the spool found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Deliveries left from before this start, waiting to be drained.
    pub waiting: u64,
    /// Bytes of a last write that a crash cut short. That write never finished, so it
    /// was never acknowledged; SQLite discards it and keeps every earlier commit.
    pub torn_bytes: u64,
    /// Where a damaged spool was moved aside, when one was found (a new one is started).
    pub damaged: Option<String>,
}

/// How many deliveries wait and since when, kept current by the spool's thread.
#[derive(Debug)]
struct Depth {
    entries: AtomicU64,
    /// Microseconds since the epoch of the oldest entry; 0 when empty.
    oldest: AtomicI64,
    /// The last append failed (a full disk, say).
    failing: AtomicBool,
    /// Bytes of the spool file in use.
    used: AtomicU64,
    /// `SUPAHOOK_SPOOL_MAX_BYTES`.
    max: AtomicU64,
    /// A delivery was refused for want of room, and nothing has drained since.
    full: AtomicBool,
}

impl Default for Depth {
    fn default() -> Self {
        Self {
            entries: AtomicU64::default(),
            oldest: AtomicI64::default(),
            failing: AtomicBool::default(),
            used: AtomicU64::default(),
            max: AtomicU64::new(crate::config::DEFAULT_SPOOL_MAX_BYTES),
            full: AtomicBool::default(),
        }
    }
}

impl Depth {
    /// Bytes in use and the bound.
    fn bytes(&self) -> (u64, u64) {
        (
            self.used.load(Ordering::Relaxed),
            self.max.load(Ordering::Relaxed),
        )
    }

    fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// Counts `count` deliveries refused for want of room; says so in the log when the
    /// spool turns full, not at every refusal.
    fn refused(&self, count: usize) {
        crate::telemetry::spool_full(count);
        if !self.full.swap(true, Ordering::Relaxed) {
            let (used, max) = self.bytes();
            tracing::error!(
                used,
                max,
                "the spool is full (SUPAHOOK_SPOOL_MAX_BYTES): deliveries the database cannot \
                 take are refused with 503 and Retry-After until it drains"
            );
        }
    }

    /// Entries drained: deliveries may be spooled again.
    fn has_room(&self) {
        if self.full.swap(false, Ordering::Relaxed) {
            let (used, max) = self.bytes();
            tracing::info!(
                used,
                max,
                "the spool has room again: deliveries are spooled"
            );
        }
    }
}

/// The spool: cheap to clone, every clone writes through the same thread.
#[derive(Clone, Debug)]
pub struct Spool {
    commands: std::sync::mpsc::Sender<Command>,
    depth: Arc<Depth>,
}

impl Spool {
    /// Opens (or creates) the spool in `dir` and starts its thread. A torn last write is
    /// reported in the [`Recovery`]; a file SQLite finds damaged is moved aside.
    pub fn open(dir: &Path) -> Result<(Self, Recovery), SpoolError> {
        let (conn, recovery) = file::open(dir)?;
        let depth = Arc::new(Depth::default());
        let (commands, receiver) = std::sync::mpsc::channel();
        worker::start(conn, receiver, depth.clone())?;
        let waiting = depth.entries.load(Ordering::Relaxed);
        Ok((
            Self { commands, depth },
            Recovery {
                waiting,
                ..recovery
            },
        ))
    }

    /// The same spool, holding at most `max` bytes (`SUPAHOOK_SPOOL_MAX_BYTES`; 21 GiB
    /// unless set): past it, appends are refused with [`SpoolError::Full`].
    pub fn with_max_bytes(self, max: u64) -> Self {
        self.depth.max.store(max, Ordering::Relaxed);
        self
    }

    /// Appends `delivery` and returns once it is on disk. A delete that carries no time
    /// is dated now, when it was received, not when it is drained. A full spool refuses
    /// it at once, without a trip to its thread.
    pub async fn append(&self, delivery: &Delivery) -> Result<(), SpoolError> {
        if self.depth.is_full() {
            self.depth.refused(1);
            let (used, max) = self.depth.bytes();
            return Err(SpoolError::Full { used, max });
        }
        let received_at = crate::events::to_micros(Utc::now());
        let mut delivery = delivery.clone();
        if let UserChange::Delete(deletion) = &mut delivery.change {
            deletion.at.get_or_insert(received_at);
        }
        self.ask(|reply| Command::Append {
            delivery,
            received_at,
            reply,
        })
        .await
    }

    /// Up to `limit` of the oldest entries, oldest first. An entry this version cannot
    /// read is set aside (kept in the file, out of the queue) and reported.
    pub async fn oldest(&self, limit: usize) -> Result<Vec<Entry>, SpoolError> {
        self.ask(|reply| Command::Oldest { limit, reply }).await
    }

    /// Removes drained entries.
    pub async fn remove(&self, seqs: Vec<i64>) -> Result<(), SpoolError> {
        self.ask(|reply| Command::Remove { seqs, reply }).await
    }

    /// Moves an entry the database refuses for good out of the queue, with the reason,
    /// so it cannot block the entries behind it.
    pub async fn set_aside(&self, seq: i64, reason: String) -> Result<(), SpoolError> {
        self.ask(|reply| Command::SetAside { seq, reason, reply })
            .await
    }

    /// The deliveries set aside, oldest first.
    pub async fn set_aside_entries(&self) -> Result<Vec<SetAside>, SpoolError> {
        self.ask(|reply| Command::SetAsideEntries { reply }).await
    }

    /// Puts a set-aside delivery back at the end of the queue, where the drainer applies
    /// it through the ledger like any other (exactly once); `false` when no delivery is
    /// set aside at `seq`. The console's retry and `supahook spool retry` both come here.
    pub async fn retry_set_aside(&self, seq: i64) -> Result<bool, SpoolError> {
        self.ask(|reply| Command::Retry { seq, reply }).await
    }

    /// Removes a set-aside delivery for good; `false` when none is set aside at `seq`.
    /// The console's discard and `supahook spool discard` both come here.
    pub async fn discard_set_aside(&self, seq: i64) -> Result<bool, SpoolError> {
        self.ask(|reply| Command::Discard { seq, reply }).await
    }

    /// How many deliveries wait.
    pub fn depth(&self) -> u64 {
        self.depth.entries.load(Ordering::Relaxed)
    }

    /// `false` while appends fail or the spool is full: then nothing can be
    /// acknowledged in `open` mode.
    pub fn is_writable(&self) -> bool {
        !self.depth.failing.load(Ordering::Relaxed) && !self.depth.is_full()
    }

    /// Bytes of the spool file in use.
    pub fn used_bytes(&self) -> u64 {
        self.depth.used.load(Ordering::Relaxed)
    }

    /// When the oldest waiting delivery was acknowledged.
    pub fn oldest_at(&self) -> Option<DateTime<Utc>> {
        match self.depth.oldest.load(Ordering::Relaxed) {
            0 => None,
            micros => DateTime::from_timestamp_micros(micros),
        }
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, SpoolError>>) -> Command,
    ) -> Result<T, SpoolError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .map_err(|_| SpoolError::Stopped)?;
        answer.await.map_err(|_| SpoolError::Stopped)?
    }
}

#[cfg(test)]
mod tests;
