//! The database a spool belongs to, kept beside it in `spool.database`: deliveries
//! acknowledged for one database must never be drained into another, as they would
//! be when `DATABASE_URL` changes while deliveries wait.
//!
//! The identity comes from the URL (`postgres://host:port/dbname`, or the SQLite
//! file's path), not from the database, because a spool is claimed at start, when
//! the database may be down. A spool written for another database is moved aside
//! with its identity and kept, and a new one is started.

use super::{FILE_NAME, SpoolError, file};
use std::path::{Path, PathBuf};

/// The file beside the spool naming its database.
pub const IDENTITY_FILE: &str = "spool.database";

/// A spool found in the data directory that belongs to another database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// The database it was written for.
    pub database: String,
    /// Where it was moved; its identity is beside it, in the same name + `.database`.
    pub kept: PathBuf,
}

/// Makes the spool in `dir` belong to `database`. A spool written for another
/// database is moved aside and kept (returned); a spool from before identities were
/// kept is taken to be this database's.
pub fn claim(dir: &Path, database: &str) -> Result<Option<Foreign>, SpoolError> {
    let spool = dir.join(FILE_NAME);
    let identity = dir.join(IDENTITY_FILE);
    let fail = |path: &Path, e: std::io::Error| SpoolError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    crate::infra::private_files::create_dir(dir).map_err(|e| fail(dir, e))?;
    let recorded = match std::fs::read_to_string(&identity) {
        Ok(text) => Some(text.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail(&identity, e)),
    };
    let foreign = match recorded {
        Some(other) if other != database && spool.exists() => {
            let kept = file::move_aside(&spool, "other-database").map_err(|e| fail(&spool, e))?;
            let beside = with_suffix(&kept, ".database");
            std::fs::rename(&identity, &beside).map_err(|e| fail(&identity, e))?;
            Some(Foreign {
                database: other,
                kept,
            })
        }
        Some(same) if same == database => return Ok(None),
        _ => None,
    };
    crate::infra::private_files::write(&identity, &format!("{database}\n"))
        .map_err(|e| fail(&identity, e))?;
    Ok(foreign)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "supahook-identity-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const X: &str = "postgres://db-x:5432/app";
    const Y: &str = "postgres://db-y:5432/app";

    #[test]
    fn a_spool_is_claimed_once_and_stays_with_its_database() {
        let dir = dir();
        std::fs::write(dir.join(FILE_NAME), b"spooled").unwrap();

        assert_eq!(claim(&dir, X).unwrap(), None);
        assert_eq!(claim(&dir, X).unwrap(), None);

        assert!(dir.join(FILE_NAME).exists());
        let recorded = std::fs::read_to_string(dir.join(IDENTITY_FILE)).unwrap();
        assert_eq!(recorded.trim(), X);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_spool_of_another_database_is_moved_aside_with_its_identity_and_kept() {
        let dir = dir();
        claim(&dir, X).unwrap();
        std::fs::write(dir.join(FILE_NAME), b"spooled for x").unwrap();

        let foreign = claim(&dir, Y).unwrap().expect("the spool belongs to X");

        assert_eq!(foreign.database, X);
        assert_eq!(std::fs::read(&foreign.kept).unwrap(), b"spooled for x");
        let beside = std::fs::read_to_string(with_suffix(&foreign.kept, ".database")).unwrap();
        assert_eq!(beside.trim(), X);
        assert!(!dir.join(FILE_NAME).exists(), "Y starts a new spool");
        let recorded = std::fs::read_to_string(dir.join(IDENTITY_FILE)).unwrap();
        assert_eq!(recorded.trim(), Y);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
