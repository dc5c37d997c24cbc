//! Directories and files supahook makes for itself, readable by its own user only.
//!
//! The data directory holds emails and phone numbers (the embedded database, the spool)
//! and secrets (the generated hook secret and admin token). What supahook creates there
//! is private from the first byte: directories 0700, files 0600, set when they are
//! created rather than after, so no other user can open one in between. SQLite gives a
//! database's `-wal` and `-shm` files the mode of the database file, so creating that
//! file 0600 before SQLite opens it is what keeps its journal private too.
//!
//! A directory that already exists is the operator's (a mounted volume, say, whose
//! group access a platform may rely on): it is left as it is, with a warning when
//! other users may enter it. The files in it are 0600 either way.

use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of a directory supahook creates.
pub const DIR_MODE: u32 = 0o700;
/// The mode of a file supahook creates.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and any missing parent with mode 0700. An existing directory is kept
/// as it is.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// Creates an empty file at `path` with mode 0600; `false` when it already exists.
pub fn create_file(path: &Path) -> std::io::Result<bool> {
    match private_options().open(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Options that create a new file with mode 0600 and fail when it exists.
pub fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true).mode(FILE_MODE);
    options
}

/// Writes `text` to `path`, replacing what it held, in a file created with mode 0600,
/// and syncs it to disk.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Sets mode 0600 on `path` when it exists and others may read it: a file an earlier
/// version of supahook made before its files were private.
pub fn tighten(path: &Path) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Warns when the data directory already exists and other users may enter it. Called
/// once at start, before supahook creates anything.
pub fn warn_if_open(data_dir: &Path) {
    let Ok(meta) = std::fs::metadata(data_dir) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            dir = %data_dir.display(),
            mode = format!("{mode:o}"),
            "SUPAHOOK_DATA_DIR is open to other users; supahook's files in it are readable by \
             its own user only, but `chmod 700` it unless the platform needs that access"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn temp(label: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!(
            "supahook-{label}-{}",
            uuid::Uuid::new_v4().simple()
        ))
    }

    #[test]
    fn created_directories_are_0700_down_to_the_last_one() {
        let top = temp("private-dir");
        let dir = top.join("a").join("b");

        create_dir(&dir).unwrap();

        assert_eq!(mode(&top), DIR_MODE);
        assert_eq!(mode(&dir), DIR_MODE);
        std::fs::remove_dir_all(top).unwrap();
    }

    #[test]
    fn an_existing_directory_keeps_its_mode() {
        let dir = temp("shared-dir");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();

        create_dir(&dir).unwrap();

        assert_eq!(mode(&dir), 0o750);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_is_created_0600_once_and_a_loose_one_is_tightened() {
        let dir = temp("private-file");
        create_dir(&dir).unwrap();
        let file = dir.join("spool.sqlite");
        let old = dir.join("spool.sqlite-wal");
        std::fs::write(&old, b"").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();

        let created = create_file(&file).unwrap();
        let again = create_file(&file).unwrap();
        tighten(&old).unwrap();
        tighten(&dir.join("absent")).unwrap();

        assert!(created && !again);
        assert_eq!(mode(&file), FILE_MODE);
        assert_eq!(mode(&old), FILE_MODE);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
