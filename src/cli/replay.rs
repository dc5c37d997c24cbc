//! `supahook replay FILE`: sign and send JSONL events to a running supahook.

mod events;
pub(super) mod tally;
#[cfg(test)]
mod tests;

use events::Event;
use tally::{Tally, Verdict};

use crate::signature::SigningKey;
use anyhow::bail;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::time::{Duration, Instant};

/// Options of `supahook replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSONL file of hook bodies (or `{"hook": ..., "body": ...}` lines); `-` reads standard input.
    file: String,
    /// Hook for lines that do not name one: custom-access-token, before-user-created,
    /// after-user-created or auth-users. Without it, the hook is inferred from each body.
    #[arg(long)]
    hook: Option<String>,
    /// Base URL of the supahook to send to; default: the local server (SUPAHOOK_LISTEN_ADDR).
    #[arg(long)]
    url: Option<String>,
    /// Secret to sign with (`v1,whsec_...`); default: the configured or generated secret.
    #[arg(long)]
    secret: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Requests started per second at most.
    #[arg(long)]
    rate: Option<f64>,
    /// Print each request as a curl command instead of sending it.
    #[arg(long)]
    dry_run: bool,
    /// Give every event a fresh metadata.uuid and webhook-id, so it counts as new.
    #[arg(long)]
    new_ids: bool,
}

pub async fn run(config: Option<&Path>, args: Args) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let key = super::signing_key(&settings, args.secret.as_deref())?;
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| settings.listen_addr.local_url());
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        bail!("--rate must be a positive number of requests per second");
    }
    let text = super::read_input(&args.file)?;
    let events = events::parse_events(&text, args.hook.as_deref(), args.new_ids)?;

    if args.dry_run {
        use std::io::Write;
        let now = chrono::Utc::now().timestamp();
        let mut out = std::io::stdout().lock();
        for event in &events {
            // A closed pipe (`| head`) ends the listing quietly.
            if writeln!(out, "{}", events::curl(&url, event, &key, now)).is_err() {
                break;
            }
        }
        return Ok(());
    }

    let client = crate::infra::tls::http_client(Duration::from_secs(10))
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
    reachable(&client, &url).await?;
    let started = Instant::now();
    let tally = send_all(&client, &url, &key, &events, &args).await?;
    let seconds = started.elapsed().as_secs_f64();
    print!("{}", report(&tally, seconds));
    if tally.failed() > 0 {
        let (reasons, _) = tally.reasons();
        let first = reasons
            .first()
            .map(|(r, _)| r.as_str())
            .unwrap_or("unknown");
        bail!(
            "{} of {} deliveries failed ({} rejected, {} errors); the first reason: {first}",
            tally.failed(),
            tally.sent,
            tally.rejected,
            tally.errors
        );
    }
    if !tally.all_settled() {
        bail!(
            "{} of {} deliveries are not applied yet: {} wait in the server's spool for its \
             database and are applied when it answers",
            tally.sent - tally.settled(),
            tally.sent,
            tally.count("spooled"),
        );
    }
    Ok(())
}

/// Fails at once, with the cause, when nothing answers at `url`.
async fn reachable(client: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let probe = format!("{}/health/live", url.trim_end_matches('/'));
    match client.get(&probe).send().await {
        Ok(_) => Ok(()),
        Err(error) => bail!(
            "cannot reach supahook at {url}: {}; is `supahook serve` running there? (--url sets the address)",
            crate::infra::error_chain::describe(&error)
        ),
    }
}

async fn send_all(
    client: &reqwest::Client,
    url: &str,
    key: &SigningKey,
    events: &[Event],
    args: &Args,
) -> anyhow::Result<Tally> {
    let bar = ProgressBar::new(events.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events  {per_sec}")
            .expect("a valid template"),
    );
    let mut pacing = args.rate.map(|rate| {
        let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    let mut tally = Tally::default();
    let mut in_flight = futures_util::stream::FuturesUnordered::new();
    for event in events {
        if in_flight.len() >= usize::from(args.concurrency)
            && let Some((verdict, latency)) = in_flight.next().await
        {
            tally.record(verdict, latency);
            bar.inc(1);
        }
        if let Some(interval) = pacing.as_mut() {
            interval.tick().await;
        }
        in_flight.push(send(client, url, key, event));
    }
    while let Some((verdict, latency)) = in_flight.next().await {
        tally.record(verdict, latency);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(tally)
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    key: &SigningKey,
    event: &Event,
) -> (Verdict, Duration) {
    let started = Instant::now();
    let mut request = client
        .post(format!(
            "{}/hooks/{}",
            url.trim_end_matches('/'),
            event.hook
        ))
        .header("content-type", "application/json")
        .body(event.body.clone());
    for (name, value) in events::headers(event, key, chrono::Utc::now().timestamp()) {
        request = request.header(name, value);
    }
    let verdict = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let outcome = response
                .headers()
                .get("supahook-outcome")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // Only a refusal's body is read: it says why.
            let body = match status {
                200..=299 => Default::default(),
                _ => response.bytes().await.unwrap_or_default(),
            };
            Verdict::of(status, outcome.as_deref(), &body)
        }
        Err(error) => Verdict::NoAnswer(crate::infra::error_chain::describe(&error)),
    };
    (verdict, started.elapsed())
}

fn report(t: &Tally, seconds: f64) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut text = format!("{:<12}{}\n", "sent", t.sent);
    for outcome in tally::OUTCOMES {
        text.push_str(&format!("{outcome:<12}{}\n", t.count(outcome)));
    }
    for (outcome, count) in t.unusual_outcomes() {
        text.push_str(&format!("{outcome:<12}{count}\n"));
    }
    text.push_str(&format!(
        "{:<12}{}\n{:<12}{}\n",
        "rejected", t.rejected, "errors", t.errors
    ));
    let (reasons, others) = t.reasons();
    if !reasons.is_empty() {
        text.push_str("why deliveries failed, as the server said:\n");
        for (reason, count) in reasons {
            text.push_str(&format!("  {count:>6}  {reason}\n"));
        }
        if others > 0 {
            text.push_str(&format!("  {others:>6}  for other reasons\n"));
        }
    }
    if t.answered() == 0 {
        text.push_str("no request got an answer, so there is no throughput or latency to report\n");
        return text;
    }
    text.push_str(&format!(
        "throughput  {:.0} answers/s over {seconds:.2} s\nlatency     p50 {:.1} ms, p99 {:.1} ms (answered requests)\n",
        t.answered() as f64 / seconds.max(f64::EPSILON),
        ms(t.percentile(50.0)),
        ms(t.percentile(99.0)),
    ));
    text
}
