//! `supahook serve`: migrate, then serve until SIGINT or SIGTERM.

use crate::http::{AppState, app};
use crate::policy::SignUpPolicy;
use crate::signature::Verifier;
use crate::sync::Sync;
use poem::Server;
use poem::listener::TcpListener;
use std::path::Path;
use std::time::Duration;

pub async fn run(config: Option<&Path>) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    let verifier = Verifier::new(settings.require_hook_secrets()?.to_vec());
    let storage = super::open_storage(&settings)?;
    storage.migrate().await?;

    let state = AppState {
        verifier,
        sync: Sync::new(storage),
        policy: SignUpPolicy::new(
            settings.allowed_email_domains.clone(),
            settings.blocked_email_domains.clone(),
        ),
        admin_token: settings.admin_token.clone(),
        db_webhook_token: settings.db_webhook_token.clone(),
        on_delete: settings.on_delete,
    };
    if state.admin_token.is_none() {
        tracing::info!("SUPAHOOK_ADMIN_TOKEN is not set: the read API answers 401");
    }
    tracing::info!(addr = %settings.listen_addr, "serving; the API explorer is at /docs");
    Server::new(TcpListener::bind(settings.listen_addr))
        .run_with_graceful_shutdown(app(state), shutdown_signal(), Some(Duration::from_secs(10)))
        .await?;
    Ok(())
}

async fn shutdown_signal() {
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
    tracing::info!("shutting down");
}
