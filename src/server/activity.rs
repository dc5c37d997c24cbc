//! Where a connection is between requests, and so which limit bounds it now.
//!
//! hyper's own `header_read_timeout` starts as soon as a connection waits for a
//! request, so it would also close kept-alive connections after the header timeout;
//! here the header clock starts with the first byte of a request, and a connection
//! waiting for one is bounded by the idle timeout instead.

use crate::config::ConnectionLimits;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a request since the last answer.
    Idle { since: Instant },
    /// Receiving a request's headers: since the connection opened, or since the first
    /// byte after an answer.
    Head { since: Instant },
    /// Requests are being answered (several at once over HTTP/2).
    Busy { requests: usize },
}

/// Why a connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Its headers did not arrive within the header read timeout.
    SlowHeaders,
    /// No request came within the idle timeout.
    Idle,
}

impl Cut {
    /// A short text for the log.
    pub fn reason(self) -> &'static str {
        match self {
            Self::SlowHeaders => "the request's headers did not arrive in time",
            Self::Idle => "the connection was idle too long",
        }
    }
}

/// When `phase` ends the connection, and why; `None` while requests are answered
/// (their bodies have a deadline of their own).
pub fn deadline(phase: Phase, limits: &ConnectionLimits) -> Option<(Instant, Cut)> {
    match phase {
        Phase::Idle { since } => Some((since + limits.idle_timeout, Cut::Idle)),
        Phase::Head { since } => Some((since + limits.header_read_timeout, Cut::SlowHeaders)),
        Phase::Busy { .. } => None,
    }
}

/// How often a connection's watchdog looks at its phase: a quarter of the shorter of
/// the header and idle timeouts (at least every 10 ms), so a cut comes at most that
/// late and a request costs the watchdog nothing.
pub fn look_every(limits: &ConnectionLimits) -> Duration {
    (limits.header_read_timeout.min(limits.idle_timeout) / 4).max(Duration::from_millis(10))
}

/// One connection's phase, shared by its socket, its requests and its watchdog.
pub struct Activity {
    phase: Mutex<Phase>,
}

impl Activity {
    /// A connection just accepted: its first request's headers are due.
    pub fn opened() -> Self {
        Self {
            phase: Mutex::new(Phase::Head {
                since: Instant::now(),
            }),
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        *self.lock()
    }

    /// Bytes arrived: on an idle connection, a request has begun.
    pub fn bytes_arrived(&self) {
        let mut phase = self.lock();
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::Head {
                since: Instant::now(),
            };
        }
    }

    /// A request's headers are complete; returns when its first byte arrived.
    pub fn request_started(&self) -> Instant {
        let mut phase = self.lock();
        let (began, requests) = match *phase {
            Phase::Head { since } => (since, 0),
            // Its bytes came with an earlier request's (pipelined), or over HTTP/2.
            Phase::Idle { .. } => (Instant::now(), 0),
            Phase::Busy { requests } => (Instant::now(), requests),
        };
        *phase = Phase::Busy {
            requests: requests + 1,
        };
        began
    }

    /// A request is answered; the last one in flight makes the connection idle.
    pub fn request_finished(&self) {
        let mut phase = self.lock();
        *phase = match *phase {
            Phase::Busy { requests } if requests > 1 => Phase::Busy {
                requests: requests - 1,
            },
            _ => Phase::Idle {
                since: Instant::now(),
            },
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_millis(100),
            request_read_timeout: Duration::from_millis(1000),
            idle_timeout: Duration::from_millis(500),
            max_connections: 2,
        }
    }

    #[test]
    fn a_new_connection_has_the_header_timeout_to_send_its_headers() {
        let activity = Activity::opened();
        let Phase::Head { since } = activity.phase() else {
            panic!("{:?}", activity.phase())
        };
        let (at, cut) = deadline(activity.phase(), &limits()).unwrap();
        assert_eq!(
            (at - since, cut),
            (Duration::from_millis(100), Cut::SlowHeaders)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_answered_connection_waits_the_idle_timeout_then_its_next_headers_the_header_timeout()
     {
        let activity = Activity::opened();
        activity.request_started();
        assert_eq!(deadline(activity.phase(), &limits()), None);
        activity.request_finished();
        let (idle_until, cut) = deadline(activity.phase(), &limits()).unwrap();
        assert_eq!(cut, Cut::Idle);
        assert_eq!(idle_until - Instant::now(), Duration::from_millis(500));

        tokio::time::advance(Duration::from_millis(300)).await;
        activity.bytes_arrived();
        let (head_until, cut) = deadline(activity.phase(), &limits()).unwrap();
        assert_eq!(cut, Cut::SlowHeaders);
        assert_eq!(head_until - Instant::now(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_began_with_its_first_byte() {
        let activity = Activity::opened();
        activity.request_started();
        activity.request_finished();
        activity.bytes_arrived();
        let first_byte = Instant::now();
        tokio::time::advance(Duration::from_millis(40)).await;
        assert_eq!(activity.request_started(), first_byte);
    }

    #[test]
    fn bytes_during_a_request_change_nothing_and_the_last_answer_makes_it_idle() {
        let activity = Activity::opened();
        activity.request_started();
        activity.request_started();
        activity.bytes_arrived();
        assert_eq!(activity.phase(), Phase::Busy { requests: 2 });
        activity.request_finished();
        assert_eq!(activity.phase(), Phase::Busy { requests: 1 });
        activity.request_finished();
        assert!(matches!(activity.phase(), Phase::Idle { .. }));
    }
}
