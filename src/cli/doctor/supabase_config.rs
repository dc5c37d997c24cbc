//! The Supabase CLI's `config.toml`: the `[auth.hook.*]` entries that point Supabase
//! Auth at supahook, and their secrets. Pure: the file's text and a lookup for
//! `env(NAME)` in, findings out.

use super::report::Check;
use crate::signature::SigningKey;

/// The hooks supahook serves that `config.toml` can configure, with their paths.
const HOOKS: [(&str, &str); 2] = [
    ("custom_access_token", "/hooks/custom-access-token"),
    ("before_user_created", "/hooks/before-user-created"),
];

/// Hosts Supabase Auth accepts a plain `http://` hook URI for.
const PLAIN_HTTP_HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "[::1]", "host.docker.internal"];

/// Where the Supabase side of the hooks is set up.
const SNIPPET: &str = "deploy/supabase/config.toml";

/// What the file says: a finding per hook, and the secrets each hook signs with.
pub struct Findings {
    /// One check per hook entry.
    pub checks: Vec<Check>,
    /// The secrets Supabase Auth signs each hook with, for the test event.
    pub secrets: Vec<(String, Vec<SigningKey>)>,
}

/// Checks `text`, a `config.toml`: each hook entry enabled, its URI a supahook hook
/// path Supabase accepts, its secrets well-formed and among `accepted` (supahook's).
/// `env` resolves `secrets = "env(NAME)"`.
pub fn check(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    accepted: &[SigningKey],
) -> Findings {
    let mut findings = Findings {
        checks: Vec::new(),
        secrets: Vec::new(),
    };
    let document: toml::Table = match toml::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            findings.checks.push(Check::problem(
                "config.toml",
                format!("not valid TOML: {}", error.message()),
                "correct the file (the Supabase CLI refuses it too)",
            ));
            return findings;
        }
    };
    let hooks = document
        .get("auth")
        .and_then(|auth| auth.get("hook"))
        .and_then(toml::Value::as_table);
    for (key, path) in HOOKS {
        let name = format!("config.toml [auth.hook.{key}]");
        let entry = hooks.and_then(|hooks| hooks.get(key));
        let check = match entry.map(|entry| hook_entry(entry, path, env)) {
            None => Check::problem(name, "missing", format!("copy the section from {SNIPPET}")),
            Some(Err((problem, fix))) => Check::problem(name, problem, fix),
            Some(Ok((uri, keys))) => {
                let check = accepted_by_supahook(name, &uri, &keys, accepted);
                findings
                    .secrets
                    .push((format!("the {key} hook's secrets"), keys));
                check
            }
        };
        findings.checks.push(check);
    }
    findings
}

type Problem = (String, String);

/// Whether one of the hook's `keys` is among supahook's.
fn accepted_by_supahook(
    name: String,
    uri: &str,
    keys: &[SigningKey],
    accepted: &[SigningKey],
) -> Check {
    if keys
        .iter()
        .any(|key| accepted.iter().any(|a| a.same_key(key)))
    {
        let found = format!(
            "enabled, {uri}, {} secret(s), accepted by supahook",
            keys.len()
        );
        return Check::ok(name, found);
    }
    Check::problem(
        name,
        format!(
            "none of its {} secret(s) is one supahook accepts (SUPAHOOK_HOOK_SECRETS)",
            keys.len()
        ),
        "give this hook's `secrets` and supahook's SUPAHOOK_HOOK_SECRETS the same v1,whsec_ value",
    )
}

/// One `[auth.hook.NAME]` entry: its URI and keys, or what is wrong with it.
fn hook_entry(
    entry: &toml::Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Vec<SigningKey>), Problem> {
    let field = |name: &str| entry.get(name);
    if field("enabled").and_then(toml::Value::as_bool) != Some(true) {
        return Err(("not enabled".into(), "set `enabled = true`".into()));
    }
    let uri = field("uri")
        .and_then(toml::Value::as_str)
        .unwrap_or_default();
    hook_uri(uri, path)?;
    let Some(secrets) = field("secrets").and_then(toml::Value::as_str) else {
        return Err((
            "no `secrets`".into(),
            "set `secrets = \"env(SUPAHOOK_HOOK_SECRETS)\"` and that variable to supahook's secret"
                .into(),
        ));
    };
    let secrets = resolve(secrets, env)?;
    Ok((uri.to_owned(), hook_secrets(&secrets)?))
}

/// A URI Supabase Auth accepts (https, or http on a local host) that ends in `path`.
fn hook_uri(uri: &str, path: &str) -> Result<(), Problem> {
    let fix = || format!("set `uri` to supahook's address followed by {path}");
    let url =
        reqwest::Url::parse(uri).map_err(|_| (format!("`uri` {uri:?} is not a URL"), fix()))?;
    let host = url.host_str().unwrap_or_default();
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => PLAIN_HTTP_HOSTS.contains(&host),
        _ => false,
    };
    if !scheme_ok {
        return Err((
            format!(
                "`uri` {uri} is refused by Supabase Auth: only https://, or http:// to localhost, 127.0.0.1, ::1 or host.docker.internal"
            ),
            "serve supahook over https (deploy/README.md)".into(),
        ));
    }
    if url.path() != path {
        return Err((format!("`uri` {uri} is not supahook's {path}"), fix()));
    }
    Ok(())
}

