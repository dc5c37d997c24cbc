//! The outgoing HTTP client: HTTPS through rustls with the ring provider and the
//! Mozilla root certificates, so it needs neither a C toolchain for aws-lc nor a
//! system certificate store.

use std::sync::Arc;
use std::time::Duration;

/// A client whose requests give up after `timeout`.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_client_builds_without_a_process_wide_crypto_provider() {
        assert!(super::client(std::time::Duration::from_secs(1)).is_ok());
    }
}
