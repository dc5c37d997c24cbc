//! Secrets supahook makes for itself on first start when none is configured,
//! kept in the data directory with mode 0600 and reused on later starts.

use crate::signature::SigningKey;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::SecretString;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// The file holding the generated hook secret, `v1,whsec_<base64>`.
pub const HOOK_SECRET_FILE: &str = "hook-secret";
/// The file holding the generated admin token.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// A secret file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LocalSecretError {
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} does not hold a v1,whsec_ secret: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// A secret read from, or just written to, the data directory.
#[derive(Debug)]
pub struct Local<T> {
    /// The secret.
    pub value: T,
    /// Where it is kept.
    pub path: PathBuf,
    /// Whether this start created it.
    pub created: bool,
}

/// The hook secret in `dir`, created when `create` is set and there is none.
pub fn hook_secret(
    dir: &Path,
    create: bool,
) -> Result<Option<Local<SigningKey>>, LocalSecretError> {
    let path = dir.join(HOOK_SECRET_FILE);
    let generate = || format!("v1,whsec_{}", STANDARD.encode(random_bytes()));
    let Some((text, created)) = read_or_create(&path, create, generate)? else {
        return Ok(None);
    };
    let value = SigningKey::parse(&text).map_err(|e| LocalSecretError::Invalid {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok(Some(Local {
        value,
        path,
        created,
    }))
}

/// The admin token in `dir`, created when `create` is set and there is none.
pub fn admin_token(
    dir: &Path,
    create: bool,
) -> Result<Option<Local<SecretString>>, LocalSecretError> {
    let path = dir.join(ADMIN_TOKEN_FILE);
    let generate = || URL_SAFE_NO_PAD.encode(random_bytes());
    Ok(
        read_or_create(&path, create, generate)?.map(|(text, created)| Local {
            value: SecretString::from(text),
            path,
            created,
        }),
    )
}

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    bytes
}

fn read_or_create(
    path: &Path,
    create: bool,
    generate: impl Fn() -> String,
) -> Result<Option<(String, bool)>, LocalSecretError> {
    let io = |source| LocalSecretError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(Some((text.trim().to_owned(), false))),
        Err(e) if e.kind() == ErrorKind::NotFound && create => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    }
    if let Some(dir) = path.parent() {
        crate::infra::private_files::create_dir(dir).map_err(io)?;
    }
    let text = generate();
    match crate::infra::private_files::private_options().open(path) {
        Ok(mut file) => {
            writeln!(file, "{text}").map_err(io)?;
            Ok(Some((text, true)))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(io)?;
            Ok(Some((text.trim().to_owned(), false)))
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "supahook-{label}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_secret_is_created_once_with_mode_0600_and_reused() {
        let dir = temp_dir("secret");

        let first = hook_secret(&dir, true).unwrap().unwrap();
        let again = hook_secret(&dir, true).unwrap().unwrap();

        assert!(first.created && !again.created);
        assert_eq!(first.value.expose_text(), again.value.expose_text());
        assert!(first.value.expose_text().starts_with("v1,whsec_"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&first.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn nothing_is_created_when_not_asked() {
        let dir = temp_dir("absent");

        assert!(hook_secret(&dir, false).unwrap().is_none());
        assert!(admin_token(&dir, false).unwrap().is_none());
        assert!(!dir.join(HOOK_SECRET_FILE).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_damaged_secret_file_is_an_error_naming_it() {
        let dir = temp_dir("damaged");
        std::fs::write(dir.join(HOOK_SECRET_FILE), "not a secret").unwrap();

        let error = hook_secret(&dir, true).unwrap_err().to_string();

        assert!(error.contains(HOOK_SECRET_FILE), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
