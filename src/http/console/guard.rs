//! The checks in front of every console page and action: a session for every page,
//! and for every action (a `POST`), a request from the console's own pages.
//!
//! Two independent checks refuse a request another site makes a browser send: the
//! browser's own account of where it comes from (`Sec-Fetch-Site`, else `Origin`,
//! which browsers send with every `POST`), and the session's form token, which only
//! the console's pages hold. The session cookie is `SameSite=Strict` besides.

use poem::Request;
use poem::http::header;

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The browser says another site started the request.
    CrossSite,
    /// The form token is missing or is not the session's.
    FormToken,
}

impl Refusal {
    /// What the refusal says.
    pub fn message(self) -> &'static str {
        match self {
            Self::CrossSite => {
                "the console takes actions only from its own pages: this request came from \
                 another site"
            }
            Self::FormToken => {
                "the form is out of date or not the console's: reload the page and try again"
            }
        }
    }
}

/// Passes a request the browser says comes from the console's own origin. A request
/// with neither `Sec-Fetch-Site` nor `Origin` comes from no browser (curl, a script),
/// which cannot hold the session's cookie unless given it; it still needs the form token.
pub fn same_origin(request: &Request) -> Result<(), Refusal> {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" => Ok(()),
            _ => Err(Refusal::CrossSite),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host);
    match (origin_host, host) {
        (Some(from), Some(host)) if from.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(Refusal::CrossSite),
    }
}

/// Whether the browser was served the page over HTTPS, as its `Origin` says (TLS ends
/// in front of supahook, so the connection cannot tell).
pub fn over_https(request: &Request) -> bool {
    request
        .headers()
        .get(header::ORIGIN)
        .is_some_and(|o| o.as_bytes().starts_with(b"https://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder();
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.finish()
    }

    #[test]
    fn the_browser_decides_where_a_request_comes_from() {
        let host = ("host", "127.0.0.1:9090");
        let same = [host, ("sec-fetch-site", "same-origin")];
        assert_eq!(same_origin(&request(&same)), Ok(()));
        for site in ["cross-site", "same-site", "none"] {
            let other = [
                host,
                ("sec-fetch-site", site),
                ("origin", "http://127.0.0.1:9090"),
            ];
            assert_eq!(
                same_origin(&request(&other)),
                Err(Refusal::CrossSite),
                "{site}"
            );
        }
    }

    #[test]
    fn without_sec_fetch_site_the_origin_must_be_the_host() {
        let host = ("host", "console.internal:9090");
        let ok = [host, ("origin", "https://console.internal:9090")];
        assert_eq!(same_origin(&request(&ok)), Ok(()));
        assert!(over_https(&request(&ok)));
        for origin in [
            "http://evil.example",
            "null",
            "http://console.internal:9091",
        ] {
            let other = [host, ("origin", origin)];
            assert_eq!(
                same_origin(&request(&other)),
                Err(Refusal::CrossSite),
                "{origin}"
            );
        }
        assert_eq!(same_origin(&request(&[host])), Ok(()));
    }
}
