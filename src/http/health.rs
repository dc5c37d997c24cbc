//! Liveness and readiness probes.

use super::{ApiTags, AppState};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::sync::Arc;

/// Liveness and readiness probes.
pub struct HealthApi;

/// A probe's answer.
#[derive(Object, Debug)]
pub struct HealthStatus {
    /// `ok`, or `unavailable` when a dependency is down.
    pub status: String,
}

/// Liveness answers.
#[derive(ApiResponse)]
pub enum LiveResponse {
    /// The process is serving requests.
    #[oai(status = 200)]
    Live(Json<HealthStatus>),
}

/// Readiness answers.
#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The database answers; this instance can take traffic.
    #[oai(status = 200)]
    Ready(Json<HealthStatus>),
    /// The database does not answer; keep traffic away from this instance.
    #[oai(status = 503)]
    NotReady(Json<HealthStatus>),
}

fn status(text: &str) -> Json<HealthStatus> {
    Json(HealthStatus {
        status: text.to_owned(),
    })
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness
    ///
    /// 200 while the process is serving requests. Does not touch the database.
    #[oai(path = "/health/live", method = "get", operation_id = "live")]
    async fn live(&self) -> LiveResponse {
        LiveResponse::Live(status("ok"))
    }

    /// Readiness
    ///
    /// 200 when the database answers, 503 while it is unreachable.
    #[oai(path = "/health/ready", method = "get", operation_id = "ready")]
    async fn ready(&self, state: Data<&Arc<AppState>>) -> ReadyResponse {
        match state.sync.storage().ping().await {
            Ok(()) => ReadyResponse::Ready(status("ok")),
            Err(error) => {
                tracing::warn!(error = %error, "readiness check failed");
                ReadyResponse::NotReady(status("unavailable"))
            }
        }
    }
}
