//! The deliveries this process received lately, with what the ledger does not keep:
//! their headers (never the signature or a credential), their body, and how long
//! they took; and, minute by minute, how many came and how fast they were answered.
//!
//! Kept in memory only, bounded: the last [`CAPACITY`] deliveries, each body up to
//! [`BODY_CAP`] (a longer one keeps only its size), and [`MINUTES`] minutes of counts.
//! The ledger's write is the hot path of every hook and a body holds the user's
//! personal data (and, in a Database Webhook, `encrypted_password`), so neither goes
//! to the database: the console shows the ledger's rows from the database and the
//! details of those this process still holds. Bodies are redacted when shown.

use chrono::{DateTime, Utc};
use poem::http::HeaderMap;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// How many deliveries keep their details.
pub const CAPACITY: usize = 1000;

/// The largest body kept, in bytes; at most `CAPACITY * BODY_CAP` (16 MiB) in all.
pub const BODY_CAP: usize = 16 * 1024;

/// How many minutes of counts are kept for the charts.
pub const MINUTES: usize = 30;

/// Headers never kept: the signature and every credential.
const NEVER_KEPT: [&str; 4] = [
    "webhook-signature",
    "authorization",
    "proxy-authorization",
    "cookie",
];

/// One delivery as it arrived and what it came to.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryDetail {
    /// The ledger's key for it.
    pub idempotency_key: String,
    /// The endpoint, such as `custom-access-token`.
    pub hook: &'static str,
    /// The user concerned.
    pub user_id: Option<Uuid>,
    /// What it did, as in `Supahook-Outcome`.
    pub outcome: &'static str,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// From its arrival to its answer: reading, verifying and applying it.
    pub duration: Duration,
    /// Its headers, in order, without the signature and credentials.
    pub headers: Vec<(String, String)>,
    /// Its body, when at most [`BODY_CAP`] bytes.
    pub body: Option<Vec<u8>>,
    /// Its size in bytes.
    pub body_len: usize,
}

/// The headers worth keeping, as text; a value that is not text is shown as such.
pub fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !NEVER_KEPT.contains(&name.as_str()))
        .map(|(name, value)| {
            let text = value.to_str().unwrap_or("(not text)");
            (name.as_str().to_owned(), text.to_owned())
        })
        .collect()
}

/// The body, when it is small enough to keep.
pub fn kept_body(body: &[u8]) -> Option<Vec<u8>> {
    (body.len() <= BODY_CAP).then(|| body.to_vec())
}

/// Deliveries and durations of one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Minute {
    /// Minutes since the epoch.
    pub at: i64,
    /// Deliveries answered in it.
    pub count: u64,
    /// How many took under 1 ms, under 2 ms, ... under 2^(i) ms; the last counts the rest.
    pub buckets: [u64; BUCKETS],
}

/// Latency buckets per minute: 1 ms doubling up to 8 s, and slower.
pub const BUCKETS: usize = 14;

impl Minute {
    fn add(&mut self, duration: Duration) {
        self.count += 1;
        let ms = duration.as_millis();
        let bucket = (0..BUCKETS - 1)
            .find(|i| ms < 1u128 << i)
            .unwrap_or(BUCKETS - 1);
        self.buckets[bucket] += 1;
    }

    /// The upper bound, in milliseconds, under which the `q` share (0 to 1) of this
    /// minute's deliveries were answered; `None` for a minute without any.
    pub fn quantile_ms(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let wanted = (q * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                return Some(1 << i);
            }
        }
        Some(1 << (BUCKETS - 1))
    }
}

#[derive(Debug, Default)]
struct Held {
    deliveries: VecDeque<Arc<DeliveryDetail>>,
    minutes: VecDeque<Minute>,
}

/// The recent deliveries of this process; cheap to share.
#[derive(Debug, Default)]
pub struct RecentDeliveries {
    held: Mutex<Held>,
}

