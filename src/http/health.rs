//! Liveness and readiness probes, and the Prometheus metrics.

use super::{ApiTags, AppState};
use crate::mirroring::DatabaseState;
use crate::telemetry::{self, Gauges};
use poem::web::Data;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::sync::Arc;

/// Liveness and readiness probes, and the metrics.
pub struct HealthApi;

/// The liveness probe's answer.
#[derive(Object, Debug)]
pub struct HealthStatus {
    /// `ok`: the process is serving requests.
    pub status: String,
}

/// The readiness probe's answer.
#[derive(Object, Debug)]
#[oai(example)]
pub struct Readiness {
    /// `ok`; `degraded` while the database is down or refuses supahook and deliveries
    /// are being spooled (`SUPAHOOK_ON_STORE_FAILURE=open`); `unavailable` when this
    /// instance cannot answer hooks.
    pub status: String,
    /// The database at the last background check (once a second): `up`, `down` (an
    /// outage that can pass) or `refused` (it refuses supahook for a reason that will
    /// not pass by itself, such as a changed password; see `database_reason`).
    pub database: String,
    /// Why the database refuses supahook, when `database` is `refused`.
    #[oai(skip_serializing_if_is_none)]
    pub database_reason: Option<String>,
    /// Deliveries waiting in the local spool for the database; absent in `closed` mode.
    #[oai(skip_serializing_if_is_none)]
    pub spool_depth: Option<u64>,
    /// Seconds since the oldest spooled delivery was acknowledged; absent when none waits.
    #[oai(skip_serializing_if_is_none)]
    pub spool_oldest_age_seconds: Option<f64>,
}

impl poem_openapi::types::Example for Readiness {
    fn example() -> Self {
        Self {
            status: "degraded".into(),
            database: "down".into(),
            database_reason: None,
            spool_depth: Some(42),
            spool_oldest_age_seconds: Some(7.5),
        }
    }
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
    /// This instance can answer hooks: the database answers, or (in `open` mode) it
    /// does not and deliveries go to the spool. Keeping traffic on every replica during
    /// a database outage is what lets sign-ins go on.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// This instance cannot answer hooks: the database does not answer in `closed`
    /// mode, or the spool cannot be written in `open` mode.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

/// Metrics answers.
#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// The metrics in the Prometheus text exposition format.
    #[oai(status = 200)]
    Metrics(PlainText<String>),
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
    /// Reports the database's state, as a background check finds it once a second,
    /// with the spool's depth; a probe costs the database nothing. In `closed` mode,
    /// 200 when the database answers, 503 while it does not. In `open` mode (the
    /// default), 200 as long as hooks can be answered, `degraded` while the database
    /// is down or refuses supahook and deliveries are spooled.
    #[oai(path = "/health/ready", method = "get", operation_id = "ready")]
    async fn ready(&self, state: Data<&Arc<AppState>>) -> ReadyResponse {
        let mirroring = &state.mirroring;
        let database = mirroring.database_state();
        let spool = mirroring.spool();
        let status = readiness_status(&database, spool.map(|spool| spool.is_writable()));
        let (database, database_reason) = match database {
            DatabaseState::Up | DatabaseState::Unknown => ("up", None),
            DatabaseState::Down => ("down", None),
            DatabaseState::Refused(reason) => ("refused", Some(reason)),
        };
        let readiness = Readiness {
            status: status.into(),
            database: database.into(),
            database_reason,
            spool_depth: spool.map(|spool| spool.depth()),
            spool_oldest_age_seconds: spool.and_then(oldest_age),
        };
        match status {
            "unavailable" => ReadyResponse::NotReady(Json(readiness)),
            _ => ReadyResponse::Ready(Json(readiness)),
        }
    }

    /// Metrics
    ///
    /// Prometheus metrics: `supahook_deliveries_total` by hook and outcome
    /// (`spooled` and `failed` included), `supahook_answer_seconds` per hook,
    /// `supahook_pool_connections` by state and `supahook_pool_waiters`,
    /// `supahook_database_up`, `supahook_database_errors_total` by kind,
    /// `supahook_spool_depth`, `supahook_spool_oldest_age_seconds`,
    /// `supahook_spool_drained_total`, `supahook_spool_set_aside_total` (deliveries
    /// the database refused for good, kept in the spool's `set_aside` table),
    /// `supahook_spool_full_total` (deliveries refused because the spool was full),
    /// `supahook_database_refusals_total` (connections the database refused for a
    /// reason that will not pass by itself, such as a wrong password) and
    /// `supahook_last_delivery_timestamp_seconds` by source (the Unix time at which
    /// each hook last had a delivery applied or spooled).
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, state: Data<&Arc<AppState>>) -> MetricsResponse {
        let mirroring = &state.mirroring;
        let pool = mirroring.pool_status();
        let spool = mirroring.spool();
        let text = telemetry::render(Gauges {
            pool_in_use: pool.in_use,
            pool_idle: pool.idle,
            pool_waiters: pool.waiting,
            database_up: mirroring.database_up(),
            spool_depth: spool.map(|spool| spool.depth()),
            spool_oldest_age: spool.and_then(oldest_age).unwrap_or(0.0),
        });
        MetricsResponse::Metrics(PlainText(text))
    }
}

/// Readiness from what the service keeps: the database's state and, in `open` mode,
/// whether the spool can be written.
pub(super) fn readiness_status(database: &DatabaseState, spool: Option<bool>) -> &'static str {
    match (database, spool) {
        (DatabaseState::Up, _) => "ok",
        (_, Some(true)) => "degraded",
        (_, _) => "unavailable",
    }
}

pub(super) fn oldest_age(spool: &crate::spool::Spool) -> Option<f64> {
    let oldest = spool.oldest_at()?;
    Some((chrono::Utc::now() - oldest).num_milliseconds().max(0) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::{DatabaseState, readiness_status as status};

    #[test]
    fn an_outage_or_a_refusal_is_degraded_while_the_spool_takes_deliveries() {
        let refused = DatabaseState::Refused("the password was refused".into());
        assert_eq!(status(&DatabaseState::Up, Some(true)), "ok");
        assert_eq!(status(&DatabaseState::Down, Some(true)), "degraded");
        assert_eq!(status(&refused, Some(true)), "degraded");
        assert_eq!(status(&DatabaseState::Down, Some(false)), "unavailable");
    }

    #[test]
    fn in_closed_mode_a_database_that_is_not_up_makes_the_instance_unavailable() {
        let refused = DatabaseState::Refused("the database does not exist".into());
        assert_eq!(status(&DatabaseState::Up, None), "ok");
        assert_eq!(status(&DatabaseState::Down, None), "unavailable");
        assert_eq!(status(&refused, None), "unavailable");
    }
}
