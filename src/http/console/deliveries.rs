//! The Deliveries page: the ledger, newest first, kept current by the page's script,
//! and one delivery with its headers, body and timing while this process holds them.

use super::recent::{BODY_CAP, DeliveryDetail};
use super::views::{
    Chrome, DeliveriesPage, DeliveryPage, DeliveryRow, DeliveryRows, HOOKS, OUTCOMES, time,
    url_part,
};
use super::{PREFIX, State, html, instead, session_for_page, signed_out};
use crate::http::{AppState, ErrorResponse};
use crate::storage::{DeliveryFilter, DeliveryRecord, Queries};
use poem::http::StatusCode;
use poem::web::{Query, Redirect};
use poem::{Request, Response};
use serde::Deserialize;

/// How many deliveries the list shows.
const SHOWN: usize = 100;

/// The list's filters, as the page's form and script send them.
#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    hook: String,
    #[serde(default)]
    outcome: String,
}

impl Filters {
    /// The ledger filter; an unknown hook or outcome is refused with its name.
    fn to_filter(&self) -> poem::Result<DeliveryFilter> {
        let known = |value: &str, names: &[&str], name: &str| match value {
            "" => Ok(None),
            v if names.contains(&v) => Ok(Some(v.to_owned())),
            _ => Err(instead(ErrorResponse::invalid_parameter(
                name,
                &format!("must be one of {}", names.join(", ")),
            ))),
        };
        Ok(DeliveryFilter {
            hook: known(&self.hook, &HOOKS, "hook")?,
            outcome: known(&self.outcome, &OUTCOMES, "outcome")?,
            ..DeliveryFilter::default()
        })
    }
}

/// `GET /console`: the deliveries.
#[poem::handler]
pub fn home() -> Redirect {
    Redirect::see_other(format!("{PREFIX}/deliveries"))
}

/// A ledger row as a list shows it, with its timing when this process holds it.
pub fn row(state: &AppState, record: DeliveryRecord) -> DeliveryRow {
    let duration = state
        .console
        .recent
        .find(&record.idempotency_key)
        .map(|d| format!("{:.1} ms", d.duration.as_secs_f64() * 1000.0));
    DeliveryRow {
        link: format!(
            "{PREFIX}/delivery?key={}",
            url_part(&record.idempotency_key)
        ),
        key: record.idempotency_key,
        hook: record.hook,
        outcome: record.outcome,
        received_at: time(record.received_at),
        user_id: record.user_id.map(|id| id.to_string()),
        duration,
    }
}

/// The newest deliveries matching `filters`.
async fn newest(state: &AppState, filters: &Filters) -> poem::Result<Vec<DeliveryRow>> {
    let filter = filters.to_filter()?;
    let records = state
        .storage
        .list_deliveries(&filter, None, SHOWN)
        .await
        .map_err(|e| instead(ErrorResponse::from(e)))?;
    Ok(records.into_iter().map(|r| row(state, r)).collect())
}

/// `GET /console/deliveries`: the list with its filters.
#[poem::handler]
pub async fn show_deliveries(
    state: State<'_>,
    request: &Request,
    Query(filters): Query<Filters>,
) -> poem::Result<Response> {
    let session = session_for_page(&state, request)?;
    let rows = newest(&state, &filters).await?;
    let page = DeliveriesPage {
        chrome: Chrome {
            form_token: session.form_token,
            current: "deliveries",
        },
        hooks: HOOKS,
        outcomes: OUTCOMES,
        live: format!(
            "{PREFIX}/deliveries/rows?hook={}&outcome={}",
            url_part(&filters.hook),
            url_part(&filters.outcome)
        ),
        hook: filters.hook,
        outcome: filters.outcome,
        rows,
    };
    Ok(html(StatusCode::OK, page))
}

/// `GET /console/deliveries/rows`: the list's rows alone, which the page's script
/// fetches every few seconds; 401 without a session.
#[poem::handler]
pub async fn delivery_rows(
    state: State<'_>,
    request: &Request,
    Query(filters): Query<Filters>,
) -> poem::Result<Response> {
    if state.console.sessions.of(request).is_none() {
        return Err(instead(signed_out()));
    }
    let rows = newest(&state, &filters).await?;
    Ok(html(StatusCode::OK, DeliveryRows { rows }))
}

/// Which delivery the detail page shows.
#[derive(Deserialize)]
pub struct Key {
    key: String,
}

/// `GET /console/delivery?key=…`: one delivery.
#[poem::handler]
pub async fn show_delivery(
    state: State<'_>,
    request: &Request,
    Query(Key { key }): Query<Key>,
) -> poem::Result<Response> {
    let session = session_for_page(&state, request)?;
    let filter = DeliveryFilter {
        idempotency_key: Some(key.clone()),
        ..DeliveryFilter::default()
    };
    let found = state.storage.list_deliveries(&filter, None, 1).await;
    let record = found
        .map_err(|e| instead(ErrorResponse::from(e)))?
        .pop()
        .ok_or_else(|| {
            instead(ErrorResponse::not_found(
                "the ledger holds no delivery with this key (kept for \
                 SUPAHOOK_LEDGER_RETENTION_DAYS)",
            ))
        })?;
    let webhook_id = record.webhook_id.clone();
    let kept = state.console.recent.find(&key);
    let (headers, body, body_len) = match kept.as_deref() {
        Some(DeliveryDetail {
            headers,
            body,
            body_len,
            ..
        }) => (
            headers.clone(),
            body.as_deref().and_then(super::redact::shown_body),
            *body_len,
        ),
        None => (Vec::new(), None, 0),
    };
    let page = DeliveryPage {
        chrome: Chrome {
            form_token: session.form_token,
            current: "deliveries",
        },
        row: row(&state, record),
        webhook_id,
        kept: kept.is_some(),
        headers,
        body,
        body_len,
        body_cap: BODY_CAP,
    };
    Ok(html(StatusCode::OK, page))
}
