//! What the app stands on and no decision of its own: PostgreSQL connections with
//! libpq's TLS settings, rustls, the shutdown signal, locally generated secrets,
//! private files, error chains as text, and which URLs may be called.

pub mod error_chain;
pub mod local_secrets;
pub mod pg_connect;
pub mod private_files;
pub mod shutdown;
pub mod tls;
pub mod urls;
