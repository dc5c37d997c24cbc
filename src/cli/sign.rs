//! `supahook sign FILE`: print the Standard Webhooks headers for one body,
//! ready for `curl -H @headers.txt --data-binary @FILE`.

use std::path::Path;

/// Options of `supahook sign`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The body to sign, exactly as it will be sent; `-` reads standard input.
    file: String,
    /// Secret to sign with (`v1,whsec_...`); default: the configured or generated secret.
    #[arg(long)]
    secret: Option<String>,
    /// The webhook-id to sign under; default: a fresh one.
    #[arg(long)]
    id: Option<String>,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<()> {
    let settings = crate::config::Settings::load(config)?;
    let key = super::signing_key(&settings, args.secret.as_deref())?;
    let body = super::read_input(&args.file)?;
    let id = args
        .id
        .unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
    let timestamp = chrono::Utc::now().timestamp();
    println!("webhook-id: {id}");
    println!("webhook-timestamp: {timestamp}");
    println!(
        "webhook-signature: {}",
        key.sign(&id, timestamp, body.as_bytes())
    );
    Ok(())
}
