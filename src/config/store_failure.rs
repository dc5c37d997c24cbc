//! What happens to a delivery the database cannot take in time.

use crate::config_sources::one_of;
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

/// `SUPAHOOK_ON_STORE_FAILURE`: `open` or `closed`.
pub(super) fn policy(text: &str) -> Result<OnStoreFailure, String> {
    one_of(
        text,
        &[
            ("open", OnStoreFailure::Open),
            ("closed", OnStoreFailure::Closed),
        ],
    )
}

/// `SUPAHOOK_STORE_BUDGET_MS`: whole milliseconds, 50 to 4000.
pub(super) fn budget(text: &str) -> Result<Duration, String> {
    super::millis_within(text, 50, MAX_BUDGET_MS)
}