/// The value of `secrets`, reading `env(NAME)` through `env`.
fn resolve(secrets: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, Problem> {
    let Some(name) = secrets
        .trim()
        .strip_prefix("env(")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return Ok(secrets.to_owned());
    };
    env(name.trim()).ok_or_else(|| {
        (
            format!("`secrets` reads env({name}), which is set neither in the environment nor in the .env file beside config.toml"),
            format!("set {name} to supahook's v1,whsec_ secret in supabase/.env"),
        )
    })
}

/// The `|`-separated secrets, each as the Supabase CLI checks it
/// (`^v1,whsec_[A-Za-z0-9+/=]{32,88}$`) and as Supabase Auth decodes it.
fn hook_secrets(secrets: &str) -> Result<Vec<SigningKey>, Problem> {
    let fix = || {
        "each secret must read v1,whsec_<base64 of 24 to 66 random bytes>, several joined with |"
            .to_owned()
    };
    let mut keys = Vec::new();
    for (n, part) in secrets
        .split('|')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let encoded = part.strip_prefix("v1,whsec_").unwrap_or_default();
        let cli_pattern = (32..=88).contains(&encoded.len())
            && encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        let key = SigningKey::parse(part).ok().filter(|_| cli_pattern);
        match key {
            Some(key) => keys.push(key),
            None => {
                return Err((
                    format!("secret #{} is not of the form v1,whsec_<base64>", n + 1),
                    fix(),
                ));
            }
        }
    }
    if keys.is_empty() {
        return Err(("`secrets` is empty".into(), fix()));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=";
    const OTHER: &str = "v1,whsec_/yNMaHaPP5sX873J6OQEznxFvOa0dod1Sc3t/kZYFsQ=";

    fn config(secrets: &str, uri_host: &str) -> String {
        format!(
            "[auth.hook.custom_access_token]\nenabled = true\n\
             uri = \"{uri_host}/hooks/custom-access-token\"\nsecrets = \"{secrets}\"\n\
             [auth.hook.before_user_created]\nenabled = true\n\
             uri = \"{uri_host}/hooks/before-user-created\"\nsecrets = \"{secrets}\"\n"
        )
    }

    fn run(text: &str, env_value: Option<&str>) -> Vec<String> {
        let accepted = [SigningKey::parse(SECRET).unwrap()];
        let env = |name: &str| (name == "HOOK").then(|| env_value.unwrap_or_default().to_owned());
        check(text, &env, &accepted)
            .checks
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_deployed_snippet_with_supahooks_secret_passes() {
        let snippet = include_str!("../../../deploy/supabase/config.toml");
        let lines = run(
            &snippet.replace("SUPAHOOK_HOOK_SECRETS", "HOOK"),
            Some(SECRET),
        );
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.starts_with("ok ")), "{lines:?}");
    }

    #[test]
    fn a_secret_supahook_does_not_accept_is_a_problem() {
        let lines = run(&config("env(HOOK)", "https://h.example"), Some(OTHER));
        assert!(
            lines[0].contains("none of its 1 secret(s) is one supahook accepts"),
            "{lines:?}"
        );
    }

    #[test]
    fn rotation_passes_when_one_secret_is_accepted() {
        let both = format!("{OTHER}|{SECRET}");
        let lines = run(&config(&both, "https://h.example"), None);
        assert!(lines[0].contains("2 secret(s), accepted"), "{lines:?}");
    }

    #[test]
    fn malformed_secrets_unset_variables_and_wrong_uris_are_named() {
        let lines = run(&config("v1,aaaaaaaaaa", "https://h.example"), None);
        assert!(
            lines[0].contains("secret #1 is not of the form"),
            "{lines:?}"
        );
        let lines = run(&config("env(NOPE)", "https://h.example"), None);
        assert!(lines[0].contains("env(NOPE)"), "{lines:?}");
        let lines = run(&config(SECRET, "http://h.example"), None);
        assert!(lines[0].contains("refused by Supabase Auth"), "{lines:?}");
        let text = config(SECRET, "https://h.example").replace("custom-access-token", "x");
        assert!(run(&text, None)[0].contains("is not supahook's"));
    }

    #[test]
    fn a_missing_or_disabled_entry_and_bad_toml_are_problems() {
        let text = config(SECRET, "https://h.example").replace(
            "enabled = true\nuri = \"https://h.example/hooks/before",
            "enabled = false\nuri = \"https://h.example/hooks/before",
        );
        assert!(run(&text, None)[1].contains("not enabled"));
        assert!(run("", None)[0].contains("missing; fix: copy the section"));
        assert!(run("[auth", None)[0].contains("not valid TOML"));
    }
}
