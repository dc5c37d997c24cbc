//! The settings of signed webhooks that carry lifecycle events out: the endpoints
//! (`SUPAHOOK_EVENTS_ENDPOINTS`, each with its own event types in the config file), the
//! signing secrets (`SUPAHOOK_EVENTS_SECRETS`), and how long and how often to retry.

use super::events::event_types;
use super::millis_within;
use crate::config_sources::{ConfigError, Form, Sources, invalid};
use crate::mirror::EventType;
use crate::signature::SigningKey;
use std::time::Duration;

/// How long an event is retried for an endpoint before it is dead-lettered, unless
/// `SUPAHOOK_EVENTS_RETRY_SECONDS` says otherwise: a day.
pub const DEFAULT_RETRY_WINDOW: Duration = Duration::from_secs(86_400);

/// The wait before the first retry, unless `SUPAHOOK_EVENTS_BACKOFF_MS` says otherwise;
/// each later one waits about twice as long, up to an hour.
pub const DEFAULT_FIRST_BACKOFF: Duration = Duration::from_secs(5);

/// How long one attempt may take, unless `SUPAHOOK_EVENTS_TIMEOUT_MS` says otherwise.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// One endpoint events are posted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEndpoint {
    /// Where: `https://`, or `http://` on this machine.
    pub url: reqwest::Url,
    /// The event type names sent to it; `None` for every recorded type.
    pub types: Option<Vec<&'static str>>,
}

/// Where and how recorded events are pushed; no endpoint, no push.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// `SUPAHOOK_EVENTS_ENDPOINTS`: comma-separated URLs; in the config file, an array
    /// of URLs or of tables `{ url = "...", types = ["user.created", ...] }`.
    pub endpoints: Vec<PushEndpoint>,
    /// `SUPAHOOK_EVENTS_SECRETS`: supahook's own signing secrets, `whsec_<base64>`,
    /// several separated by `|` during a rotation (each signs every message).
    pub secrets: Vec<SigningKey>,
    /// `SUPAHOOK_EVENTS_RETRY_SECONDS`: how long an event is retried before it is
    /// dead-lettered.
    pub retry_window: Duration,
    /// `SUPAHOOK_EVENTS_BACKOFF_MS`: the wait before the first retry.
    pub first_backoff: Duration,
    /// `SUPAHOOK_EVENTS_TIMEOUT_MS`: how long one attempt may take.
    pub attempt_timeout: Duration,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            secrets: Vec::new(),
            retry_window: DEFAULT_RETRY_WINDOW,
            first_backoff: DEFAULT_FIRST_BACKOFF,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
        }
    }
}

impl PushSettings {
    /// Reads the push settings; endpoints without a secret are refused.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let endpoints = sources
            .items("SUPAHOOK_EVENTS_ENDPOINTS", endpoints)?
            .unwrap_or_default();
        let secrets = sources
            .read("SUPAHOOK_EVENTS_SECRETS", Form::Text, secrets)?
            .unwrap_or_default();
        if !endpoints.is_empty() && secrets.is_empty() {
            return Err(invalid(
                "SUPAHOOK_EVENTS_ENDPOINTS",
                "needs SUPAHOOK_EVENTS_SECRETS, the whsec_<base64> secret the endpoints verify \
                 signatures with",
            ));
        }
        Ok(Self {
            endpoints,
            secrets,
            retry_window: sources
                .read("SUPAHOOK_EVENTS_RETRY_SECONDS", Form::Number, retry_window)?
                .unwrap_or(DEFAULT_RETRY_WINDOW),
            first_backoff: sources
                .read("SUPAHOOK_EVENTS_BACKOFF_MS", Form::Number, |text| {
                    millis_within(text, 10, 3_600_000)
                })?
                .unwrap_or(DEFAULT_FIRST_BACKOFF),
            attempt_timeout: sources
                .read("SUPAHOOK_EVENTS_TIMEOUT_MS", Form::Number, |text| {
                    millis_within(text, 100, 60_000)
                })?
                .unwrap_or(DEFAULT_ATTEMPT_TIMEOUT),
        })
    }
}

/// Whole seconds, from 1 to thirty days.
fn retry_window(text: &str) -> Result<Duration, String> {
    let seconds: u64 = text
        .parse()
        .map_err(|e| format!("{e} (expected whole seconds)"))?;
    match (1..=30 * 86_400).contains(&seconds) {
        true => Ok(Duration::from_secs(seconds)),
        false => Err(format!("{seconds} is outside 1 to 2592000 seconds")),
    }
}

