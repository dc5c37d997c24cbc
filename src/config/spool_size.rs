//! How much the spool may hold on disk.

/// The default of `SUPAHOOK_SPOOL_MAX_BYTES`: about an hour of outage at the measured
/// sign-up rate. `bench/RESULTS.md` measured 7,468 sign-ups a second; spooled, a
/// sign-up takes 822 bytes of the spool file (20,000 of `bench/requests.py`'s sign-ups
/// filled 4,013 pages of 4 KiB). 7,468 × 3,600 s × 822 B ≈ 22.1 GB; 21 GiB holds
/// 27.4 million such sign-ups, 61 minutes at that rate.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 21 * 1024 * 1024 * 1024;

/// `SUPAHOOK_SPOOL_MAX_BYTES`: whole bytes, at least 1.
pub(super) fn spool_max_bytes(text: &str) -> Result<u64, String> {
    match text.parse() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(bytes) => Ok(bytes),
        Err(e) => Err(format!(
            "{e} (expected whole bytes, such as 22548578304 for 21 GiB)"
        )),
    }
}
