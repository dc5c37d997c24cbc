//! Stopping `serve` without failing a request: on SIGTERM or Ctrl-C, the listening
//! socket closes first (new connections are refused, so a proxy or Service sends
//! them elsewhere), connections already accepted get a moment to deliver their
//! request, and then the server finishes what is in flight, up to a time limit.

use futures_util::FutureExt;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use std::io::Result as IoResult;
use std::time::Duration;
use tokio::sync::watch;

/// After the listener closes, how long a just-accepted connection has to send its
/// request before idle connections are closed.
pub const ACCEPT_DRAIN: Duration = Duration::from_millis(500);

/// Accepts like the acceptor it wraps until told to stop; then takes the
/// connections the kernel already queued, closes the listening socket and
/// accepts nothing more.
pub struct StopAccepting<A> {
    inner: Option<A>,
    addrs: Vec<LocalAddr>,
    stop: watch::Receiver<bool>,
}

impl<A: Acceptor> StopAccepting<A> {
    pub fn new(inner: A, stop: watch::Receiver<bool>) -> Self {
        Self {
            addrs: inner.local_addr(),
            inner: Some(inner),
            stop,
        }
    }
}

impl<A: Acceptor> Acceptor for StopAccepting<A> {
    type Io = A::Io;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.addrs.clone()
    }

    async fn accept(
        &mut self,
    ) -> IoResult<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        if let Some(inner) = self.inner.as_mut() {
            if !*self.stop.borrow() {
                tokio::select! {
                    accepted = inner.accept() => return accepted,
                    _ = self.stop.wait_for(|stop| *stop) => {}
                }
            }
            if let Some(queued) = inner.accept().now_or_never() {
                return queued;
            }
            self.inner = None;
            tracing::info!("stopped accepting connections");
        }
        std::future::pending().await
    }
}

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
