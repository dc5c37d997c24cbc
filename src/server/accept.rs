//! The accept loop of one listener: at most `SUPAHOOK_MAX_CONNECTIONS` connections
//! at once (further ones wait in the kernel's backlog while those already accepted
//! are served), and on shutdown the listening socket closes after the connections
//! the kernel already queued are taken.

use super::connection::{self, Shared};
use futures_util::FutureExt;
use poem::web::{LocalAddr, RemoteAddr};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_util::task::TaskTracker;

/// How long to wait after a failed accept (out of file descriptors, say) before the next.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Accepts on `listener` until `stop` turns true, serving each connection as a task of
/// `tasks`.
pub async fn run(
    listener: TcpListener,
    addr: SocketAddr,
    shared: Shared,
    mut stop: watch::Receiver<bool>,
    tasks: TaskTracker,
) {
    let local = LocalAddr(addr.into());
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = take_slot_then_accept(&listener, &slots) => accepted,
        };
        match accepted {
            (Ok((socket, remote)), slot) => {
                let connection = connection::serve(
                    socket,
                    local.clone(),
                    RemoteAddr(remote.into()),
                    shared.clone(),
                );
                tasks.spawn(with_slot(connection, Some(slot)));
            }
            (Err(error), _) => {
                tracing::warn!(error = %error, "could not accept a connection");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
    // Connections the kernel queued before the stop were accepted by it already: they
    // are served, past the limit if need be, rather than reset.
    while let Some(Ok((socket, remote))) = listener.accept().now_or_never() {
        let slot = slots.clone().try_acquire_owned().ok();
        let connection = connection::serve(
            socket,
            local.clone(),
            RemoteAddr(remote.into()),
            shared.clone(),
        );
        tasks.spawn(with_slot(connection, slot));
    }
    drop(listener);
    tracing::info!(addr = %local, "stopped accepting connections");
}

/// Waits for a free slot, then for a connection: while every slot is taken, new
/// connections stay in the kernel's backlog.
async fn take_slot_then_accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (
    std::io::Result<(tokio::net::TcpStream, SocketAddr)>,
    OwnedSemaphorePermit,
) {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    (listener.accept().await, slot)
}

/// Runs `connection`, giving its slot back when it ends.
async fn with_slot(connection: impl Future<Output = ()>, slot: Option<OwnedSemaphorePermit>) {
    connection.await;
    drop(slot);
}
