//! A project's own access-token hook over HTTP, for the chain tests: it checks the
//! Standard Webhooks signature with its own secret (HMAC-SHA256 over
//! `id.timestamp.body`, written here, not supahook's), and adds `tenant: acme` to the
//! claims, after a delay and with a status of the test's choosing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, Server, handler};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One call the hook received.
#[derive(Clone)]
pub struct Received {
    /// Whether a `v1` entry of `webhook-signature` is the HMAC of the hook's secret.
    pub signed: bool,
    /// The body, as JSON.
    pub body: Value,
}

#[derive(Clone)]
struct Hook {
    key: Vec<u8>,
    delay: Duration,
    status: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

/// The running hook.
pub struct ChainServer {
    /// Where it answers.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

#[handler]
async fn answer(req: &Request, body: Vec<u8>, hook: Data<&Hook>) -> Response {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&hook.key).unwrap();
    mac.update(format!("{}.{}.", header("webhook-id"), header("webhook-timestamp")).as_bytes());
    mac.update(&body);
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    let signed = header("webhook-signature")
        .split_whitespace()
        .any(|entry| entry.trim_end_matches(',') == expected);
    let mut event: Value = serde_json::from_slice(&body).unwrap_or_default();
    hook.received.lock().unwrap().push(Received {
        signed,
        body: event.clone(),
    });
    tokio::time::sleep(hook.delay).await;
    if !signed {
        return Response::builder()
            .status(poem::http::StatusCode::UNAUTHORIZED)
            .finish();
    }
    event["claims"]["tenant"] = "acme".into();
    let answer = serde_json::json!({"claims": event["claims"]});
    Response::builder()
        .status(poem::http::StatusCode::from_u16(hook.status).unwrap())
        .content_type("application/json")
        .body(answer.to_string())
}

impl ChainServer {
    /// A hook with `secret` (`v1,whsec_…`) that answers `status` after `delay`.
    pub async fn start(secret: &str, delay: Duration, status: u16) -> Self {
        let key = B64
            .decode(secret.strip_prefix("v1,whsec_").unwrap())
            .unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let hook = Hook {
            key,
            delay,
            status,
            received: received.clone(),
        };
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind a port for the hook");
        let addr = acceptor.local_addr()[0]
            .as_socket_addr()
            .copied()
            .expect("a TCP address");
        let app = Route::new().at("/claims", answer).data(hook);
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self {
            url: format!("http://{addr}/claims"),
            received,
        }
    }

    /// Every call so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}
