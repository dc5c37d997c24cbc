//! The composition root: the one place the service is put together from its
//! [`Settings`] (the storage, the use-case with its spool and fast path, the HTTP
//! endpoints) and where every background task starts. `supahook serve` runs what
//! [`App::build`] returns; the tests build the same app with other settings.

pub mod database;
mod secrets;
mod tasks;
mod use_case;

use crate::config::Settings;
use crate::http::{AppState, admin_app, app, public_app};
use crate::jwt::{self, TokenVerifier};
use crate::mirroring::Mirroring;
use crate::signature::Verifier;
use crate::storage::Backend;
use crate::token_claims::TokenClaims;
use poem::EndpointExt;
use poem::endpoint::BoxEndpoint;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// The built service, ready to be served.
pub struct App {
    /// What the listeners serve.
    pub endpoints: Endpoints,
    /// The use-case and the work running beside the requests.
    pub background: Background,
    /// Whether this start generated the hook secret: a first start without settings.
    pub first_start: bool,
}

/// The use-case and the tasks that run beside the requests until [`Background::stop`].
pub struct Background {
    /// The use-case every endpoint applies deliveries through.
    pub mirroring: Mirroring,
    tasks: JoinSet<()>,
}

/// The HTTP endpoints, one per listening socket.
pub enum Endpoints {
    /// Everything on one listener, as served without `SUPAHOOK_ADMIN_LISTEN_ADDR`.
    Whole(BoxEndpoint<'static>),
    /// The hooks, the frontend's sync endpoint and the probes on the listen address,
    /// and the admin API, `/metrics`, the probes and `/docs` on the admin address.
    Split {
        public: BoxEndpoint<'static>,
        admin: BoxEndpoint<'static>,
    },
}

/// What the app is built with besides its settings.
#[derive(Debug, Clone)]
pub struct Wiring {
    /// How often the remote key set of access tokens may be fetched.
    pub jwks_min_interval: Duration,
    /// Whether the start applies pending migrations.
    pub migrations: Migrations,
}

impl Default for Wiring {
    fn default() -> Self {
        Self {
            jwks_min_interval: jwt::MIN_INTERVAL,
            migrations: Migrations::default(),
        }
    }
}

/// Whether the start applies pending migrations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Migrations {
    /// Applied before anything is served, as `serve` does.
    #[default]
    AtStart,
    /// Left to whoever set the database up; the database is not asked at the start.
    Elsewhere,
}

impl App {
    /// Builds the app from `settings` and starts its background work, in this order:
    /// the storage, the secrets (generated in the data directory when not configured),
    /// the migrations, the use-case with its spool, the access token checks, the
    /// background tasks and the endpoints. Each step logs what it found.
    pub async fn build(settings: &Settings, wiring: Wiring) -> anyhow::Result<Self> {
        crate::infra::private_files::warn_if_open(&settings.data_dir);
        // A bad DATABASE_URL stops the start before any secret file is written.
        let storage = database::open_storage(settings)?;
        let about = storage.about();
        let (hook_secrets, first_start) = secrets::hook_secrets(settings)?;
        let verifier = Verifier::new(hook_secrets);
        let admin_token = secrets::admin_token(settings)?;
        let migrated = match wiring.migrations {
            Migrations::AtStart => database::migrate_to_serve(&storage, settings).await?,
            Migrations::Elsewhere => true,
        };
        let mirroring = use_case::from_settings(storage.clone(), settings, &about)?;
        let mirroring = match migrated {
            true => mirroring,
            false => mirroring.with_migrations_pending(),
        };
        let token_claims = TokenClaims::new(&settings.token_claims, mirroring.clone(), &about)
            .map_err(|e| anyhow::anyhow!(e))?;
        let token_claims = Arc::new(token_claims);
        let state = AppState {
            verifier,
            storage: storage.clone(),
            mirroring: mirroring.clone(),
            policy: settings.sign_up_policy(),
            admin_token: Some(admin_token),
            db_webhook_token: settings.db_webhook_token.clone(),
            tokens: TokenVerifier::new(&settings.jwt, wiring.jwks_min_interval)
                .map_err(|e| anyhow::anyhow!("cannot set up access token checks: {e}"))?,
            cors_origins: settings.cors_origins.clone(),
            token_claims: token_claims.clone(),
            users_may_set_onboarded: settings.users_may_set_onboarded,
            console: crate::http::Console::default(),
        };
        let pusher = crate::events_out::webhooks::Pusher::new(&settings.push, storage.clone())
            .map_err(|e| anyhow::anyhow!("cannot set up the event endpoints: {e}"))?;
        let tasks = tasks::start(&mirroring, &token_claims, &storage, settings, pusher);
        Ok(Self {
            endpoints: Endpoints::new(state, settings),
            background: Background { mirroring, tasks },
            first_start,
        })
    }
}

impl Background {
    /// Once the listeners have stopped: writes what the fast path kept for later, warns
    /// of deliveries still waiting in the spool, and stops the tasks.
    pub async fn stop(mut self) {
        self.mirroring.flush().await;
        let waiting = self.mirroring.spool().map(|spool| spool.depth());
        if let Some(waiting) = waiting.filter(|n| *n > 0) {
            tracing::warn!(
                waiting,
                "deliveries remain in the spool: they are applied when supahook starts again \
                 with this SUPAHOOK_DATA_DIR (if it is lost, run `reconcile`)"
            );
        }
        self.tasks.abort_all();
    }
}

impl Endpoints {
    /// One endpoint, or, with `SUPAHOOK_ADMIN_LISTEN_ADDR`, the public and admin ones.
    fn new(state: AppState, settings: &Settings) -> Self {
        if settings.admin_listen_addr.is_none() {
            return Self::Whole(app(state).map_to_response().boxed());
        }
        let state = Arc::new(state);
        Self::Split {
            public: public_app(state.clone()).map_to_response().boxed(),
            admin: admin_app(state).map_to_response().boxed(),
        }
    }
}