impl RecentDeliveries {
    /// Keeps `detail`, forgetting the oldest past [`CAPACITY`], and counts it in its minute.
    pub fn record(&self, detail: DeliveryDetail) {
        let minute = detail.received_at.timestamp().div_euclid(60);
        let duration = detail.duration;
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.deliveries.len() == CAPACITY {
            held.deliveries.pop_front();
        }
        held.deliveries.push_back(Arc::new(detail));
        // Deliveries finish out of order, so a minute may come after a later one.
        let place = held.minutes.iter().rposition(|m| m.at <= minute);
        let index = match place {
            Some(i) if held.minutes[i].at == minute => i,
            _ => {
                let at = place.map_or(0, |i| i + 1);
                let new = Minute {
                    at: minute,
                    ..Minute::default()
                };
                held.minutes.insert(at, new);
                at
            }
        };
        held.minutes[index].add(duration);
        while held.minutes.len() > MINUTES {
            held.minutes.pop_front();
        }
    }

    /// The details of the delivery with this key, when still held.
    pub fn find(&self, idempotency_key: &str) -> Option<Arc<DeliveryDetail>> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.deliveries
            .iter()
            .rev()
            .find(|d| d.idempotency_key == idempotency_key)
            .cloned()
    }

    /// The last [`MINUTES`] minutes up to `now`, oldest first, with empty minutes filled in.
    pub fn minutes(&self, now: DateTime<Utc>) -> Vec<Minute> {
        let current = now.timestamp().div_euclid(60);
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        (current - MINUTES as i64 + 1..=current)
            .map(|at| {
                held.minutes
                    .iter()
                    .find(|m| m.at == at)
                    .copied()
                    .unwrap_or(Minute {
                        at,
                        ..Minute::default()
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(key: &str, at: DateTime<Utc>, ms: u64) -> DeliveryDetail {
        DeliveryDetail {
            idempotency_key: key.into(),
            hook: "custom-access-token",
            user_id: None,
            outcome: "created",
            received_at: at,
            duration: Duration::from_millis(ms),
            headers: Vec::new(),
            body: None,
            body_len: 0,
        }
    }

    #[test]
    fn only_the_last_deliveries_are_held() {
        let recent = RecentDeliveries::default();
        let now = Utc::now();
        for i in 0..=CAPACITY {
            recent.record(detail(&i.to_string(), now, 1));
        }
        assert!(recent.find("0").is_none());
        assert!(recent.find("1").is_some());
        assert!(recent.find(&CAPACITY.to_string()).is_some());
    }

    #[test]
    fn minutes_count_deliveries_and_bound_their_durations() {
        let recent = RecentDeliveries::default();
        let now = DateTime::from_timestamp(600 * 60 + 30, 0).unwrap();
        for ms in [0, 0, 3, 3, 3, 3, 3, 3, 3, 900] {
            recent.record(detail("k", now, ms));
        }
        recent.record(detail("k", now - chrono::TimeDelta::minutes(2), 5));
        let minutes = recent.minutes(now);
        assert_eq!(minutes.len(), MINUTES);
        let last = minutes[MINUTES - 1];
        assert_eq!(last.count, 10);
        assert_eq!(last.quantile_ms(0.5), Some(4));
        assert_eq!(last.quantile_ms(0.99), Some(1024));
        assert_eq!(minutes[MINUTES - 3].count, 1);
        assert_eq!(minutes[MINUTES - 2].quantile_ms(0.5), None);
    }

    #[test]
    fn the_signature_and_credentials_are_never_kept() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("webhook-id", "msg_1"),
            ("webhook-signature", "v1,c2lnbmF0dXJl"),
            ("authorization", "Bearer secret-token"),
            ("cookie", "a=b"),
            ("user-agent", "pg_net"),
        ] {
            headers.insert(name, value.parse().unwrap());
        }
        let kept = kept_headers(&headers);
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["webhook-id", "user-agent"]);
    }

    #[test]
    fn a_body_over_the_cap_is_not_kept() {
        assert!(kept_body(&vec![b'x'; BODY_CAP]).is_some());
        assert!(kept_body(&vec![b'x'; BODY_CAP + 1]).is_none());
    }
}
