//! What happens to a delivery the database cannot take in time.

use super::{ConfigError, invalid};
use std::time::Duration;

/// What the hooks answer when the database cannot take a delivery within the budget
/// (`SUPAHOOK_ON_STORE_FAILURE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnStoreFailure {
    /// Answer as if it were stored (claims unchanged, `{}`), after writing the delivery
    /// to the local spool; it is applied when the database is back. Sign-ins go on.
    #[default]
    Open,
    /// Answer 503 with `Retry-After`: Supabase Auth fails the sign-in or refresh.
    Closed,
}

/// The default of `SUPAHOOK_STORE_BUDGET_MS`.
pub const DEFAULT_BUDGET_MS: u64 = 1000;

/// The largest budget: with Supabase's 5 s for a whole hook call, a longer wait would
/// leave no time for the answer to reach it.
const MAX_BUDGET_MS: u64 = 4000;

/// Reads `SUPAHOOK_ON_STORE_FAILURE` (`open` or `closed`).
pub(super) fn policy(value: Option<&str>) -> Result<OnStoreFailure, ConfigError> {
    match value {
        None | Some("open") => Ok(OnStoreFailure::Open),
        Some("closed") => Ok(OnStoreFailure::Closed),
        Some(other) => Err(invalid(
            "SUPAHOOK_ON_STORE_FAILURE",
            format!("`{other}` is not `open` or `closed`"),
        )),
    }
}

/// Reads `SUPAHOOK_STORE_BUDGET_MS`: whole milliseconds, 50 to 4000.
pub(super) fn budget(env: Option<&str>, file: Option<u64>) -> Result<Duration, ConfigError> {
    let millis = match env {
        Some(v) => v.parse().map_err(|e| {
            invalid(
                "SUPAHOOK_STORE_BUDGET_MS",
                format!("{e} (expected whole milliseconds)"),
            )
        })?,
        None => file.unwrap_or(DEFAULT_BUDGET_MS),
    };
    if !(50..=MAX_BUDGET_MS).contains(&millis) {
        return Err(invalid(
            "SUPAHOOK_STORE_BUDGET_MS",
            format!("{millis} is outside 50 to {MAX_BUDGET_MS} milliseconds"),
        ));
    }
    Ok(Duration::from_millis(millis))
}
