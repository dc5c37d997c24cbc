//! Who is signed in to the console: sessions held in memory, named by a random value
//! in an `HttpOnly`, `SameSite=Strict` cookie. The cookie never holds the admin token,
//! in any form; a session ends after [`LIFETIME`], at sign-out, or when the process
//! restarts. Each session has its own form token, which every action must carry.

use crate::signature::same_secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use poem::Request;
use poem::http::header;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie's name.
pub const COOKIE: &str = "supahook_console";

/// How long a session lasts from its sign-in.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The most sessions held at once; a sign-in past it ends the oldest.
const MAX_SESSIONS: usize = 64;

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The value every form of this session carries, checked on every action.
    pub form_token: String,
    started: Instant,
}

impl Session {
    /// Whether `presented` is this session's form token.
    pub fn accepts(&self, presented: &str) -> bool {
        same_secret(presented, &self.form_token)
    }
}

/// The sessions of this process.
#[derive(Debug, Default)]
pub struct Sessions {
    held: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes as URL-safe text.
fn random_value() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Sessions {
    /// Starts a session; returns the cookie value that names it.
    pub fn start(&self) -> String {
        let id = random_value();
        let session = Session {
            form_token: random_value(),
            started: Instant::now(),
        };
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.retain(|_, s| s.started.elapsed() < LIFETIME);
        if held.len() >= MAX_SESSIONS
            && let Some(oldest) = held
                .iter()
                .min_by_key(|(_, s)| s.started)
                .map(|(id, _)| id.clone())
        {
            held.remove(&oldest);
        }
        held.insert(id.clone(), session);
        id
    }

    /// The live session the request's cookie names.
    pub fn of(&self, request: &Request) -> Option<Session> {
        let id = cookie_value(request)?;
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(&id)
            .filter(|s| s.started.elapsed() < LIFETIME)
            .cloned()
    }

    /// Ends the session the request's cookie names, if any.
    pub fn end(&self, request: &Request) {
        if let Some(id) = cookie_value(request) {
            let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
            held.remove(&id);
        }
    }
}

/// The value of the console's cookie in the request.
fn cookie_value(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_owned())
}

/// The `Set-Cookie` value naming session `id`: only sent back to `/console`, never
/// readable by scripts, never sent with a request another site starts, and only over
/// HTTPS when the page was served over HTTPS.
pub fn set_cookie(id: &str, https: bool) -> String {
    Cookie::build((COOKIE, id.to_owned()))
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(https)
        .max_age(cookie::time::Duration::seconds(LIFETIME.as_secs() as i64))
        .build()
        .to_string()
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie() -> String {
    Cookie::build((COOKIE, ""))
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> Request {
        Request::builder().header(header::COOKIE, value).finish()
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_gone_after_sign_out() {
        let sessions = Sessions::default();
        let id = sessions.start();
        let request = with_cookie(&format!("other=1; {COOKIE}={id}"));

        let session = sessions.of(&request).expect("signed in");
        assert!(session.accepts(&session.form_token));
        assert!(!session.accepts("guess"));
        sessions.end(&request);
        assert!(sessions.of(&request).is_none());
    }

    #[test]
    fn an_unknown_cookie_names_no_session() {
        let sessions = Sessions::default();
        sessions.start();
        assert!(
            sessions
                .of(&with_cookie(&format!("{COOKIE}=forged")))
                .is_none()
        );
        assert!(sessions.of(&Request::builder().finish()).is_none());
    }

    #[test]
    fn sessions_are_bounded() {
        let sessions = Sessions::default();
        let first = sessions.start();
        for _ in 0..MAX_SESSIONS {
            sessions.start();
        }
        let held = sessions.held.lock().unwrap();
        assert_eq!(held.len(), MAX_SESSIONS);
        assert!(!held.contains_key(&first));
    }

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let cookie = set_cookie("abc", false);
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("Path=/console"), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
        assert!(set_cookie("abc", true).contains("Secure"));
    }
}
