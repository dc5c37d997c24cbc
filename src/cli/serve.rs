//! `supahook serve`: build the app (migrating first), then serve until SIGINT or SIGTERM.

use crate::app::{App, Endpoints, Wiring};
use crate::config::{ListenAddr, Settings};
use crate::infra::shutdown;
use crate::server::Listener;
use anyhow::Context;
use std::path::Path;

pub async fn run(config: Option<&Path>) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let app = App::build(&settings, Wiring::default()).await?;
    let listeners = listeners(&settings, app.endpoints).await?;
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

/// Binds the listening sockets: one serving everything, or, with
/// `SUPAHOOK_ADMIN_LISTEN_ADDR`, the public paths on the listen address and the admin
/// API on its own.
async fn listeners(settings: &Settings, endpoints: Endpoints) -> anyhow::Result<Vec<Listener>> {
    let public_addr = &settings.listen_addr;
    let bind_failed =
        |addr: &ListenAddr, setting: &str| format!("cannot listen on {addr} ({setting})");
    let (public, admin, admin_addr) = match endpoints {
        Endpoints::Whole(whole) => {
            let listener = Listener::bind(public_addr, whole)
                .await
                .with_context(|| bind_failed(public_addr, "SUPAHOOK_LISTEN_ADDR"))?;
            tracing::info!(addr = %listener.addr(), "serving; the API explorer is at /docs");
            return Ok(vec![listener]);
        }
        Endpoints::Split {
            public,
            admin,
            admin_addr,
        } => (public, admin, admin_addr),
    };
    let public_listener = Listener::bind(public_addr, public)
        .await
        .with_context(|| bind_failed(public_addr, "SUPAHOOK_LISTEN_ADDR"))?;
    let admin_listener = Listener::bind(&admin_addr, admin)
        .await
        .with_context(|| bind_failed(&admin_addr, "SUPAHOOK_ADMIN_LISTEN_ADDR"))?;
    tracing::info!(
        addr = %public_listener.addr(),
        "serving the hooks, the sync endpoint and the probes"
    );
    tracing::info!(
        addr = %admin_listener.addr(),
        "serving the admin API, /metrics and the probes; the API explorer is at /docs"
    );
    Ok(vec![public_listener, admin_listener])
}