/// `whsec_<base64>` secrets (Supabase's `v1,whsec_<base64>` form is taken too),
/// separated by `|`; an error never repeats one.
fn secrets(list: &str) -> Result<Vec<SigningKey>, String> {
    list.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|secret| {
            let full = match secret.starts_with("v1,") {
                true => secret.to_owned(),
                false => format!("v1,{secret}"),
            };
            SigningKey::parse(&full)
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{e} (expected whsec_<base64>, several separated by |)"))
}

/// The endpoints: URLs, or (in the file) tables with a `url` and `types`.
fn endpoints(items: Vec<toml::Value>) -> Result<Vec<PushEndpoint>, String> {
    let mut endpoints: Vec<PushEndpoint> = Vec::with_capacity(items.len());
    for item in items {
        let endpoint = match item {
            toml::Value::String(url) => PushEndpoint {
                url: url_of(&url)?,
                types: None,
            },
            toml::Value::Table(table) => endpoint_table(table)?,
            _ => return Err("each endpoint is a URL or a table with `url`".to_owned()),
        };
        if endpoints.iter().any(|e| e.url == endpoint.url) {
            return Err(format!("{} is listed twice", endpoint.url));
        }
        endpoints.push(endpoint);
    }
    Ok(endpoints)
}

/// `{ url = "...", types = [...] }`.
fn endpoint_table(mut table: toml::Table) -> Result<PushEndpoint, String> {
    let url = match table.remove("url") {
        Some(toml::Value::String(url)) => url_of(&url)?,
        _ => return Err("an endpoint table needs `url`, a string".to_owned()),
    };
    let types = match table.remove("types") {
        None => None,
        Some(toml::Value::Array(names)) => {
            let names: Option<Vec<String>> = names
                .iter()
                .map(|n| n.as_str().map(str::to_owned))
                .collect();
            let names = names.ok_or("`types` of an endpoint is an array of strings")?;
            let set = event_types(names).map_err(|e| format!("{url}: {e}"))?;
            Some(
                EventType::ALL
                    .into_iter()
                    .filter(|t| set.contains(*t))
                    .map(EventType::as_str)
                    .collect(),
            )
        }
        Some(_) => return Err("`types` of an endpoint is an array of strings".to_owned()),
    };
    if let Some(key) = table.keys().next() {
        return Err(format!(
            "`{key}` is not a key of an endpoint (`url`, `types`)"
        ));
    }
    Ok(PushEndpoint { url, types })
}

fn url_of(text: &str) -> Result<reqwest::Url, String> {
    crate::infra::urls::https_or_loopback(text).map_err(|e| format!("{text}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn load(vars: &[(&str, &str)], file: Option<&str>) -> Result<PushSettings, ConfigError> {
        let path = file.map(|text| {
            let path = std::env::temp_dir().join(format!("push-{}.toml", uuid::Uuid::new_v4()));
            std::fs::write(&path, text).unwrap();
            path
        });
        let env = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let sources = Sources::new(path.as_deref(), &env)?;
        PushSettings::load(&sources)
    }

    #[test]
    fn endpoints_need_a_secret() {
        let error = load(
            &[("SUPAHOOK_EVENTS_ENDPOINTS", "https://a.example/hook")],
            None,
        )
        .unwrap_err();

        assert!(error.to_string().contains("SUPAHOOK_EVENTS_SECRETS"));
    }

    #[test]
    fn a_malformed_secret_is_named_and_not_repeated() {
        let error = load(&[("SUPAHOOK_EVENTS_SECRETS", "whsec_not base64!")], None).unwrap_err();

        let message = error.to_string();
        assert!(message.contains("SUPAHOOK_EVENTS_SECRETS"), "{message}");
        assert!(!message.contains("not base64!"), "{message}");
    }

    #[test]
    fn both_secret_forms_and_rotation_are_taken() {
        let two = format!("{SECRET} | v1,{SECRET}");
        let settings = load(&[("SUPAHOOK_EVENTS_SECRETS", &two)], None).unwrap();

        assert_eq!(settings.secrets.len(), 2);
        assert!(settings.secrets[0].same_key(&settings.secrets[1]));
    }

    #[test]
    fn the_file_gives_an_endpoint_its_own_types() {
        let file = format!(
            "events_secrets = \"{SECRET}\"\nevents_endpoints = [\"https://all.example/h\", \
             {{ url = \"http://127.0.0.1:9/h\", types = [\"user.deleted\", \"user.created\"] }}]"
        );
        let settings = load(&[], Some(&file)).unwrap();

        assert_eq!(settings.endpoints[0].types, None);
        assert_eq!(
            settings.endpoints[1].types,
            Some(vec!["user.created", "user.deleted"])
        );
    }

    #[test]
    fn plain_http_elsewhere_and_unknown_types_are_refused() {
        let http = load(
            &[
                ("SUPAHOOK_EVENTS_SECRETS", SECRET),
                ("SUPAHOOK_EVENTS_ENDPOINTS", "http://hooks.example/h"),
            ],
            None,
        );
        let file = format!(
            "events_secrets = \"{SECRET}\"\n\
             events_endpoints = [{{ url = \"https://a.example/h\", types = [\"user.exploded\"] }}]"
        );

        assert!(http.unwrap_err().to_string().contains("https://"));
        assert!(
            load(&[], Some(&file))
                .unwrap_err()
                .to_string()
                .contains("user.exploded")
        );
    }
}
