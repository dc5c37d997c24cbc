//! Signing in with the admin token, and out.

use super::views::SignInPage;
use super::{PREFIX, SmallForm, State, guard, html, session};
use crate::http::error::refusal;
use crate::signature::same_secret;
use poem::http::{StatusCode, header};
use poem::web::Redirect;
use poem::{IntoResponse, Request, Response};
use secrecy::ExposeSecret;
use serde::Deserialize;

/// The sign-in form as posted.
#[derive(Deserialize)]
pub struct SignIn {
    token: String,
}

/// The sign-out form as posted.
#[derive(Deserialize)]
pub struct SignOut {
    /// Missing is refused like a wrong one.
    #[serde(default)]
    form_token: String,
}

/// The sign-in page; a signed-in browser goes on to the deliveries.
#[poem::handler]
pub fn sign_in_form(state: State<'_>, request: &Request) -> Response {
    if state.console.sessions.of(request).is_some() {
        return Redirect::see_other(format!("{PREFIX}/deliveries")).into_response();
    }
    html(StatusCode::OK, SignInPage { problem: None })
}

/// Starts a session when the token is the admin token. The token is compared in
/// constant time and kept nowhere; the browser gets only the session's random name.
#[poem::handler]
pub fn sign_in(
    state: State<'_>,
    request: &Request,
    SmallForm(form): SmallForm<SignIn>,
) -> Response {
    if let Err(refused) = guard::same_origin(request) {
        return refusal(StatusCode::FORBIDDEN, "forbidden", refused.message());
    }
    let Some(expected) = &state.admin_token else {
        let problem = "The console is off: set SUPAHOOK_ADMIN_TOKEN to turn it on.";
        return html(
            StatusCode::UNAUTHORIZED,
            SignInPage {
                problem: Some(problem),
            },
        );
    };
    if !same_secret(form.token.trim(), expected.expose_secret()) {
        let problem = "That is not the admin token. It is SUPAHOOK_ADMIN_TOKEN, or the \
                       admin-token file in the data directory.";
        return html(
            StatusCode::UNAUTHORIZED,
            SignInPage {
                problem: Some(problem),
            },
        );
    }
    let id = state.console.sessions.start();
    tracing::info!("console: signed in");
    Redirect::see_other(format!("{PREFIX}/deliveries"))
        .with_header(
            header::SET_COOKIE,
            session::set_cookie(&id, guard::over_https(request)),
        )
        .into_response()
}

/// Ends the session.
#[poem::handler]
pub fn sign_out(
    state: State<'_>,
    request: &Request,
    SmallForm(form): SmallForm<SignOut>,
) -> Response {
    if let Err(refused) = super::check_action(&state, request, &form.form_token) {
        return refused.into_response();
    }
    state.console.sessions.end(request);
    Redirect::see_other(format!("{PREFIX}/sign-in"))
        .with_header(header::SET_COOKIE, session::clear_cookie())
        .into_response()
}
