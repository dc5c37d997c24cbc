//! What one client may hold of the server: how long it may take to send a request,
//! how long an idle connection is kept, and how many connections are served at once.
//! The same limits apply to the public and the admin listener.

use crate::config_sources::{ConfigError, Form, Sources};
use std::time::Duration;

/// Connection limits of both listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `SUPAHOOK_HEADER_READ_TIMEOUT_MS`: from a new connection, or from the first byte
    /// of a request on a kept-alive one, to the end of the request's headers.
    pub header_read_timeout: Duration,
    /// `SUPAHOOK_REQUEST_READ_TIMEOUT_MS`: from the first byte of a request to the end
    /// of its body.
    pub request_read_timeout: Duration,
    /// `SUPAHOOK_IDLE_TIMEOUT_MS`: how long a kept-alive connection may wait for its
    /// next request.
    pub idle_timeout: Duration,
    /// `SUPAHOOK_MAX_CONNECTIONS`: connections served at once per listener; further
    /// ones wait in the kernel's backlog until one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_millis(5_000),
            request_read_timeout: Duration::from_millis(15_000),
            idle_timeout: Duration::from_millis(30_000),
            max_connections: 1024,
        }
    }
}

impl ConnectionLimits {
    /// Each limit a whole number of at least 1; unset ones keep their default.
    pub(super) fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let millis = |setting, default| {
            let read =
                sources.read(setting, Form::Number, |text| positive(text, "milliseconds"))?;
            Ok::<_, ConfigError>(read.map_or(default, Duration::from_millis))
        };
        Ok(Self {
            header_read_timeout: millis(
                "SUPAHOOK_HEADER_READ_TIMEOUT_MS",
                defaults.header_read_timeout,
            )?,
            request_read_timeout: millis(
                "SUPAHOOK_REQUEST_READ_TIMEOUT_MS",
                defaults.request_read_timeout,
            )?,
            idle_timeout: millis("SUPAHOOK_IDLE_TIMEOUT_MS", defaults.idle_timeout)?,
            max_connections: sources
                .read("SUPAHOOK_MAX_CONNECTIONS", Form::Number, |text| {
                    positive(text, "connections")
                })?
                .map_or(defaults.max_connections, |n| n as usize),
        })
    }
}

/// `text` as a whole number of at least 1.
fn positive(text: &str, unit: &str) -> Result<u64, String> {
    match text.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(u64::from(n)),
        _ => Err(format!(
            "`{text}` is not a whole number of {unit} of at least 1"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionLimits;
    use crate::config::{ConfigError, Settings};
    use std::time::Duration;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_sources(None, |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn the_defaults_bound_headers_to_5_s_requests_to_15_s_idleness_to_30_s() {
        let s = settings(&[]).unwrap();

        assert_eq!(s.connections, ConnectionLimits::default());
        assert_eq!(s.connections.header_read_timeout, Duration::from_secs(5));
        assert_eq!(s.connections.request_read_timeout, Duration::from_secs(15));
        assert_eq!(s.connections.idle_timeout, Duration::from_secs(30));
        assert_eq!(s.connections.max_connections, 1024);
        assert_eq!(s.admin_listen_addr, None);
    }

    #[test]
    fn each_limit_is_read_from_its_setting() {
        let s = settings(&[
            ("SUPAHOOK_HEADER_READ_TIMEOUT_MS", "300"),
            ("SUPAHOOK_REQUEST_READ_TIMEOUT_MS", "700"),
            ("SUPAHOOK_IDLE_TIMEOUT_MS", "900"),
            ("SUPAHOOK_MAX_CONNECTIONS", "2"),
            ("SUPAHOOK_ADMIN_LISTEN_ADDR", "0.0.0.0:9090"),
        ])
        .unwrap();

        assert_eq!(
            s.connections,
            ConnectionLimits {
                header_read_timeout: Duration::from_millis(300),
                request_read_timeout: Duration::from_millis(700),
                idle_timeout: Duration::from_millis(900),
                max_connections: 2,
            }
        );
        assert_eq!(s.admin_listen_addr.unwrap().to_string(), "0.0.0.0:9090");
    }

    #[test]
    fn zero_or_a_unit_is_refused_naming_the_setting() {
        for (name, value) in [
            ("SUPAHOOK_HEADER_READ_TIMEOUT_MS", "0"),
            ("SUPAHOOK_REQUEST_READ_TIMEOUT_MS", "15s"),
            ("SUPAHOOK_IDLE_TIMEOUT_MS", "-1"),
            ("SUPAHOOK_MAX_CONNECTIONS", "0"),
        ] {
            let message = settings(&[(name, value)]).unwrap_err().to_string();
            assert!(message.contains(name), "{message}");
            assert!(message.contains(&format!("`{value}`")), "{message}");
        }
    }

    #[test]
    fn the_admin_listener_needs_an_address_of_its_own() {
        let same = settings(&[
            ("SUPAHOOK_LISTEN_ADDR", "127.0.0.1:8080"),
            ("SUPAHOOK_ADMIN_LISTEN_ADDR", "127.0.0.1:8080"),
        ]);
        let message = same.unwrap_err().to_string();
        assert!(message.contains("SUPAHOOK_ADMIN_LISTEN_ADDR"), "{message}");

        let message = settings(&[("SUPAHOOK_ADMIN_LISTEN_ADDR", "9090")])
            .unwrap_err()
            .to_string();
        assert!(message.contains("SUPAHOOK_ADMIN_LISTEN_ADDR"), "{message}");
    }
}
