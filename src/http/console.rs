//! The operator's console at `/console`: the deliveries as they arrive, the mirrored
//! users with their timelines, and the service's health with the set-aside deliveries.
//!
//! Pages are rendered on the server from templates compiled into the binary
//! (`templates/console/`), with one stylesheet and one small script served from the
//! binary too: nothing is fetched from elsewhere, and it works offline. Signing in
//! takes the admin token once and starts a session (`session.rs`); every action is a
//! form `POST` checked by `guard.rs`. The console is served wherever `/docs` is: on
//! the admin listener when `SUPAHOOK_ADMIN_LISTEN_ADDR` is set.

mod charts;
mod deliveries;
mod guard;
mod health;
mod recent;
mod redact;
mod session;
mod sign_in;
mod users;
mod views;

pub use recent::{DeliveryDetail, RecentDeliveries, kept_body, kept_headers};
pub use session::Sessions;

use super::AppState;
use super::error::refusal;
use poem::http::{StatusCode, header};
use poem::middleware::SetHeader;
use poem::web::Redirect;
use poem::{EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route, get, post};
use std::sync::Arc;

/// What the console keeps in memory: who is signed in, and the recent deliveries.
#[derive(Debug, Default)]
pub struct Console {
    /// The signed-in browsers.
    pub sessions: Sessions,
    /// The deliveries this process received lately, with their headers and bodies.
    pub recent: RecentDeliveries,
}

/// Where the console lives.
pub const PREFIX: &str = "/console";

/// Every console page and action, under [`PREFIX`], with headers that keep its pages
/// out of caches and frames and let them load nothing but their own stylesheet and
/// script.
pub fn routes() -> impl IntoEndpoint {
    Route::new()
        .at("/", get(deliveries::home))
        .at(
            "/sign-in",
            get(sign_in::sign_in_form).post(sign_in::sign_in),
        )
        .at("/sign-out", post(sign_in::sign_out))
        .at("/deliveries", get(deliveries::show_deliveries))
        .at("/deliveries/rows", get(deliveries::delivery_rows))
        .at("/delivery", get(deliveries::show_delivery))
        .at("/users", get(users::search_users))
        .at("/users/:id", get(users::show_user))
        .at("/health", get(health::show_health))
        .at("/set-aside/:seq/retry", post(health::retry))
        .at("/set-aside/:seq/discard", post(health::discard))
        .at("/assets/console.css", get(asset_css))
        .at("/assets/console.js", get(asset_js))
        .with(
            SetHeader::new()
                .overriding(header::CACHE_CONTROL, "no-store")
                .overriding(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
                .overriding(header::X_FRAME_OPTIONS, "DENY")
                .overriding(header::REFERRER_POLICY, "same-origin")
                .overriding(
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'self'; script-src 'self'; \
                     img-src 'self'; connect-src 'self'; form-action 'self'; \
                     frame-ancestors 'none'; base-uri 'none'",
                ),
        )
}

/// The largest form the console takes, in bytes: a token and a form token fit many
/// times over. Nothing past it is read.
const MAX_FORM_BYTES: usize = 4096;

/// A console form (`application/x-www-form-urlencoded`), read up to [`MAX_FORM_BYTES`].
pub struct SmallForm<T>(pub T);

impl<'a, T: serde::de::DeserializeOwned> poem::FromRequest<'a> for SmallForm<T> {
    async fn from_request(
        request: &'a Request,
        body: &mut poem::RequestBody,
    ) -> poem::Result<Self> {
        let content_type = request.content_type().unwrap_or_default();
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Err(instead(refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "a console form is sent as application/x-www-form-urlencoded",
            )));
        }
        let bytes = body.take()?.into_bytes_limit(MAX_FORM_BYTES).await?;
        serde_urlencoded::from_bytes(&bytes).map(Self).map_err(|e| {
            instead(refusal(
                StatusCode::BAD_REQUEST,
                "bad_request",
                e.to_string(),
            ))
        })
    }
}

#[poem::handler]
fn asset_css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("console/console.css"),
    )
}

#[poem::handler]
fn asset_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("console/console.js"),
    )
}

fn asset(content_type: &str, text: &'static str) -> Response {
    Response::builder().content_type(content_type).body(text)
}

/// A rendered page.
fn html(status: StatusCode, page: impl askama::Template) -> Response {
    match page.render() {
        Ok(text) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .body(text),
        Err(error) => {
            tracing::error!(error = %error, "a console page could not be rendered");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an internal error occurred; see the server log",
            )
        }
    }
}

/// The way to the sign-in page, for a page asked for without a session.
fn to_sign_in() -> Response {
    Redirect::see_other(format!("{PREFIX}/sign-in")).into_response()
}

/// 401 for a request without a session that a script made.
fn signed_out() -> Response {
    refusal(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "sign in to the console first",
    )
}

/// An answer given in place of the page asked for.
fn instead(answer: impl IntoResponse) -> poem::Error {
    poem::Error::from_response(answer.into_response())
}

/// The session of a page request; without one, the way to the sign-in page.
fn session_for_page(state: &AppState, request: &Request) -> poem::Result<session::Session> {
    state
        .console
        .sessions
        .of(request)
        .ok_or_else(|| instead(to_sign_in()))
}

/// Passes an action (a form `POST`) from the console's own page of a live session
/// that carries the session's form token; otherwise the answer to give instead.
fn check_action(
    state: &AppState,
    request: &Request,
    form_token: &str,
) -> poem::Result<session::Session> {
    let forbidden =
        |r: guard::Refusal| instead(refusal(StatusCode::FORBIDDEN, "forbidden", r.message()));
    guard::same_origin(request).map_err(forbidden)?;
    let session = state
        .console
        .sessions
        .of(request)
        .ok_or_else(|| instead(signed_out()))?;
    match session.accepts(form_token) {
        true => Ok(session),
        false => Err(forbidden(guard::Refusal::FormToken)),
    }
}

/// The shared state, as the console's handlers take it.
type State<'a> = poem::web::Data<&'a Arc<AppState>>;
