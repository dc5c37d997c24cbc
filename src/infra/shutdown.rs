//! Stopping `serve` without failing a request: on SIGTERM or Ctrl-C, the listening
//! socket closes first (new connections are refused, so a proxy or Service sends
//! them elsewhere), connections already accepted get a moment to deliver their
//! request, and then the server finishes what is in flight, up to a time limit
//! (`crate::server` carries this out).

use std::time::Duration;
use tokio::sync::watch;

/// After the listener closes, how long a just-accepted connection has to send its
/// request before idle connections are closed.
pub const ACCEPT_DRAIN: Duration = Duration::from_millis(500);

/// Resolves when the server should stop: on SIGINT or SIGTERM, it first tells
/// `stop` (the listener closes), then waits [`ACCEPT_DRAIN`].
pub async fn signal(stop: watch::Sender<bool>, grace: Duration) {
    terminate_or_interrupt().await;
    tracing::info!(
        grace_seconds = grace.as_secs(),
        "shutting down: no new connections; finishing the requests in flight"
    );
    let _ = stop.send(true);
    tokio::time::sleep(ACCEPT_DRAIN).await;
}

async fn terminate_or_interrupt() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
