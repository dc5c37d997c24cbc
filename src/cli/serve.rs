//! `supahook serve`: build the app (migrating first), then serve until SIGINT or SIGTERM.

use crate::app::{App, Endpoints, Wiring};
use crate::config::{ListenAddr, Settings};
use crate::infra::shutdown;
use crate::server::{Bound, Listener};
use anyhow::Context;
use std::path::Path;

pub async fn run(config: Option<&Path>) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let sockets = Sockets::bind(&settings).await?;
    let app = App::build(&settings, Wiring::default()).await?;
    let listeners = sockets.serving(app.endpoints)?;
    if let Some(docs) = listeners.last().filter(|_| app.first_start) {
        next_steps(&settings, docs);
    }
    let grace = settings.shutdown_timeout;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    crate::server::serve(
        listeners,
        settings.connections,
        stopping,
        shutdown::signal(stop, grace),
        grace,
    )
    .await;
    app.background.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// The listening sockets, bound before the app is built (and so before migrations):
/// the listen address, and the admin address when `SUPAHOOK_ADMIN_LISTEN_ADDR` is set.
struct Sockets {
    public: Bound,
    admin: Option<Bound>,
}

impl Sockets {
    async fn bind(settings: &Settings) -> anyhow::Result<Self> {
        let public = bind(&settings.listen_addr, "SUPAHOOK_LISTEN_ADDR").await?;
        let admin = match &settings.admin_listen_addr {
            Some(addr) => Some(bind(addr, "SUPAHOOK_ADMIN_LISTEN_ADDR").await?),
            None => None,
        };
        Ok(Self { public, admin })
    }

    /// Each socket with its endpoint: one serving everything, or the public paths on
    /// the listen address and the admin API on its own.
    fn serving(self, endpoints: Endpoints) -> anyhow::Result<Vec<Listener>> {
        match (endpoints, self.admin) {
            (Endpoints::Whole(whole), None) => {
                let listener = self.public.serving(whole);
                tracing::info!(addr = %listener.addr(), "serving; the API explorer is at /docs");
                Ok(vec![listener])
            }
            (Endpoints::Split { public, admin }, Some(admin_socket)) => {
                let public = self.public.serving(public);
                let admin = admin_socket.serving(admin);
                tracing::info!(
                    addr = %public.addr(),
                    "serving the hooks, the sync endpoint and the probes"
                );
                tracing::info!(
                    addr = %admin.addr(),
                    "serving the admin API, /metrics and the probes; the API explorer is at /docs"
                );
                Ok(vec![public, admin])
            }
            // Both follow SUPAHOOK_ADMIN_LISTEN_ADDR.
            _ => anyhow::bail!("the endpoints built do not match the listening sockets"),
        }
    }
}

async fn bind(addr: &ListenAddr, setting: &str) -> anyhow::Result<Bound> {
    Bound::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({setting})"))
}

/// What to try first, said once, on the start that generated the hook secret.
fn next_steps(settings: &Settings, docs: &Listener) {
    let token = match settings.admin_token {
        Some(_) => "SUPAHOOK_ADMIN_TOKEN".to_owned(),
        None => format!(
            "the token in {}",
            settings.data_dir.join("admin-token").display()
        ),
    };
    tracing::info!(
        "first start: send the example sign-ups with `supahook replay examples/signups.jsonl` \
         (signed with the generated secret), then read them back in the API explorer at \
         http://{}/docs with {token}",
        docs.addr()
    );
}
