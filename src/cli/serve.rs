//! `supahook serve`: migrate, then serve until SIGINT or SIGTERM.

use crate::config::{ListenAddr, OnStoreFailure, SecretString, Settings};
use crate::http::{AppState, admin_app, app, public_app};
use crate::jwt::{self, TokenVerifier};
use crate::local_secrets;
use crate::policy::SignUpPolicy;
use crate::server::Listener;
use crate::shutdown;
use crate::signature::{SigningKey, Verifier};
use crate::spool::Spool;
use crate::storage::{Backend, Database, Queries, Storage, StorageError};
use crate::sync::Sync;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub async fn run(config: Option<&Path>) -> anyhow::Result<()> {
    let settings = super::load_settings(config)?;
    crate::private_files::warn_if_open(&settings.data_dir);
    // A bad DATABASE_URL stops the start before any secret file is written.
    let storage = super::open_storage(&settings)?;
    let database = storage.about();
    let verifier = Verifier::new(hook_secrets(&settings)?);
    let admin_token = admin_token(&settings)?;
    let migrated = match super::migrate::apply(&storage).await {
        Ok(()) => true,
        // In open mode an outage must not keep a restarted replica from answering.
        // A database that refuses supahook (a wrong password, an unknown database, a
        // failed certificate check) stopped the start in `apply`: only what can pass
        // is served degraded.
        Err(error) if settings.on_store_failure == OnStoreFailure::Open && unavailable(&error) => {
            tracing::warn!(
                error = %error,
                "the database is unreachable, so migrations wait: hooks are answered and \
                 spooled meanwhile, and the spool drains once the migrations are applied"
            );
            false
        }
        Err(error) => return Err(error),
    };

    let state = AppState {
        verifier,
        storage: storage.clone(),
        sync: match migrated {
            true => use_case(storage, &settings, &database)?,
            false => use_case(storage, &settings, &database)?.with_migrations_pending(),
        },
        policy: SignUpPolicy::new(
            settings.allowed_email_domains.clone(),
            settings.blocked_email_domains.clone(),
        ),
        admin_token: Some(admin_token),
        db_webhook_token: settings.db_webhook_token.clone(),
        tokens: TokenVerifier::new(&settings.jwt, jwt::MIN_INTERVAL)
            .map_err(|e| anyhow::anyhow!("cannot set up access token checks: {e}"))?,
        cors_origins: settings.cors_origins.clone(),
        profile_claim: settings.token_profile_claim.clone(),
        users_may_set_onboarded: settings.users_may_set_onboarded,
    };
    state.sync.start_background();
    crate::telemetry::start_upkeep();
    if settings.ledger_retention_days > 0 {
        let days = settings.ledger_retention_days;
        tokio::spawn(forget_old_deliveries(state.sync.storage().clone(), days));
    }
    let sync = state.sync.clone();
    let listeners = listeners(&settings, state).await?;
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
    sync.flush().await;
    if let Some(waiting) = sync.spool().map(|spool| spool.depth()).filter(|n| *n > 0) {
        tracing::warn!(
            waiting,
            "deliveries remain in the spool: they are applied when supahook starts again \
             with this SUPAHOOK_DATA_DIR (if it is lost, run `reconcile`)"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// The listening sockets: one serving everything, or, with `SUPAHOOK_ADMIN_LISTEN_ADDR`,
/// the public paths on the listen address and the admin API on its own.
async fn listeners(settings: &Settings, state: AppState) -> anyhow::Result<Vec<Listener>> {
    let public = &settings.listen_addr;
    let bind_failed =
        |addr: &ListenAddr, setting: &str| format!("cannot listen on {addr} ({setting})");
    let Some(admin) = &settings.admin_listen_addr else {
        let listener = Listener::bind(public, app(state))
            .await
            .with_context(|| bind_failed(public, "SUPAHOOK_LISTEN_ADDR"))?;
        tracing::info!(addr = %listener.addr(), "serving; the API explorer is at /docs");
        return Ok(vec![listener]);
    };
    let state = Arc::new(state);
    let public_listener = Listener::bind(public, public_app(state.clone()))
        .await
        .with_context(|| bind_failed(public, "SUPAHOOK_LISTEN_ADDR"))?;
    let admin_listener = Listener::bind(admin, admin_app(state))
        .await
        .with_context(|| bind_failed(admin, "SUPAHOOK_ADMIN_LISTEN_ADDR"))?;
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

/// The use-case with the configured delete mode, budget and, in `open` mode, the
/// spool in the data directory (what a crash left there drains once serving starts,
/// if it was written for this database).
fn use_case(storage: Storage, settings: &Settings, database: &Database) -> anyhow::Result<Sync> {
    let sync = Sync::new(storage)
        .with_delete_mode(settings.on_delete)
        .with_writers(settings.db_writers)
        .with_budget(settings.store_budget);
    if settings.on_store_failure == OnStoreFailure::Closed {
        return Ok(sync);
    }
    let foreign = crate::spool::claim(&settings.data_dir, &database.identity)
        .context("cannot claim the spool in the data directory (SUPAHOOK_DATA_DIR)")?;
    if let Some(foreign) = foreign {
        tracing::warn!(
            spool_database = %foreign.database,
            database = %database.identity,
            kept = %foreign.kept.display(),
            "the spool in the data directory was written for another database than this \
             DATABASE_URL names: it is not drained into this one. It is kept where `kept` \
             says, its database named beside it (.database); to apply it, serve that \
             database with the file as spool.sqlite and its .database as spool.database"
        );
    }
    let (spool, recovery) = Spool::open(&settings.data_dir)
        .context("cannot open the spool in the data directory (SUPAHOOK_DATA_DIR)")?;
    if recovery.torn_bytes > 0 {
        tracing::warn!(
            torn_bytes = recovery.torn_bytes,
            "the spool's last write was cut short on disk by a crash: that write was never \
             acknowledged and is discarded; every earlier delivery is kept"
        );
    }
    if recovery.waiting > 0 {
        tracing::info!(
            waiting = recovery.waiting,
            "deliveries spooled before the restart will be applied as the database answers"
        );
    }
    Ok(sync.with_spool(spool.with_max_bytes(settings.spool_max_bytes)))
}

/// Whether `error` says the database could not be reached.
fn unavailable(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<StorageError>(),
        Some(StorageError::Unavailable(_))
    )
}

/// Once an hour, removes ledger rows older than `days`: a delivery key only has to
/// outlive Supabase's retries (seconds) and deliberate replays.
async fn forget_old_deliveries(storage: Storage, days: u32) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        let before = chrono::Utc::now() - chrono::TimeDelta::days(i64::from(days));
        match storage.forget_deliveries(before).await {
            Ok(removed) => tracing::info!(removed, days, "old delivery records removed"),
            Err(error) => tracing::warn!(error = %error, "could not remove old delivery records"),
        }
    }
}

/// The configured secrets, or the one generated in the data directory on first start.
fn hook_secrets(settings: &Settings) -> anyhow::Result<Vec<SigningKey>> {
    if !settings.hook_secrets.is_empty() {
        return Ok(settings.hook_secrets.clone());
    }
    let local =
        local_secrets::hook_secret(&settings.data_dir, true)?.expect("created when missing");
    let path = local.path.display();
    if local.created {
        tracing::info!(
            file = %path,
            "SUPAHOOK_HOOK_SECRETS is not set, so a hook secret was generated and saved. \
             Give Supabase the same value: in supabase/config.toml set \
             secrets = \"env(SUPAHOOK_HOOK_SECRETS)\" under [auth.hook.custom_access_token] and \
             [auth.hook.before_user_created], and export SUPAHOOK_HOOK_SECRETS=\"$(cat {path})\""
        );
    } else {
        tracing::info!(file = %path, "using the generated hook secret");
    }
    Ok(vec![local.value])
}

/// The configured admin token, or the one generated in the data directory.
fn admin_token(settings: &Settings) -> anyhow::Result<SecretString> {
    if let Some(token) = &settings.admin_token {
        return Ok(token.clone());
    }
    let local =
        local_secrets::admin_token(&settings.data_dir, true)?.expect("created when missing");
    tracing::info!(
        file = %local.path.display(),
        "SUPAHOOK_ADMIN_TOKEN is not set: the read API takes the generated token in this file"
    );
    Ok(local.value)
}
