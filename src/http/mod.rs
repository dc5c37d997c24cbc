//! The HTTP surface: Auth Hooks, the read API, health checks, the spec and `/docs`.

mod admin;
mod allow;
mod body;
mod cors;
mod db_webhooks;
mod deliveries;
mod error;
mod examples;
mod health;
mod hooks;
mod json_body;
mod profile_claim;
mod profile_edit;
mod profiles;
mod raw_json;
mod session_sync;
mod user_view;
mod users;

pub use error::{ErrorBody, ErrorResponse};

use crate::config::SecretString;
use crate::jwt::TokenVerifier;
use crate::policy::SignUpPolicy;
use crate::signature::Verifier;
use crate::sync::Sync;
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
    /// Applies deliveries to the mirror.
    pub sync: Sync,
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
    /// The claim custom-access-token adds with the user's profile, when set.
    pub profile_claim: Option<String>,
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

/// The whole application, ready to serve.
pub fn app(state: AppState) -> impl Endpoint {
    let api = api_service();
    let docs = api.swagger_ui();
    let spec_json = api.spec_endpoint();
    let spec_yaml = api.spec_endpoint_yaml();
    let api = Arc::new(api.into_endpoint());
    let mut routes = Route::new()
        .nest("/docs", docs)
        .at("/openapi.json", spec_json)
        .at("/openapi.yaml", spec_yaml);
    if let Some(cors) = cors::sync_cors(&state.cors_origins) {
        routes = routes.at(session_sync::SYNC_PATH, cors.transform(api.clone()));
    }
    routes
        .nest("/", api)
        .data(Arc::new(state))
        .catch_all_error(error::render)
        .with(allow::AllowHeader::new(Apis::meta()))
        .with(crate::telemetry::AnswerTimer)
}
