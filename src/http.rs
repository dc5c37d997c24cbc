//! The HTTP surface: Auth Hooks, the read API, health checks, the spec and `/docs`.

mod admin;
mod allow;
mod body;
mod changes;
mod console;
mod cors;
mod db_webhooks;
mod deliveries;
mod error;
mod event_webhooks;
mod examples;
mod health;
mod hooks;
mod json_body;
mod profile_edit;
mod profiles;
mod raw_json;
mod self_edit;
mod session_sync;
mod signed;
mod user_view;
mod users;

pub use console::Console;
pub use error::{ErrorBody, ErrorResponse};

use crate::config::SecretString;
use crate::jwt::TokenVerifier;
use crate::mirroring::Mirroring;
use crate::policy::SignUpPolicy;
use crate::signature::Verifier;
use crate::storage::Storage;
use crate::token_claims::TokenClaims;
use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::{Endpoint, EndpointExt, IntoEndpoint, Middleware, Route};
use poem_openapi::registry::{MetaApi, Registry};
use poem_openapi::{OpenApi, OpenApiService, Tags};
use std::collections::HashMap;
use std::sync::Arc;

/// Everything a request handler needs, shared by all requests.
pub struct AppState {
    /// Checks hook signatures.
    pub verifier: Verifier,
    /// The mirror and the ledger, as the read and edit API reads and edits them.
    pub storage: Storage,
    /// Applies deliveries to the mirror.
    pub mirroring: Mirroring,
    /// Which email domains may sign up.
    pub policy: SignUpPolicy,
    /// Bearer token of the read API; `None` turns the read API off.
    pub admin_token: Option<SecretString>,
    /// Bearer token accepted on `/hooks/auth-users` in place of a signature.
    pub db_webhook_token: Option<SecretString>,
    /// Checks the access tokens presented to the sync endpoint; `None` turns it off.
    pub tokens: Option<TokenVerifier>,
    /// Browser origins allowed to call the sync endpoint (`*` for any).
    pub cors_origins: Vec<String>,
    /// What custom-access-token adds to the claims or hands on, kept per user.
    pub token_claims: Arc<TokenClaims>,
    /// Whether the sync body may set `is_onboarded` (`SUPAHOOK_USERS_MAY_SET_ONBOARDED`).
    pub users_may_set_onboarded: bool,
    /// The console's sessions and the recent deliveries it shows.
    pub console: Console,
}

#[derive(Tags)]
enum ApiTags {
    /// Endpoints Supabase Auth calls, signed per the Standard Webhooks spec.
    AuthHooks,
    /// Database Webhooks on `auth.users`: updates and deletes.
    DatabaseWebhooks,
    /// Read the mirror and edit the application-owned fields.
    /// Needs `Authorization: Bearer $SUPAHOOK_ADMIN_TOKEN`.
    Users,
    /// Called by the application's frontend with the signed-in user's access token.
    Frontend,
    /// Liveness and readiness probes, and Prometheus metrics.
    Health,
}

type Apis = (
    hooks::HooksApi,
    db_webhooks::DbWebhooksApi,
    session_sync::SessionSyncApi,
    users::UsersApi,
    profiles::ProfilesApi,
    deliveries::DeliveriesApi,
    changes::ChangesApi,
    event_webhooks::EventWebhooksApi,
    health::HealthApi,
    SchemaFacts,
);

/// What the derive macros cannot state about the schemas, added to the spec after every
/// API has registered its own. It serves no route.
pub struct SchemaFacts;

impl OpenApi for SchemaFacts {
    fn meta() -> Vec<MetaApi> {
        Vec::new()
    }

    fn register(registry: &mut Registry) {
        profile_edit::document_limits(registry);
    }

    fn add_routes(self, _: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {}
}

const DESCRIPTION: &str = "supahook keeps an application's own `users` table in step with \
Supabase Auth. Supabase Auth calls the hook endpoints, signed per the Standard Webhooks spec; \
supahook verifies each signature over the raw body and applies an idempotent, order-safe upsert.\n\n\
Every error answer has the body `{\"error\": {\"http_code\", \"code\", \"message\"}}`. \
No string or key anywhere in a request may hold a NUL character (`\\u0000`), which \
PostgreSQL cannot store: such a request is refused and changes nothing.";

/// The OpenAPI description of every endpoint.
pub fn api_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            hooks::HooksApi,
            db_webhooks::DbWebhooksApi,
            session_sync::SessionSyncApi,
            users::UsersApi,
            profiles::ProfilesApi,
            deliveries::DeliveriesApi,
            changes::ChangesApi,
            event_webhooks::EventWebhooksApi,
            health::HealthApi,
            SchemaFacts,
        ),
        "supahook",
        env!("CARGO_PKG_VERSION"),
    )
    .description(DESCRIPTION)
}

/// The spec as YAML, as checked in at `openapi/openapi.yaml`.
pub fn spec_yaml() -> String {
    api_service().spec_yaml()
}

