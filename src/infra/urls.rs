//! Which URLs supahook may call: `https://` anywhere, plain `http://` only on this
//! machine, where no network lies between the two (a local Supabase, tests).

/// `url` parsed, when it is `https://`, or `http://` to `localhost`, 127.0.0.0/8 or
/// `[::1]`; otherwise why not.
pub fn https_or_loopback(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(
            "must be an https:// URL (plain http:// only for localhost, 127.0.0.0/8 or [::1])"
                .to_owned(),
        ),
        _ => Err("must be an https:// URL".to_owned()),
    }
}

/// A client for such URLs: certificates checked against the platform's roots (else
/// Mozilla's), no redirect followed, at most `timeout` per request, body included.
pub fn client(timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    use crate::infra::tls::{Check, Roots, client_config};
    let config = client_config(&Roots::Platform, Check::ChainAndName).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| crate::infra::error_chain::describe(&e))
}

/// The body of `response`, refused once it grows past `limit` bytes.
pub async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            return Err(format!("larger than {limit} bytes"));
        }
    }
    Ok(body)
}

/// Whether `url` names this machine: `localhost`, 127.0.0.0/8 or `::1`.
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_taken_only_on_this_machine() {
        assert!(https_or_loopback("https://hooks.example.com/x").is_ok());
        assert!(https_or_loopback("http://127.0.0.1:9/x").is_ok());
        assert!(https_or_loopback("http://[::1]:9/x").is_ok());
        assert!(https_or_loopback("http://localhost/x").is_ok());
        assert!(https_or_loopback("http://hooks.example.com/x").is_err());
        assert!(https_or_loopback("ftp://127.0.0.1/x").is_err());
    }
}
