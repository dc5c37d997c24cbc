//! What each replayed delivery came to, from the server's answer, and the tally
//! replay reports.

use serde_json::Value;
use std::time::Duration;

/// The outcomes a 2xx answer's `Supahook-Outcome` header can name, in report order.
pub const OUTCOMES: [&str; 9] = [
    "created",
    "updated",
    "unchanged",
    "deleted",
    "skipped",
    "duplicate",
    "stale",
    "refused",
    "spooled",
];

/// How many distinct failure reasons a report lists.
pub const REASONS_SHOWN: usize = 5;

/// What one delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx, with the `Supahook-Outcome` it named (`answered` when it named none).
    Answered(String),
    /// 4xx: the server refused it, for this reason.
    Rejected(String),
    /// 5xx, for this reason.
    Error(String),
    /// No answer at all, for this reason.
    NoAnswer(String),
}

impl Verdict {
    /// Classifies an HTTP answer by status, `Supahook-Outcome` header and body; a refusal's
    /// reason is the server's JSON error (`code: message`), else the start of the body.
    pub fn of(status: u16, outcome: Option<&str>, body: &[u8]) -> Self {
        match status {
            200..=299 => Self::Answered(outcome.unwrap_or("answered").to_owned()),
            400..=499 => Self::Rejected(reason(status, body)),
            _ => Self::Error(reason(status, body)),
        }
    }
}

/// `401 signature_mismatch: no signature ...`, from an error answer's body.
fn reason(status: u16, body: &[u8]) -> String {
    let error = serde_json::from_slice::<Value>(body).ok();
    let error = error.as_ref().and_then(|v| v.get("error"));
    let text = |key: &str| error.and_then(|e| e.get(key)).and_then(Value::as_str);
    match (text("code"), text("message")) {
        (Some(code), Some(message)) => format!("{status} {code}: {message}"),
        (None, Some(message)) => format!("{status}: {message}"),
        _ => {
            let body = String::from_utf8_lossy(body);
            let start: String = body.trim().chars().take(200).collect();
            match start.is_empty() {
                true => format!("{status} with an empty body"),
                false => format!("{status}: {start}"),
            }
        }
    }
}

/// Counts, failure reasons and latencies of a replay.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Deliveries sent.
    pub sent: u64,
    /// 2xx answers by the outcome they named.
    outcomes: std::collections::BTreeMap<String, u64>,
    /// Refused by the server (4xx).
    pub rejected: u64,
    /// Server errors or transport failures.
    pub errors: u64,
    /// The first [`REASONS_SHOWN`] distinct reasons for a failure, with how many each.
    reasons: Vec<(String, u64)>,
    /// Failures whose reason is not among those listed.
    other_reasons: u64,
    latencies: Vec<Duration>,
}

impl Tally {
    /// Records one delivery.
    /// Latencies are kept for answered requests only.
    pub fn record(&mut self, result: Verdict, latency: Duration) {
        self.sent += 1;
        if !matches!(result, Verdict::NoAnswer(_)) {
            self.latencies.push(latency);
        }
        match result {
            Verdict::Answered(outcome) => *self.outcomes.entry(outcome).or_default() += 1,
            Verdict::Rejected(reason) => {
                self.rejected += 1;
                self.note(reason);
            }
            Verdict::Error(reason) => {
                self.errors += 1;
                self.note(reason);
            }
            Verdict::NoAnswer(cause) => {
                self.errors += 1;
                self.note(format!("no answer: {cause}"));
            }
        }
    }

    fn note(&mut self, reason: String) {
        if let Some((_, count)) = self.reasons.iter_mut().find(|(r, _)| *r == reason) {
            *count += 1;
        } else if self.reasons.len() < REASONS_SHOWN {
            self.reasons.push((reason, 1));
        } else {
            self.other_reasons += 1;
        }
    }

    /// How many 2xx answers named `outcome`.
    pub fn count(&self, outcome: &str) -> u64 {
        self.outcomes.get(outcome).copied().unwrap_or(0)
    }

    /// 2xx answers whose outcome is not one of [`OUTCOMES`], by what they named.
    pub fn unusual_outcomes(&self) -> impl Iterator<Item = (&str, u64)> {
        self.outcomes
            .iter()
            .filter(|(name, _)| !OUTCOMES.contains(&name.as_str()))
            .map(|(name, n)| (name.as_str(), *n))
    }

    /// The distinct failure reasons, first seen first, with how many each; then how
    /// many failures had a reason not listed.
    pub fn reasons(&self) -> (&[(String, u64)], u64) {
        (&self.reasons, self.other_reasons)
    }

    /// Requests that got an HTTP answer.
    pub fn answered(&self) -> u64 {
        self.latencies.len() as u64
    }

    /// Deliveries that did not reach the mirror and will not: rejected, or failed.
    pub fn failed(&self) -> u64 {
        self.rejected + self.errors
    }

    /// Deliveries the mirror reflects: applied now or before, or deliberately not applied
    /// (older than the stored state, skipped, refused by policy); all but the spooled ones.
    pub fn settled(&self) -> u64 {
        OUTCOMES
            .iter()
            .filter(|outcome| **outcome != "spooled")
            .map(|outcome| self.count(outcome))
            .sum()
    }

    /// Whether every delivery was settled: none failed, none waits in the server's spool,
    /// none was answered with an outcome this version does not know.
    pub fn all_settled(&self) -> bool {
        self.settled() == self.sent
    }

    /// The latency below which `percent` of answered deliveries completed.
    pub fn percentile(&self, percent: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        match sorted.len() {
            0 => Duration::ZERO,
            n => sorted[((n as f64 * percent / 100.0).ceil() as usize).clamp(1, n) - 1],
        }
    }
}
