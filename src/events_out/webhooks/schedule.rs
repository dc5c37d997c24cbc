//! What an attempt's answer means, and when to try again: pure decisions, given the
//! time and a random number, so that every rule is tested without a clock or a network.

use crate::storage::PushStep;
use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

/// The longest wait between two attempts, whatever the backoff or `Retry-After` says.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How retries are spread out.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The wait before the first retry; each later one waits about twice as long.
    pub first_backoff: Duration,
    /// How long after it was queued an event is still tried.
    pub retry_window: Duration,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The endpoint answered with this status, and maybe a `Retry-After`.
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: the connection failed or the attempt timed out.
    None,
}

impl RetryPolicy {
    /// What becomes of a delivery queued at `queued_at` after attempt number
    /// `attempts + 1` ended with `answer` at `now`. Any 2xx delivers; 410 Gone
    /// disables the endpoint; anything else is retried after `Retry-After` (at most
    /// [`MAX_BACKOFF`]) or an exponential backoff with jitter (`jitter` in [0, 1)),
    /// unless the next try would fall past the retry window: then it is dead.
    pub fn step(
        &self,
        answer: Answer,
        attempts: i32,
        queued_at: DateTime<Utc>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> PushStep {
        let retry_after = match answer {
            Answer::Status { code, .. } if (200..300).contains(&code) => {
                return PushStep::Delivered;
            }
            Answer::Status { code: 410, .. } => {
                return PushStep::Disable("the endpoint answered 410 Gone".to_owned());
            }
            Answer::Status { retry_after, .. } => retry_after,
            Answer::None => None,
        };
        let wait = match retry_after {
            Some(wait) => wait.min(MAX_BACKOFF),
            None => self.backoff(attempts, jitter),
        };
        let next = now + delta(wait);
        match next > queued_at + delta(self.retry_window) {
            true => PushStep::Dead,
            false => PushStep::RetryAt(next),
        }
    }

    /// The wait after `attempts + 1` failed attempts: the first backoff doubled per
    /// earlier attempt, at most [`MAX_BACKOFF`], of which a random half is taken off
    /// so that endpoints coming back are not hit by every retry at once.
    fn backoff(&self, attempts: i32, jitter: f64) -> Duration {
        let doublings = attempts.clamp(0, 20) as u32;
        let full = self
            .first_backoff
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF);
        full.mul_f64(1.0 - jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// A `Retry-After` header's wait: delay-seconds or an HTTP date, from `now`.
pub fn retry_after(header: &str, now: DateTime<Utc>) -> Option<Duration> {
    let header = header.trim();
    if let Ok(seconds) = header.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(header).ok()?;
    Some((at.with_timezone(&Utc) - now).to_std().unwrap_or_default())
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        first_backoff: Duration::from_secs(5),
        retry_window: Duration::from_secs(86_400),
    };

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn status(code: u16) -> Answer {
        Answer::Status {
            code,
            retry_after: None,
        }
    }

    #[test]
    fn any_2xx_delivers_and_410_disables() {
        assert_eq!(
            POLICY.step(status(200), 0, at(0), at(0), 0.0),
            PushStep::Delivered
        );
        assert_eq!(
            POLICY.step(status(204), 3, at(0), at(9), 0.0),
            PushStep::Delivered
        );
        assert!(matches!(
            POLICY.step(status(410), 0, at(0), at(0), 0.0),
            PushStep::Disable(_)
        ));
    }

    #[test]
    fn failures_back_off_exponentially_with_jitter_up_to_an_hour() {
        let next = |attempts, jitter| POLICY.step(status(500), attempts, at(0), at(0), jitter);

        assert_eq!(next(0, 0.0), PushStep::RetryAt(at(5)));
        assert_eq!(next(1, 0.0), PushStep::RetryAt(at(10)));
        assert_eq!(next(3, 0.0), PushStep::RetryAt(at(40)));
        assert_eq!(next(3, 0.5), PushStep::RetryAt(at(30)));
        assert_eq!(next(30, 0.0), PushStep::RetryAt(at(3600)));
        assert_eq!(
            POLICY.step(Answer::None, 0, at(0), at(0), 0.0),
            PushStep::RetryAt(at(5))
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_an_hour() {
        let asked = |seconds| Answer::Status {
            code: 503,
            retry_after: Some(Duration::from_secs(seconds)),
        };

        assert_eq!(
            POLICY.step(asked(120), 0, at(0), at(0), 0.5),
            PushStep::RetryAt(at(120))
        );
        assert_eq!(
            POLICY.step(asked(86_400), 0, at(0), at(0), 0.5),
            PushStep::RetryAt(at(3600))
        );
    }

    #[test]
    fn a_retry_past_the_window_is_dead_instead() {
        let window_end = 86_400;

        assert_eq!(
            POLICY.step(status(500), 20, at(0), at(window_end - 10), 0.0),
            PushStep::Dead
        );
        assert_eq!(
            POLICY.step(status(500), 0, at(0), at(window_end - 10), 0.0),
            PushStep::RetryAt(at(window_end - 5))
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = at(0);
        let date = (now + TimeDelta::seconds(90))
            .to_rfc2822()
            .replace("+0000", "GMT");

        assert_eq!(retry_after(" 30 ", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(&date, now), Some(Duration::from_secs(90)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
