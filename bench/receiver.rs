//! A webhook endpoint for `bench/run.sh`: answers every POST with an empty 200 as fast
//! as it can, and `GET /` with how many POSTs it took. It verifies nothing: it stands
//! for an application's endpoint that answers at once.
//!
//!     cargo run --release --example bench-receiver -- 127.0.0.1:18600

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18600".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let received = Arc::new(AtomicU64::new(0));
    loop {
        let (stream, _) = listener.accept().await?;
        let received = received.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let received = received.clone();
                async move {
                    let count = match request.method() == Method::POST {
                        true => {
                            // Read the body, as a real endpoint would, before answering.
                            let _ = request.into_body().collect().await;
                            received.fetch_add(1, Ordering::Relaxed);
                            Bytes::new()
                        }
                        false => Bytes::from(received.load(Ordering::Relaxed).to_string()),
                    };
                    Ok::<_, hyper::Error>(Response::new(Full::new(count)))
                }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
