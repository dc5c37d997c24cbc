//! Publishing lifecycle events to NATS JetStream: `SUPAHOOK_EVENTS_NATS_URL` turns it
//! on; `SUPAHOOK_EVENTS_NATS_SUBJECT_PREFIX` and `SUPAHOOK_EVENTS_NATS_STREAM` say where.

use crate::config_sources::{ConfigError, Form, Sources};
use secrecy::SecretString;

/// The subjects' first token unless `SUPAHOOK_EVENTS_NATS_SUBJECT_PREFIX` says otherwise.
pub const DEFAULT_SUBJECT_PREFIX: &str = "supahook";

/// The stream's name unless `SUPAHOOK_EVENTS_NATS_STREAM` says otherwise.
pub const DEFAULT_STREAM: &str = "SUPAHOOK";

/// Where lifecycle events are published.
#[derive(Debug, Clone)]
pub struct NatsSettings {
    /// `SUPAHOOK_EVENTS_NATS_URL`: the NATS server, e.g. `nats://127.0.0.1:4222`
    /// (credentials in it stay out of logs).
    pub url: SecretString,
    /// `SUPAHOOK_EVENTS_NATS_SUBJECT_PREFIX`: events go to `<prefix>.<type>`, e.g.
    /// `supahook.user.created`.
    pub subject_prefix: String,
    /// `SUPAHOOK_EVENTS_NATS_STREAM`: the JetStream stream that stores them, created
    /// with the subjects `<prefix>.>` when missing, used as it is when present.
    pub stream: String,
}

impl NatsSettings {
    /// Reads the NATS settings; `None` when no URL is set.
    pub fn load(sources: &Sources) -> Result<Option<Self>, ConfigError> {
        let url = sources.read("SUPAHOOK_EVENTS_NATS_URL", Form::Text, nats_url)?;
        let subject_prefix = sources
            .read(
                "SUPAHOOK_EVENTS_NATS_SUBJECT_PREFIX",
                Form::Text,
                subject_prefix,
            )?
            .unwrap_or_else(|| DEFAULT_SUBJECT_PREFIX.to_owned());
        let stream = sources
            .read("SUPAHOOK_EVENTS_NATS_STREAM", Form::Text, stream_name)?
            .unwrap_or_else(|| DEFAULT_STREAM.to_owned());
        Ok(url.map(|url| Self {
            url,
            subject_prefix,
            stream,
        }))
    }
}

/// A `nats://` (or `tls://`, `ws://`, `wss://`) URL.
fn nats_url(text: &str) -> Result<SecretString, String> {
    const SCHEMES: [&str; 4] = ["nats://", "tls://", "ws://", "wss://"];
    match SCHEMES.iter().any(|s| text.starts_with(s)) {
        true => Ok(SecretString::from(text)),
        false => Err("is not a NATS URL: use nats://host:port (or tls://, ws://, wss://)".into()),
    }
}

/// Dot-separated tokens of letters, digits, `_` and `-`: no wildcard, no space.
fn subject_prefix(text: &str) -> Result<String, String> {
    let token = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match text.split('.').all(token) {
        true => Ok(text.to_owned()),
        false => Err(
            "is not a subject prefix: use dot-separated tokens of letters, digits, `_` and `-`"
                .into(),
        ),
    }
}

/// Letters, digits, `_` and `-`, as JetStream allows in a stream's name.
fn stream_name(text: &str) -> Result<String, String> {
    match text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        true => Ok(text.to_owned()),
        false => Err("is not a stream name: use letters, digits, `_` and `-`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_prefixes_and_stream_names_are_checked() {
        assert!(nats_url("nats://127.0.0.1:4222").is_ok());
        assert!(nats_url("http://127.0.0.1:4222").is_err());
        assert_eq!(subject_prefix("app.auth").unwrap(), "app.auth");
        for bad in ["", "app.", "app.*", "a b", "app.>"] {
            assert!(subject_prefix(bad).is_err(), "{bad}");
        }
        assert!(stream_name("SUPAHOOK_test-1").is_ok());
        assert!(stream_name("SUPA.HOOK").is_err());
    }
}
