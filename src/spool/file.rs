//! Opening the spool file: settings, schema, and what a crash may have left behind.

use super::{FILE_NAME, Recovery, SpoolError};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use std::path::{Path, PathBuf};

/// `synchronous = FULL` in WAL mode fsyncs the log at every commit: an append is on
/// disk when it returns. `wal_autocheckpoint` keeps the log small as entries drain.
/// `locking_mode = EXCLUSIVE` keeps the file to this process: two replicas sharing a
/// volume would otherwise drain each other's entries; the second one fails to start
/// (after `busy_timeout`, which lets a restart wait for the old process to exit).
const SETUP: &str = "PRAGMA busy_timeout = 2000; \
                     PRAGMA locking_mode = EXCLUSIVE; \
                     PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; \
                     PRAGMA wal_autocheckpoint = 1000; \
                     CREATE TABLE IF NOT EXISTS spooled ( \
                         seq INTEGER PRIMARY KEY AUTOINCREMENT, \
                         received_at INTEGER NOT NULL, \
                         hook TEXT NOT NULL, \
                         idempotency_key TEXT NOT NULL, \
                         delivery TEXT NOT NULL); \
                     CREATE TABLE IF NOT EXISTS set_aside ( \
                         seq INTEGER PRIMARY KEY, \
                         received_at INTEGER NOT NULL, \
                         hook TEXT NOT NULL, \
                         idempotency_key TEXT NOT NULL, \
                         delivery TEXT NOT NULL, \
                         reason TEXT NOT NULL, \
                         set_aside_at INTEGER NOT NULL);";

/// Opens the spool in `dir`, creating the directory and file when missing.
pub(super) fn open(dir: &Path) -> Result<(SqliteConnection, Recovery), SpoolError> {
    let path = dir.join(FILE_NAME);
    let fail = |reason: String| SpoolError::Io {
        path: path.display().to_string(),
        reason,
    };
    crate::infra::private_files::create_dir(dir).map_err(|e| fail(e.to_string()))?;
    let torn_bytes = torn_tail(&wal_path(&path)).map_err(|e| fail(e.to_string()))?;
    let mut recovery = Recovery {
        torn_bytes,
        ..Recovery::default()
    };
    let conn = match connect(&path) {
        Ok(conn) => conn,
        Err(Failure::Other(reason)) => return Err(fail(reason)),
        Err(Failure::Damaged(reason)) => {
            let aside = move_aside(&path, "damaged").map_err(|e| fail(format!("{reason}; {e}")))?;
            tracing::error!(
                file = %aside.display(),
                reason,
                "the spool file is damaged: it was moved aside and a new one started; \
                 run `reconcile` to repair what it held"
            );
            recovery.damaged = Some(aside.display().to_string());
            connect(&path).map_err(|failure| fail(failure.to_string()))?
        }
    };
    // A spool an earlier version made may have been readable by others.
    for file in [path.clone(), wal_path(&path), shm_path(&path)] {
        crate::infra::private_files::tighten(&file).map_err(|e| fail(e.to_string()))?;
    }
    Ok((conn, recovery))
}

/// Why the file could not be opened.
enum Failure {
    /// SQLite finds the file is not a database, or not a sound one.
    Damaged(String),
    /// Anything else (permissions, a full disk, another process holding it): the file
    /// may be fine, so it is left where it is and the start fails.
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Damaged(reason) | Self::Other(reason) => f.write_str(reason),
        }
    }
}

impl Failure {
    fn of(error: impl std::fmt::Display) -> Self {
        let text = error.to_string();
        match text.contains("not a database") || text.contains("malformed") {
            true => Self::Damaged(text),
            false => Self::Other(text),
        }
    }
}

/// Creates the file 0600 when missing, then connects, sets up, and checks the file's
/// integrity. The spool holds emails and phone numbers; SQLite gives its log the
/// file's mode, so both are private from the start.
fn connect(path: &Path) -> Result<SqliteConnection, Failure> {
    let url = path
        .to_str()
        .ok_or_else(|| Failure::Other("the path is not valid UTF-8".into()))?;
    crate::infra::private_files::create_file(path).map_err(|e| Failure::Other(e.to_string()))?;
    let mut conn = SqliteConnection::establish(url).map_err(Failure::of)?;
    conn.batch_execute(SETUP).map_err(|e| match e.to_string() {
        busy if busy.contains("locked") => Failure::Other(format!(
            "{busy}: another supahook process uses this spool; give each replica its own \
             SUPAHOOK_DATA_DIR"
        )),
        _ => Failure::of(e),
    })?;
    let check: Vec<Check> = diesel::sql_query("PRAGMA quick_check")
        .load(&mut conn)
        .map_err(Failure::of)?;
    match check.first().map(|c| c.quick_check.as_str()) {
        Some("ok") => Ok(conn),
        other => Err(Failure::Damaged(format!(
            "integrity check failed: {}",
            other.unwrap_or("no answer")
        ))),
    }
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    quick_check: String,
}

fn wal_path(path: &Path) -> PathBuf {
    with_suffix(path, "-wal")
}

fn shm_path(path: &Path) -> PathBuf {
    with_suffix(path, "-shm")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Bytes at the end of the write-ahead log that do not make a whole frame: a write
/// that a crash cut short. A log is a 32-byte header, then frames of 24 bytes plus
/// one page each (the page size is in the header, bytes 8 to 11, big-endian).
fn torn_tail(wal: &Path) -> std::io::Result<u64> {
    let bytes = match std::fs::read(wal) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let len = bytes.len() as u64;
    let Some(page) = bytes.get(8..12) else {
        return Ok(len);
    };
    let frame = 24 + u64::from(u32::from_be_bytes([page[0], page[1], page[2], page[3]]));
    Ok(len.saturating_sub(32) % frame)
}

/// Renames the spool and its log to `spool.sqlite.<why>-<unix seconds>`.
pub(super) fn move_aside(path: &Path, why: &str) -> std::io::Result<PathBuf> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{why}-{}", chrono::Utc::now().timestamp()));
    let aside = PathBuf::from(name);
    std::fs::rename(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let from = with_suffix(path, suffix);
        if from.exists() {
            std::fs::rename(from, with_suffix(&aside, suffix))?;
        }
    }
    Ok(aside)
}