/// 408 with the JSON error body, for a request whose body did not arrive in time.
pub async fn request_timeout(message: String) -> poem::Response {
    error::render(poem::Error::from_string(
        message,
        poem::http::StatusCode::REQUEST_TIMEOUT,
    ))
    .await
}

/// A part of the route table: every path under a prefix, or one path.
enum Mount {
    Prefix(&'static str),
    Exact(&'static str),
}

/// What Supabase Auth and the application's frontend call: with the probes, the only
/// paths the public listener serves when the admin API has a listener of its own.
const PUBLIC_PATHS: &[Mount] = &[
    Mount::Prefix("/hooks"),
    Mount::Exact(session_sync::SYNC_PATH),
];

/// The read API and metrics, for the application's backend and operators.
const ADMIN_PATHS: &[Mount] = &[Mount::Prefix("/v1"), Mount::Exact("/metrics")];

/// Liveness and readiness, answered on every listener, so each can be checked.
const PROBE_PATHS: &[Mount] = &[Mount::Prefix("/health")];

/// The whole application on one listener, as served without `SUPAHOOK_ADMIN_LISTEN_ADDR`.
pub fn app(state: AppState) -> impl Endpoint {
    assemble(
        Arc::new(state),
        &[PUBLIC_PATHS, ADMIN_PATHS, PROBE_PATHS],
        true,
    )
}

/// What the public listener serves when the admin API has a listener of its own:
/// the hooks, the frontend's sync endpoint and the probes.
pub fn public_app(state: Arc<AppState>) -> impl Endpoint {
    assemble(state, &[PUBLIC_PATHS, PROBE_PATHS], false)
}

/// What the admin listener serves: the read API, `/metrics`, the probes, `/docs`, the
/// spec (all of it, public paths included) and the console.
pub fn admin_app(state: Arc<AppState>) -> impl Endpoint {
    assemble(state, &[ADMIN_PATHS, PROBE_PATHS], true)
}

/// The API's operations mounted on the paths of `tables`, with `/docs` (`GET /` leads
/// there), the spec and the console when `docs`, around the middleware every answer
/// goes through.
fn assemble(state: Arc<AppState>, tables: &[&[Mount]], docs: bool) -> impl Endpoint {
    let service = api_service();
    let mut routes = Route::new();
    if docs {
        // `GET /`, the first request of anyone trying supahook in a browser.
        let to_docs = poem::endpoint::make_sync(|_| poem::web::Redirect::see_other("/docs"));
        routes = routes
            .at("/", poem::get(to_docs))
            .nest("/docs", service.swagger_ui())
            .at("/openapi.json", service.spec_endpoint())
            .at("/openapi.yaml", service.spec_endpoint_yaml())
            .nest(console::PREFIX, console::routes());
    }
    let api = Arc::new(service.into_endpoint());
    let mut cors = cors::sync_cors(&state.cors_origins);
    for mount in tables.iter().flat_map(|table| table.iter()) {
        routes = match *mount {
            Mount::Exact(path) if path == session_sync::SYNC_PATH => match cors.take() {
                Some(cors) => routes.at(path, cors.transform(api.clone())),
                None => routes.at(path, api.clone()),
            },
            Mount::Exact(path) => routes.at(path, api.clone()),
            Mount::Prefix(prefix) => routes.nest_no_strip(prefix, api.clone()),
        };
    }
    routes
        .data(state)
        .catch_all_error(error::render)
        .with(allow::AllowHeader::new(Apis::meta()))
        .with(crate::telemetry::AnswerTimer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served_by(table: &[Mount], path: &str) -> bool {
        table.iter().any(|mount| match *mount {
            Mount::Exact(exact) => path == exact,
            Mount::Prefix(prefix) => path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/')),
        })
    }

    #[test]
    fn every_operation_of_the_spec_is_served_by_a_listener() {
        let paths: Vec<String> = Apis::meta()
            .into_iter()
            .flat_map(|api| api.paths)
            .map(|path| path.path)
            .collect();
        assert!(paths.len() > 5, "{paths:?}");
        for path in &paths {
            let tables = [PUBLIC_PATHS, ADMIN_PATHS, PROBE_PATHS];
            assert!(
                tables.iter().any(|table| served_by(table, path)),
                "{path} is served by no listener"
            );
        }
    }

    #[test]
    fn the_read_api_and_metrics_are_apart_from_the_hooks_and_the_sync_endpoint() {
        for path in [
            "/v1/users",
            "/v1/users/{id}/profile",
            "/v1/events",
            "/metrics",
        ] {
            assert!(!served_by(PUBLIC_PATHS, path), "{path}");
            assert!(served_by(ADMIN_PATHS, path), "{path}");
        }
        for path in [
            "/hooks/before-user-created",
            "/hooks/auth-users",
            "/api/auth/users/sync",
        ] {
            assert!(served_by(PUBLIC_PATHS, path), "{path}");
            assert!(!served_by(ADMIN_PATHS, path), "{path}");
        }
        assert!(served_by(PROBE_PATHS, "/health/ready"));
    }
}
