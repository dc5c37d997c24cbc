//! Serving one accepted connection with hyper over HTTP/1.1, cut when its phase's
//! deadline passes, closed gracefully on shutdown.
//!
//! HTTP/1.1 only: Supabase Auth and every proxy in front of supahook speak it, and
//! HTTP/2's many streams per connection would multiply what one unauthenticated
//! connection may hold (headers and a body per stream) past the connection cap.

use super::activity::{self, Activity};
use super::deadline;
use crate::config::ConnectionLimits;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::endpoint::BoxEndpoint;
use poem::web::{LocalAddr, RemoteAddr};
use std::convert::Infallible;

/// How much of a request's head (its request line and headers) a connection buffers
/// before it refuses the request with 431; hyper checks it between reads, so a head
/// is refused by the time it passes twice this. hyper's own default is 400 KiB.
const MAX_HEADER_BYTES: usize = 64 * 1024;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What every connection of a listener shares.
#[derive(Clone)]
pub struct Shared {
    pub app: Arc<BoxEndpoint<'static>>,
    pub limits: ConnectionLimits,
    /// Cancelled on shutdown: finish the requests in flight, then close.
    pub closing: CancellationToken,
    /// Cancelled when the shutdown timeout has passed: close now.
    pub abort: CancellationToken,
}

/// Serves `socket` until the client closes it, a deadline cuts it, or shutdown.
pub async fn serve(socket: TcpStream, local: LocalAddr, remote: RemoteAddr, shared: Shared) {
    let activity = Arc::new(Activity::opened());
    let io = TokioIo::new(Watched {
        socket,
        activity: activity.clone(),
    });
    let service = hyper::service::service_fn({
        let (activity, app, limits) = (activity.clone(), shared.app.clone(), shared.limits);
        let remote = remote.clone();
        move |request: hyper::Request<Incoming>| {
            let answer = deadline::Answer {
                began: activity.request_started(),
                limit: limits.request_read_timeout,
                local: local.clone(),
                remote: remote.clone(),
            };
            let (activity, app) = (activity.clone(), app.clone());
            async move {
                let _finished = Finished(activity);
                Ok::<_, Infallible>(answer.serve(&app, request).await)
            }
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    // The header clock is `Activity`'s: hyper's would also cut kept-alive connections.
    builder
        .http1()
        .header_read_timeout(None)
        .keep_alive(true)
        .max_buf_size(MAX_HEADER_BYTES);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    // The watchdog runs as a task of its own, so a wake-up of this one (every read and
    // write) polls only the connection and a channel, not timers and shutdown tokens.
    let (stop_sender, mut stops) = mpsc::channel(2);
    // It ends by itself once this task has gone, however it went (see `watch`).
    tokio::spawn(watch(activity, shared, remote, stop_sender));
    loop {
        tokio::select! {
            biased;
            _ = connection.as_mut() => break,
            stop = stops.recv() => match stop {
                Some(Stop::Graceful) => connection.as_mut().graceful_shutdown(),
                Some(Stop::Now) | None => break,
            },
        }
    }
}

/// What the watchdog asks of its connection.
enum Stop {
    /// Finish the request in flight, then close (shutdown began).
    Graceful,
    /// Close now: a deadline passed, or the shutdown timeout did.
    Now,
}

/// Looks at the connection's phase a few times per timeout rather than timing it
/// exactly, so a request costs no timer work and a cut comes at most a quarter of the
/// shorter timeout late; and passes shutdown on.
async fn watch(
    activity: Arc<Activity>,
    shared: Shared,
    remote: RemoteAddr,
    stops: mpsc::Sender<Stop>,
) {
    let mut looks = tokio::time::interval(activity::look_every(&shared.limits));
    looks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = looks.tick() => {
                if let Some((at, cut)) = activity::deadline(activity.phase(), &shared.limits)
                    && at <= tokio::time::Instant::now()
                {
                    tracing::debug!(remote = %remote, reason = cut.reason(), "connection closed");
                    let _ = stops.send(Stop::Now).await;
                    return;
                }
            }
            () = shared.closing.cancelled(), if !closing => {
                closing = true;
                let _ = stops.send(Stop::Graceful).await;
            }
            () = shared.abort.cancelled() => {
                let _ = stops.send(Stop::Now).await;
                return;
            }
            // The connection ended: nothing is left to watch.
            () = stops.closed() => return,
        }
    }
}

/// Marks a request answered when its answer is ready, or when it is given up.
struct Finished(Arc<Activity>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The socket, telling the connection's `Activity` when bytes arrive.
struct Watched {
    socket: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.socket).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}
