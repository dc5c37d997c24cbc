//! The address `serve` listens on: `host:port`, where the host is a name
//! (`localhost`), an IPv4 address or a bracketed IPv6 address.

use std::fmt;
use std::str::FromStr;

/// The listen address used when `SUPAHOOK_LISTEN_ADDR` is not set: this machine only.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8080";

/// `SUPAHOOK_LISTEN_ADDR`, checked for shape; names are resolved when binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    host: String,
    port: u16,
}

impl FromStr for ListenAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let expected =
            "expected host:port, such as 127.0.0.1:8080, localhost:8080, 0.0.0.0:8080 or [::]:8080";
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("`{text}` has no port ({expected})"))?;
        let port = port
            .parse()
            .map_err(|_| format!("`{port}` is not a port number ({expected})"))?;
        let bracketed = host.starts_with('[') && host.ends_with(']');
        if host.is_empty() || (host.contains(':') && !bracketed) {
            return Err(format!("`{text}` has no usable host ({expected})"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl Default for ListenAddr {
    /// [`DEFAULT_LISTEN_ADDR`].
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8080,
        }
    }
}

/// `SUPAHOOK_ADMIN_LISTEN_ADDR`: an address, not the public listener's `listen_addr`.
pub(super) fn other_than(listen_addr: &ListenAddr, text: &str) -> Result<ListenAddr, String> {
    let addr: ListenAddr = text.parse()?;
    match addr == *listen_addr {
        true => Err("must differ from SUPAHOOK_LISTEN_ADDR".to_owned()),
        false => Ok(addr),
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl ListenAddr {
    /// The base URL a client on this machine uses: a wildcard address becomes loopback.
    pub fn local_url(&self) -> String {
        let host = match self.host.as_str() {
            "0.0.0.0" => "127.0.0.1",
            "[::]" => "[::1]",
            other => other,
        };
        format!("http://{host}:{}", self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::ListenAddr;

    #[test]
    fn names_and_addresses_with_a_port_are_accepted() {
        for text in [
            "localhost:8080",
            "127.0.0.1:8080",
            "0.0.0.0:80",
            "[::]:8080",
            "[::1]:1",
        ] {
            let addr: ListenAddr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
        }
    }

    #[test]
    fn a_missing_or_bad_port_or_host_is_refused() {
        for text in [
            "localhost",
            "localhost:http",
            ":8080",
            "::1:8080",
            "127.0.0.1:70000",
        ] {
            assert!(text.parse::<ListenAddr>().is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn a_wildcard_address_is_reached_on_loopback() {
        let url = |text: &str| text.parse::<ListenAddr>().unwrap().local_url();
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::]:9000"), "http://[::1]:9000");
        assert_eq!(url("localhost:8080"), "http://localhost:8080");
    }
}
