//! `supahook healthcheck`: ask a running supahook whether it is ready, for a
//! container's HEALTHCHECK (the image needs no curl). Exits 0 when ready, 1 otherwise.

use anyhow::bail;
use std::path::Path;
use std::time::Duration;

/// Options of `supahook healthcheck`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the supahook to ask; default: this machine's SUPAHOOK_LISTEN_ADDR.
    #[arg(long)]
    url: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 3)]
    timeout: u64,
}

pub async fn run(config: Option<&Path>, args: Args) -> anyhow::Result<()> {
    let settings = crate::config::Settings::load(config)?;
    let base = args.url.unwrap_or_else(|| settings.listen_addr.local_url());
    let url = format!("{}/health/ready", base.trim_end_matches('/'));
    let client = crate::infra::tls::http_client(Duration::from_secs(args.timeout))
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => {
            println!("ready: {url} answered {}", response.status());
            Ok(())
        }
        Ok(response) => bail!("not ready: {url} answered {}", response.status()),
        Err(error) => bail!(
            "not ready: no answer from {url}: {}",
            crate::infra::error_chain::describe(&error)
        ),
    }
}
