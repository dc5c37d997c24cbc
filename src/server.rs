//! Serving the application over TCP: our own accept loop and hyper connections, so
//! that every connection is bounded (poem's `Server` sets no header timeout, no
//! whole-request deadline and no connection cap).
//!
//! A connection has `SUPAHOOK_HEADER_READ_TIMEOUT_MS` from its opening, or from the
//! first byte of a later request, to the end of the headers;
//! `SUPAHOOK_REQUEST_READ_TIMEOUT_MS` from a request's first byte to the end of its
//! body (408 then); `SUPAHOOK_IDLE_TIMEOUT_MS` between an answer and the next
//! request. Each listener serves at most `SUPAHOOK_MAX_CONNECTIONS` at once.

mod accept;
mod activity;
mod connection;
mod deadline;

use crate::config::{ConnectionLimits, ListenAddr};
use connection::Shared;
use poem::endpoint::BoxEndpoint;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A listening socket that serves nothing yet: `serve` binds its ports before it
/// builds the app, so a port in use is reported before any migration runs. The
/// kernel queues connections that arrive meanwhile.
pub struct Bound {
    socket: TcpListener,
    addr: SocketAddr,
}

impl Bound {
    /// Binds `addr` (a name is resolved; the first address that binds is used).
    pub async fn bind(addr: &ListenAddr) -> std::io::Result<Self> {
        let socket = TcpListener::bind(addr.to_string()).await?;
        Ok(Self {
            addr: socket.local_addr()?,
            socket,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The socket with the application it is to serve (the app's endpoints come
    /// boxed already, so a request goes through one dynamic call, not two).
    pub fn serving(self, app: BoxEndpoint<'static>) -> Listener {
        Listener {
            socket: self.socket,
            addr: self.addr,
            app,
        }
    }
}

/// A bound listening socket and the application it serves.
pub struct Listener {
    socket: TcpListener,
    addr: SocketAddr,
    app: BoxEndpoint<'static>,
}

impl Listener {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Serves every listener until `shutdown` resolves. The listeners stop accepting
/// once `stop` turns true; then connections finish the requests they have, for at
/// most `grace`, and are closed.
pub async fn serve(
    listeners: Vec<Listener>,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let tasks = TaskTracker::new();
    let closing = CancellationToken::new();
    let abort = CancellationToken::new();
    for listener in listeners {
        let shared = Shared {
            app: Arc::new(listener.app),
            limits,
            closing: closing.clone(),
            abort: abort.clone(),
        };
        let accepting = accept::run(
            listener.socket,
            listener.addr,
            shared,
            stop.clone(),
            tasks.clone(),
        );
        tasks.spawn(accepting);
    }
    shutdown.await;
    closing.cancel();
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!(
            connections = tasks.len(),
            "the shutdown timeout passed: closing the connections still answering"
        );
        abort.cancel();
        tasks.wait().await;
    }
}
