//! Settings that bound what reaches this machine and what users decide: the spool's
//! size on disk, and whether a signed-in user may set `is_onboarded`.

use super::{ConfigError, invalid};

/// The default of `SUPAHOOK_SPOOL_MAX_BYTES`: about an hour of outage at the measured
/// sign-up rate. `bench/RESULTS.md` measured 7,468 sign-ups a second; spooled, a
/// sign-up takes 822 bytes of the spool file (20,000 of `bench/requests.py`'s sign-ups
/// filled 4,013 pages of 4 KiB). 7,468 × 3,600 s × 822 B ≈ 22.1 GB; 21 GiB holds
/// 27.4 million such sign-ups, 61 minutes at that rate.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 21 * 1024 * 1024 * 1024;

/// Reads `SUPAHOOK_SPOOL_MAX_BYTES`: whole bytes, at least 1.
pub(super) fn spool_max_bytes(env: Option<&str>, file: Option<u64>) -> Result<u64, ConfigError> {
    let bytes = match env {
        Some(v) => v.parse().map_err(|e| {
            invalid(
                "SUPAHOOK_SPOOL_MAX_BYTES",
                format!("{e} (expected whole bytes, such as 22548578304 for 21 GiB)"),
            )
        })?,
        None => file.unwrap_or(DEFAULT_SPOOL_MAX_BYTES),
    };
    if bytes == 0 {
        return Err(invalid("SUPAHOOK_SPOOL_MAX_BYTES", "must be at least 1"));
    }
    Ok(bytes)
}

/// Reads `SUPAHOOK_USERS_MAY_SET_ONBOARDED`: `true` or `false` (the default).
pub(super) fn users_may_set_onboarded(
    env: Option<&str>,
    file: Option<bool>,
) -> Result<bool, ConfigError> {
    match env {
        None => Ok(file.unwrap_or(false)),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(invalid(
            "SUPAHOOK_USERS_MAY_SET_ONBOARDED",
            format!("`{other}` is not `true` or `false`"),
        )),
    }
}
