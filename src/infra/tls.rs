//! TLS client settings for every connection supahook opens: PostgreSQL (with
//! libpq's `sslmode` levels) and `replay` over https.
//!
//! rustls with the `ring` provider. Trusted roots are the system's (honouring
//! `SSL_CERT_FILE` and `SSL_CERT_DIR`), or Mozilla's bundled list where the system
//! has none, or exactly the CAs of one PEM file (`sslrootcert`).

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the trusted certificate authorities come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// The system's store, else Mozilla's list.
    Platform,
    /// Only the CAs in this PEM file.
    File(PathBuf),
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Encrypt only: any certificate is accepted (libpq's `prefer` and `require`).
    Nothing,
    /// The certificate must chain to a trusted CA, whatever its name (`verify-ca`).
    Chain,
    /// It must chain to a trusted CA and name the host connected to (`verify-full`, https).
    ChainAndName,
}

/// The TLS settings cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the root certificate file {path}: {reason}")]
    RootFile { path: String, reason: String },
    #[error("the root certificate file {path} holds no usable PEM certificate")]
    NoRoots { path: String },
    #[error("cannot set up TLS: {0}")]
    Setup(#[from] rustls::Error),
}

/// A client configuration that trusts `roots` and checks what `check` says.
pub fn client_config(roots: &Roots, check: Check) -> Result<ClientConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        Check::Nothing => Arc::new(AnyCertificate(provider)),
        Check::Chain | Check::ChainAndName => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(root_store(roots)?), provider)
                    .build()
                    .map_err(|e| TlsError::Setup(rustls::Error::General(e.to_string())))?;
            if check == Check::Chain {
                Arc::new(AnyName(webpki))
            } else {
                webpki
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn root_store(roots: &Roots) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let shown = path.display().to_string();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| TlsError::RootFile {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?;
            store.add_parsable_certificates(certs);
            if store.is_empty() {
                return Err(TlsError::NoRoots { path: shown });
            }
        }
        Roots::Platform => {
            store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if store.is_empty() {
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
        }
    }
    Ok(store)
}

/// Whether `error`, or any error it wraps, is a certificate that failed verification.
pub fn certificate_failure<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> Option<&'e CertificateError> {
    let mut next = Some(error);
    while let Some(error) = next {
        let inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        for candidate in [Some(error), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(failure)) = candidate.downcast_ref() {
                return Some(failure);
            }
        }
        next = error.source();
    }
    None
}

/// Accepts any certificate; the handshake signatures are still checked, so the
/// session is encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The full check, except that a certificate issued for another name passes.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// An HTTP client for `replay`: https with the platform's (or Mozilla's) roots and a
/// full certificate check; plain http works too.
pub fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    let config = client_config(&Roots::Platform, Check::ChainAndName).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(timeout)
        .build()
        .map_err(|e| crate::infra::error_chain::describe(&e))
}

/// What a failed certificate check means, in words, with rustls' own text after it.
pub fn explain_certificate_failure(failure: &CertificateError) -> String {
    let meaning = match failure {
        CertificateError::UnknownIssuer => {
            "it is not signed by a trusted CA (give the server's CA with sslrootcert=FILE)"
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it was not issued for the host name connected to"
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "it has expired",
        _ => "it was not accepted",
    };
    format!(
        "{meaning}; {}",
        rustls::Error::InvalidCertificate(failure.clone())
    )
}
