//! The console's pages: the templates (`templates/console/`) and the values they show,
//! already written as text.

use super::charts::Chart;
use askama::Template;
use chrono::{DateTime, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// The endpoints a delivery can come through, as the ledger names them.
pub const HOOKS: [&str; 5] = [
    "custom-access-token",
    "before-user-created",
    "after-user-created",
    "auth-users",
    "users-sync",
];

/// What a delivery can come to, as the ledger names it.
pub const OUTCOMES: [&str; 7] = [
    "created",
    "updated",
    "unchanged",
    "stale",
    "skipped",
    "deleted",
    "pending",
];

/// A time as the console writes it, in UTC to the millisecond.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

/// A value for a URL's query or path.
pub fn url_part(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

/// What every signed-in page has around it: the navigation and the sign-out form.
pub struct Chrome {
    /// The session's form token, carried by every form.
    pub form_token: String,
    /// The page shown: `deliveries`, `users` or `health`.
    pub current: &'static str,
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub struct SignInPage {
    /// Why the last attempt failed.
    pub problem: Option<&'static str>,
}

/// One delivery in a list.
pub struct DeliveryRow {
    pub key: String,
    pub link: String,
    pub hook: String,
    pub outcome: String,
    pub received_at: String,
    pub user_id: Option<String>,
    /// How long it took, when this process still holds its details.
    pub duration: Option<String>,
}

/// The deliveries page, with its filters.
#[derive(Template)]
#[template(path = "console/deliveries.html")]
pub struct DeliveriesPage {
    pub chrome: Chrome,
    pub hooks: [&'static str; 5],
    pub outcomes: [&'static str; 7],
    pub hook: String,
    pub outcome: String,
    /// Where the page's script fetches the rows.
    pub live: String,
    pub rows: Vec<DeliveryRow>,
}

/// The rows of the deliveries list alone, as the page's script fetches them.
#[derive(Template)]
#[template(path = "console/delivery_rows.html")]
pub struct DeliveryRows {
    pub rows: Vec<DeliveryRow>,
}

/// One delivery with what this process still holds of it.
#[derive(Template)]
#[template(path = "console/delivery.html")]
pub struct DeliveryPage {
    pub chrome: Chrome,
    pub row: DeliveryRow,
    pub webhook_id: String,
    /// Whether this process holds its headers, body and timing.
    pub kept: bool,
    pub headers: Vec<(String, String)>,
    /// The body without credentials, when kept.
    pub body: Option<String>,
    pub body_len: usize,
    pub body_cap: usize,
}

/// A user in search results.
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub deleted: bool,
    /// Seen only by before-user-created so far: a sign-up Supabase may still roll back.
    pub provisional: bool,
}

/// The users page: the search and what it found.
#[derive(Template)]
#[template(path = "console/users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub query: String,
    pub searched: bool,
    pub problem: Option<&'static str>,
    pub users: Vec<UserRow>,
}

/// One user: the mirrored row, the profile and the deliveries about it.
#[derive(Template)]
#[template(path = "console/user.html")]
pub struct UserPage {
    pub chrome: Chrome,
    pub id: String,
    pub fields: Vec<(&'static str, String)>,
    /// `None` when the user has no profile.
    pub profile: Option<Vec<(&'static str, String)>>,
    pub timeline: Vec<DeliveryRow>,
}

/// A set-aside delivery on the health page.
pub struct SetAsideRow {
    pub seq: i64,
    pub hook: String,
    pub key: String,
    pub reason: String,
    pub received_at: String,
    pub set_aside_at: String,
}

/// How long ago an endpoint last received a delivery.
pub struct SourceRow {
    pub hook: &'static str,
    /// `None` when the ledger holds none.
    pub seconds_ago: Option<i64>,
    pub at: String,
}

/// The spool's state.
pub struct SpoolState {
    pub depth: u64,
    /// Seconds since the oldest waiting delivery was acknowledged.
    pub oldest_age: Option<String>,
    pub used_bytes: u64,
    pub writable: bool,
}

/// The health page.
#[derive(Template)]
#[template(path = "console/health.html")]
pub struct HealthPage {
    pub chrome: Chrome,
    /// `ok`, `degraded` or `unavailable`, as readiness says.
    pub status: &'static str,
    /// `up`, `down` or `refused`.
    pub database: &'static str,
    pub database_reason: Option<String>,
    /// `None` in `closed` mode, which has no spool.
    pub spool: Option<SpoolState>,
    /// Why the set-aside deliveries could not be read.
    pub spool_problem: Option<String>,
    pub set_aside: Vec<SetAsideRow>,
    /// Why the ledger could not be read.
    pub ledger_problem: Option<String>,
    pub sources: Vec<SourceRow>,
    pub rate: Chart,
    pub latency: Chart,
    pub now: String,
}
