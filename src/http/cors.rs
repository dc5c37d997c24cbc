//! Cross-origin access for browsers, on the sync endpoint only.

use poem::http::{Method, header};
use poem::middleware::Cors;

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: i32 = 600;

/// CORS for the sync endpoint: the listed origins (`*` for any) may POST with an
/// `Authorization` header and a JSON body. `None` when no origin is listed.
pub fn sync_cors(origins: &[String]) -> Option<Cors> {
    if origins.is_empty() {
        return None;
    }
    let mut cors = Cors::new()
        .allow_method(Method::POST)
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(PREFLIGHT_MAX_AGE);
    if !origins.iter().any(|o| o == "*") {
        cors = cors.allow_origins(origins.iter().map(String::as_str));
    }
    Some(cors)
}
