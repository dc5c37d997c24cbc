//! A TCP proxy in front of a server that can cut off every connection open at one
//! moment: each stays open, takes what is sent and never answers again, as a pooler
//! or proxy does when the server behind it is gone, while new connections go through
//! to the server as before. Runs on the test's Tokio runtime.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct CutProxy {
    pub port: u16,
    /// Moves at every cut; a connection carries bytes only in the era it was opened in.
    era: Arc<AtomicU64>,
}

impl CutProxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let era = Arc::new(AtomicU64::new(0));
        tokio::spawn(accept(listener, target, era.clone()));
        Self { port, era }
    }

    /// Cuts off every connection open now.
    pub fn cut_open_connections(&self) {
        self.era.fetch_add(1, Ordering::SeqCst);
    }
}

async fn accept(listener: TcpListener, target: u16, era: Arc<AtomicU64>) {
    while let Ok((mut client, _)) = listener.accept().await {
        let era = era.clone();
        tokio::spawn(async move {
            let born = era.load(Ordering::SeqCst);
            let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)).await else {
                return;
            };
            let (from_client, to_client) = client.split();
            let (from_server, to_server) = server.split();
            tokio::select! {
                () = relay(from_client, to_server, &era, born) => {}
                () = relay(from_server, to_client, &era, born) => {}
            }
        });
    }
}

/// Copies `from` to `to` until either side closes, or forever once the era moved on
/// (the bytes are taken in and go nowhere).
async fn relay(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    era: &AtomicU64,
    born: u64,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = from.read(&mut buffer).await.unwrap_or(0);
        if read == 0 {
            return;
        }
        if era.load(Ordering::SeqCst) != born {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
