//! `SUPAHOOK_CORS_ORIGINS`: the browser origins allowed to call the frontend sync
//! endpoint.

/// `*`, or origins such as `https://app.example.com`: a scheme and a host, no path.
pub(super) fn check(list: Vec<String>) -> Result<Vec<String>, String> {
    match list.iter().find(|origin| !is_origin(origin)) {
        Some(origin) => Err(format!(
            "`{origin}` is not an origin such as https://app.example.com (no path, no trailing /)"
        )),
        None => Ok(list),
    }
}

fn is_origin(origin: &str) -> bool {
    origin == "*"
        || reqwest::Url::parse(origin).is_ok_and(|url| {
            matches!(url.scheme(), "https" | "http")
                && url.host_str().is_some()
                && url.path() == "/"
                && !origin.ends_with('/')
        })
}
