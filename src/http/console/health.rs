//! The Health page: the database, the spool and its set-aside deliveries (with their
//! retry and discard actions), how long ago each endpoint last received a delivery,
//! and this process's delivery rate and answer times.

use super::charts;
use super::views::{Chrome, HOOKS, HealthPage, SetAsideRow, SourceRow, SpoolState, time};
use super::{PREFIX, SmallForm, State, check_action, html, session_for_page};
use crate::http::error::refusal;
use crate::http::health::{oldest_age, readiness_status};
use crate::mirroring::DatabaseState;
use crate::spool::Spool;
use crate::storage::Queries;
use poem::http::StatusCode;
use poem::web::{Path, Redirect};
use poem::{IntoResponse, Request, Response};
use serde::Deserialize;

/// `GET /console/health`.
#[poem::handler]
pub async fn show_health(state: State<'_>, request: &Request) -> Response {
    let session = match session_for_page(&state, request) {
        Ok(session) => session,
        Err(answer) => return answer.into_response(),
    };
    let mirroring = &state.mirroring;
    let database_state = mirroring.database_state();
    let spool = mirroring.spool();
    let status = readiness_status(&database_state, spool.map(Spool::is_writable));
    let (database, database_reason) = match database_state {
        DatabaseState::Up | DatabaseState::Unknown => ("up", None),
        DatabaseState::Down => ("down", None),
        DatabaseState::Refused(reason) => ("refused", Some(reason)),
    };
    let (set_aside, spool_problem) = match spool {
        None => (Vec::new(), None),
        Some(spool) => match spool.set_aside_entries().await {
            Ok(entries) => (entries, None),
            Err(error) => (Vec::new(), Some(error.to_string())),
        },
    };
    let now = chrono::Utc::now();
    let mut sources = Vec::with_capacity(HOOKS.len());
    let mut ledger_problem = None;
    for hook in HOOKS {
        match state.storage.last_delivery(hook).await {
            Ok(at) => sources.push(SourceRow {
                hook,
                seconds_ago: at.map(|at| (now - at).num_seconds().max(0)),
                at: at.map(time).unwrap_or_default(),
            }),
            Err(error) => {
                ledger_problem = Some(error.to_string());
                break;
            }
        }
    }
    let minutes = state.console.recent.minutes(now);
    let page = HealthPage {
        chrome: Chrome {
            form_token: session.form_token,
            current: "health",
        },
        status,
        database,
        database_reason,
        spool: spool.map(|spool| SpoolState {
            depth: spool.depth(),
            oldest_age: oldest_age(spool).map(|age| format!("{age:.1}")),
            used_bytes: spool.used_bytes(),
            writable: spool.is_writable(),
        }),
        spool_problem,
        set_aside: set_aside
            .into_iter()
            .map(|entry| SetAsideRow {
                seq: entry.seq,
                hook: entry.hook,
                key: entry.idempotency_key,
                reason: entry.reason,
                received_at: time(entry.received_at),
                set_aside_at: time(entry.set_aside_at),
            })
            .collect(),
        ledger_problem,
        sources,
        rate: charts::rate(&minutes),
        latency: charts::latency(&minutes),
        now: time(now),
    };
    html(StatusCode::OK, page)
}

/// A retry or discard form as posted.
#[derive(Deserialize)]
pub struct Action {
    /// Missing is refused like a wrong one.
    #[serde(default)]
    form_token: String,
}

/// What an action does to one set-aside delivery.
#[derive(Clone, Copy)]
enum Kind {
    Retry,
    Discard,
}

async fn act(state: State<'_>, request: &Request, seq: i64, form: Action, kind: Kind) -> Response {
    if let Err(refused) = check_action(&state, request, &form.form_token) {
        return refused.into_response();
    }
    let Some(spool) = state.mirroring.spool() else {
        return refusal(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is no spool: SUPAHOOK_ON_STORE_FAILURE is closed",
        );
    };
    let done = match kind {
        Kind::Retry => spool.retry_set_aside(seq).await,
        Kind::Discard => spool.discard_set_aside(seq).await,
    };
    match done {
        Ok(true) => {
            let action = match kind {
                Kind::Retry => "retried",
                Kind::Discard => "discarded",
            };
            tracing::info!(seq, action, "console: set-aside delivery {action}");
            Redirect::see_other(format!("{PREFIX}/health")).into_response()
        }
        Ok(false) => refusal(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no delivery is set aside at {seq}: it was retried or discarded already"),
        ),
        Err(error) => refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "spool_unavailable",
            error.to_string(),
        ),
    }
}

/// `POST /console/set-aside/{seq}/retry`: back into the queue, applied exactly once.
#[poem::handler]
pub async fn retry(
    state: State<'_>,
    request: &Request,
    Path(seq): Path<i64>,
    SmallForm(form): SmallForm<Action>,
) -> Response {
    act(state, request, seq, form, Kind::Retry).await
}

/// `POST /console/set-aside/{seq}/discard`: removed for good.
#[poem::handler]
pub async fn discard(
    state: State<'_>,
    request: &Request,
    Path(seq): Path<i64>,
    SmallForm(form): SmallForm<Action>,
) -> Response {
    act(state, request, seq, form, Kind::Discard).await
}
