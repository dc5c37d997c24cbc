#![forbid(unsafe_code)]

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // One TLS provider for the whole process: ring (no C toolchain beyond cc).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = supahook::cli::Cli::parse();
    match cli.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("supahook: {error:#}");
            ExitCode::FAILURE
        }
    }
}
