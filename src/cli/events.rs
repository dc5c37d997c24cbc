//! `supahook events redeliver`: queues recorded lifecycle events again for the
//! webhook endpoints, with a fresh retry window, for `serve` (running now or started
//! later) to send. It writes to the database only, so it works with `serve` stopped.

use crate::app::database::{migrate, open_storage};
use crate::config::PushEndpoint;
use crate::mirror::EventType;
use crate::storage::{PushQueries, RedeliverWindow};
use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args as ClapArgs, Subcommand};
use std::path::Path;

/// What to do with the recorded events.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

/// The events' subcommands.
#[derive(Debug, Subcommand)]
enum Action {
    /// Send the events recorded in a time window again to the webhook endpoints
    /// (SUPAHOOK_EVENTS_ENDPOINTS), dead-lettered and delivered ones alike; each
    /// endpoint still gets only the types it takes, in order per user.
    Redeliver(Redeliver),
}

/// Which events to send again, and where.
#[derive(Debug, ClapArgs)]
struct Redeliver {
    /// Events recorded at or after this time (RFC 3339, e.g. 2026-12-08T00:00:00Z).
    #[arg(long)]
    since: DateTime<Utc>,
    /// Events recorded before this time (RFC 3339); now when absent.
    #[arg(long)]
    until: Option<DateTime<Utc>>,
    /// Only this endpoint, one of SUPAHOOK_EVENTS_ENDPOINTS; every one when absent.
    #[arg(long)]
    endpoint: Option<String>,
    /// Only these event types (comma-separated or repeated); every type when absent.
    #[arg(long = "type", value_delimiter = ',')]
    types: Vec<String>,
}

pub async fn run(config: Option<&Path>, args: Args) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let Action::Redeliver(which) = args.action;
    let endpoints = chosen(&settings.push.endpoints, which.endpoint.as_deref())?;
    let types = types(&which.types)?;
    let until = which.until.unwrap_or_else(Utc::now);
    anyhow::ensure!(which.since < until, "--since must be before --until");
    let storage = open_storage(&settings)?;
    migrate(&storage).await?;
    for endpoint in endpoints {
        let types = both(endpoint.types.as_deref(), types.as_deref());
        let window = RedeliverWindow {
            url: endpoint.url.as_str(),
            since: which.since,
            until,
            types: types.as_deref(),
        };
        let queued = storage
            .requeue_push_events(&window, Utc::now())
            .await
            .with_context(|| format!("cannot queue events for {}", endpoint.url))?;
        println!("{queued} events queued again for {}", endpoint.url);
    }
    println!("`supahook serve` sends them, in order per user");
    Ok(())
}

/// The configured endpoints `--endpoint` names, or all.
fn chosen<'a>(
    endpoints: &'a [PushEndpoint],
    named: Option<&str>,
) -> anyhow::Result<Vec<&'a PushEndpoint>> {
    anyhow::ensure!(
        !endpoints.is_empty(),
        "no endpoint to send to: SUPAHOOK_EVENTS_ENDPOINTS is not set"
    );
    let Some(named) = named else {
        return Ok(endpoints.iter().collect());
    };
    let url = reqwest::Url::parse(named).with_context(|| format!("--endpoint {named}"))?;
    match endpoints.iter().find(|e| e.url == url) {
        Some(endpoint) => Ok(vec![endpoint]),
        None => anyhow::bail!(
            "--endpoint {named} is not one of SUPAHOOK_EVENTS_ENDPOINTS ({})",
            endpoints
                .iter()
                .map(|e| e.url.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The `--type` names, checked; `None` for every type.
fn types(names: &[String]) -> anyhow::Result<Option<Vec<&'static str>>> {
    if names.is_empty() {
        return Ok(None);
    }
    names
        .iter()
        .map(|name| match EventType::parse(name.trim()) {
            Some(kind) => Ok(kind.as_str()),
            None => anyhow::bail!("--type {name} is not an event type"),
        })
        .collect::<anyhow::Result<_>>()
        .map(Some)
}

/// The types both lists take; `None` (every type) only when both are `None`.
fn both(
    endpoint: Option<&[&'static str]>,
    asked: Option<&[&'static str]>,
) -> Option<Vec<&'static str>> {
    match (endpoint, asked) {
        (None, None) => None,
        (Some(only), None) | (None, Some(only)) => Some(only.to_vec()),
        (Some(a), Some(b)) => Some(a.iter().copied().filter(|t| b.contains(t)).collect()),
    }
}
