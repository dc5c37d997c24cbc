//! `supahook openapi`: print the spec, or check the committed copy.

use anyhow::{Context, bail};
use std::path::PathBuf;

/// Options of `supahook openapi`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Exit non-zero when FILE differs from the generated spec, instead of printing.
    #[arg(long)]
    check: bool,
    /// The committed spec to compare with.
    #[arg(long, value_name = "FILE", default_value = "openapi/openapi.yaml")]
    file: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let spec = crate::http::spec_yaml();
    if !args.check {
        print!("{spec}");
        return Ok(());
    }
    let committed = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    if committed != spec {
        bail!(
            "{} is out of date; regenerate it with `supahook openapi > {}`",
            args.file.display(),
            args.file.display()
        );
    }
    Ok(())
}
