//! How far a reconciliation is: a bar with the rate and the time left on a
//! terminal, a plain line every few seconds otherwise (a log, a CI job, a pipe).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a plain progress line is written.
const LINE_EVERY: Duration = Duration::from_secs(10);

/// Reports rows done out of a total, on standard error.
pub enum Progress {
    /// Standard error is a terminal.
    Bar(ProgressBar),
    /// It is not: a line now and then.
    Lines {
        /// When the run began.
        started: Instant,
        /// When the last line was written.
        last: Mutex<Instant>,
    },
}

impl Progress {
    /// Progress from now on.
    pub fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            let now = Instant::now();
            return Self::Lines {
                started: now,
                last: Mutex::new(now),
            };
        }
        let style = ProgressStyle::with_template(
            "{bar:40} {human_pos}/{human_len} users  {per_sec}  eta {eta}",
        )
        .expect("a valid template");
        Self::Bar(
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style),
        )
    }

    /// `done` rows of `total` are done.
    pub fn set(&self, done: u64, total: u64) {
        match self {
            Self::Bar(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            Self::Lines { started, last } => {
                let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if last.elapsed() >= LINE_EVERY {
                    *last = Instant::now();
                    eprintln!("{}", line(done, total, started.elapsed()));
                }
            }
        }
    }

    /// Takes the bar off the terminal.
    pub fn finish(&self) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// `reconciling: 120000/1000000 users, 24000 users/s, about 37 s left`.
fn line(done: u64, total: u64, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    let left = match rate > 0.0 {
        true => format!(
            "about {:.0} s left",
            total.saturating_sub(done) as f64 / rate
        ),
        false => "time left unknown".to_owned(),
    };
    format!("reconciling: {done}/{total} users, {rate:.0} users/s, {left}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_line_gives_the_rate_and_the_time_left() {
        assert_eq!(
            line(120_000, 1_000_000, Duration::from_secs(5)),
            "reconciling: 120000/1000000 users, 24000 users/s, about 37 s left"
        );
        assert_eq!(
            line(0, 10, Duration::ZERO),
            "reconciling: 0/10 users, 0 users/s, time left unknown"
        );
    }
}
