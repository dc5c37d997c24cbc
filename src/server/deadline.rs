//! The whole-request deadline: a request's body must have arrived within
//! `SUPAHOOK_REQUEST_READ_TIMEOUT_MS` of its first byte. A handler still reading it
//! then gets a read error, and the client gets 408 and a closed connection.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::http::{HeaderValue, header};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, Response};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// One request to answer, with what its deadline is counted from.
pub struct Answer {
    /// When its first byte arrived.
    pub began: Instant,
    /// `SUPAHOOK_REQUEST_READ_TIMEOUT_MS`
    pub limit: Duration,
    pub local: LocalAddr,
    pub remote: RemoteAddr,
}

impl Answer {
    /// `app`'s answer to `request`, or 408 when its body came too slowly.
    pub async fn serve(
        self,
        app: &BoxEndpoint<'static>,
        request: hyper::Request<Incoming>,
    ) -> hyper::Response<BoxBody<Bytes, io::Error>> {
        let mut request =
            poem::Request::from((request, self.local, self.remote.clone(), Scheme::HTTP));
        let body = request.take_body();
        if body.is_empty() {
            return app.get_response(request).await.into();
        }
        let expired = Arc::new(AtomicBool::new(false));
        request.set_body(BoxBody::new(Deadline {
            inner: BoxBody::from(body),
            at: self.began + self.limit,
            timer: None,
            expired: expired.clone(),
        }));
        let answer = app.get_response(request).await;
        if !expired.load(Ordering::Relaxed) {
            return answer.into();
        }
        tracing::info!(
            remote = %self.remote,
            limit_ms = self.limit.as_millis(),
            "request cut off: its body did not arrive within SUPAHOOK_REQUEST_READ_TIMEOUT_MS"
        );
        let mut answer: Response = crate::http::request_timeout(format!(
            "the request did not arrive in full within {} ms",
            self.limit.as_millis()
        ))
        .await;
        // The rest of the body is still on its way: the connection cannot be reused.
        answer
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        answer.into()
    }
}

/// A request body that fails once its deadline has passed.
struct Deadline {
    inner: BoxBody<Bytes, io::Error>,
    at: Instant,
    /// Started only when the body is not all there yet, which most bodies are.
    timer: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl Body for Deadline {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let at = self.at;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.expired.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the request body did not arrive in time",
        ))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
