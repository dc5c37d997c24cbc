//! The Health page's small charts, drawn on the server as SVG shapes: deliveries per
//! minute as bars, and the median and 99th percentile answer times as lines.

use super::recent::Minute;

/// Drawing width and height, in SVG units.
const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 60.0;

/// One bar of a bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Left edge.
    pub x: String,
    /// Top edge.
    pub y: String,
    /// Width.
    pub width: String,
    /// Height.
    pub height: String,
    /// What the bar stands for, for a tooltip.
    pub label: String,
}

/// A chart: its shapes, its scale, and a sentence saying what it shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chart {
    /// Bars, for a bar chart.
    pub bars: Vec<Bar>,
    /// `points` of each line, for a line chart, with its name.
    pub lines: Vec<(&'static str, String)>,
    /// The value at the top of the drawing.
    pub top: String,
    /// The chart in words, for screen readers and as its caption.
    pub summary: String,
}

fn fmt(value: f64) -> String {
    format!("{value:.1}")
}

/// Deliveries per minute over the minutes given, oldest first.
pub fn rate(minutes: &[Minute]) -> Chart {
    let top = minutes.iter().map(|m| m.count).max().unwrap_or(0).max(1);
    let slot = WIDTH / minutes.len().max(1) as f64;
    let bars = minutes
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let height = HEIGHT * m.count as f64 / top as f64;
            Bar {
                x: fmt(i as f64 * slot + 1.0),
                y: fmt(HEIGHT - height),
                width: fmt((slot - 2.0).max(1.0)),
                height: fmt(height),
                label: format!("{} deliveries", m.count),
            }
        })
        .collect();
    let total: u64 = minutes.iter().map(|m| m.count).sum();
    let last = minutes.last().map_or(0, |m| m.count);
    Chart {
        bars,
        lines: Vec::new(),
        top: format!("{top}/min"),
        summary: format!(
            "{total} deliveries in the last {} minutes; {last} in the current minute",
            minutes.len()
        ),
    }
}

/// The median and 99th percentile answer times per minute, in milliseconds (each an
/// upper bound: a power of two); minutes without deliveries leave gaps at zero.
pub fn latency(minutes: &[Minute]) -> Chart {
    let p50: Vec<u64> = minutes
        .iter()
        .map(|m| m.quantile_ms(0.5).unwrap_or(0))
        .collect();
    let p99: Vec<u64> = minutes
        .iter()
        .map(|m| m.quantile_ms(0.99).unwrap_or(0))
        .collect();
    let top = p99.iter().copied().max().unwrap_or(0).max(1);
    let step = WIDTH / minutes.len().saturating_sub(1).max(1) as f64;
    let points = |values: &[u64]| {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let y = HEIGHT - HEIGHT * *v as f64 / top as f64;
                format!("{},{}", fmt(i as f64 * step), fmt(y))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let last = minutes.iter().rev().find(|m| m.count > 0);
    let summary = match last {
        Some(m) => format!(
            "in the last minute with deliveries, half were answered within {} ms and 99% \
             within {} ms",
            m.quantile_ms(0.5).unwrap_or(0),
            m.quantile_ms(0.99).unwrap_or(0)
        ),
        None => format!("no deliveries in the last {} minutes", minutes.len()),
    };
    Chart {
        bars: Vec::new(),
        lines: vec![("p50", points(&p50)), ("p99", points(&p99))],
        top: format!("{top} ms"),
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(count: u64, bucket: usize) -> Minute {
        let mut m = Minute {
            count,
            ..Minute::default()
        };
        m.buckets[bucket] = count;
        m
    }

    #[test]
    fn the_busiest_minute_fills_the_height() {
        let chart = rate(&[minute(0, 0), minute(5, 0), minute(10, 0)]);
        assert_eq!(chart.bars.len(), 3);
        assert_eq!(chart.bars[2].height, "60.0");
        assert_eq!(chart.bars[1].height, "30.0");
        assert_eq!(chart.bars[0].height, "0.0");
        assert_eq!(chart.top, "10/min");
        assert!(
            chart
                .summary
                .starts_with("15 deliveries in the last 3 minutes")
        );
    }

    #[test]
    fn latency_lines_are_scaled_to_the_slowest_minute() {
        let chart = latency(&[minute(4, 2), minute(0, 0), minute(4, 4)]);
        assert_eq!(chart.top, "16 ms");
        assert_eq!(
            chart.lines[1],
            ("p99", "0.0,45.0 150.0,60.0 300.0,0.0".to_owned())
        );
        assert!(chart.summary.contains("within 16 ms"), "{}", chart.summary);
    }
}
