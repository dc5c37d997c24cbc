//! The events replay sends: read from JSONL and signed as Supabase would sign them.

use crate::signature::SigningKey;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Hook endpoints replay can send to, by the name used in `--hook` and in files.
pub const HOOKS: [&str; 4] = [
    "custom-access-token",
    "before-user-created",
    "after-user-created",
    "auth-users",
];

/// One event to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Which endpoint, one of [`HOOKS`].
    pub hook: String,
    /// The body, byte for byte as it will be signed and sent.
    pub body: Vec<u8>,
    /// The `webhook-id`: derived from the body, so replaying a file twice repeats it.
    pub webhook_id: String,
}

/// A line of a replay file that cannot be sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Reads JSONL: each non-blank line is a hook body, or `{"hook": "...", "body": {...}}`.
/// The hook of a bare body is `default_hook`, else inferred from `metadata.name` or,
/// for a Database Webhook payload, its `type`/`table`. With `new_ids`, each event
/// gets a fresh `metadata.uuid` and `webhook-id`, so it counts as a new event.
pub fn parse_events(
    text: &str,
    default_hook: Option<&str>,
    new_ids: bool,
) -> Result<Vec<Event>, LineError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            parse_line(line.trim(), default_hook, new_ids).map_err(|reason| LineError {
                line: index + 1,
                reason,
            })
        })
        .collect()
}

fn parse_line(line: &str, default_hook: Option<&str>, new_ids: bool) -> Result<Event, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let wrapped = value
        .get("hook")
        .and_then(Value::as_str)
        .zip(value.get("body"));
    let (hook, mut body, mut bytes) = match wrapped {
        Some((hook, body)) => (hook.to_owned(), body.clone(), None),
        None => {
            let hook = default_hook
                .map(str::to_owned)
                .or_else(|| infer_hook(&value))
                .ok_or("cannot tell which hook this is for: pass --hook or wrap it as {\"hook\": ..., \"body\": ...}")?;
            (hook, value, Some(line.as_bytes().to_vec()))
        }
    };
    if !HOOKS.contains(&hook.as_str()) {
        return Err(format!(
            "unknown hook `{hook}`; expected one of {}",
            HOOKS.join(", ")
        ));
    }
    if new_ids {
        if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.insert(
                "uuid".into(),
                Value::String(uuid::Uuid::new_v4().to_string()),
            );
        }
        bytes = None;
    }
    let body = bytes.unwrap_or_else(|| serde_json::to_vec(&body).expect("JSON values serialise"));
    let webhook_id = if new_ids {
        format!("msg_{}", uuid::Uuid::new_v4().simple())
    } else {
        let digest = Sha256::new()
            .chain_update(hook.as_bytes())
            .chain_update(b"\n")
            .chain_update(&body)
            .finalize();
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("msg_{hex}")
    };
    Ok(Event {
        hook,
        body,
        webhook_id,
    })
}

fn infer_hook(body: &Value) -> Option<String> {
    let name = body.pointer("/metadata/name").and_then(Value::as_str);
    let hook = match name {
        Some("customize-access-token" | "custom-access-token") => "custom-access-token",
        Some("before-user-created") => "before-user-created",
        Some("after-user-created") => "after-user-created",
        _ if body.get("type").is_some() && body.get("table").is_some() => "auth-users",
        _ => return None,
    };
    Some(hook.to_owned())
}

/// The three Standard Webhooks headers for `event`, signed at `timestamp`.
pub fn headers(event: &Event, key: &SigningKey, timestamp: i64) -> [(&'static str, String); 3] {
    [
        ("webhook-id", event.webhook_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            key.sign(&event.webhook_id, timestamp, &event.body),
        ),
    ]
}

/// The request as a curl command, for `--dry-run`.
pub fn curl(url: &str, event: &Event, key: &SigningKey, timestamp: i64) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut command = format!(
        "curl -sS -X POST {} -H 'content-type: application/json'",
        quote(&format!(
            "{}/hooks/{}",
            url.trim_end_matches('/'),
            event.hook
        ))
    );
    for (name, value) in headers(event, key, timestamp) {
        command.push_str(&format!(" -H {}", quote(&format!("{name}: {value}"))));
    }
    command.push_str(&format!(
        " --data-binary {}",
        quote(&String::from_utf8_lossy(&event.body))
    ));
    command
}
