//! The lifecycle events' settings: which types are recorded (`SUPAHOOK_EVENTS_TYPES`)
//! and how long they are kept (`SUPAHOOK_EVENTS_RETENTION_DAYS`).

use crate::config_sources::{ConfigError, Form, Sources};
use crate::mirror::{EventType, EventTypes};

/// How long recorded events are kept unless `SUPAHOOK_EVENTS_RETENTION_DAYS` says otherwise.
pub const DEFAULT_EVENTS_RETENTION_DAYS: u32 = 7;

/// What the outbox records and keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSettings {
    /// `SUPAHOOK_EVENTS_TYPES`: the event types recorded with each change; by default
    /// every type but `user.signed_in`; `none` records nothing.
    pub types: EventTypes,
    /// `SUPAHOOK_EVENTS_RETENTION_DAYS`: how long recorded events are kept (0: forever);
    /// each user's last event is kept whatever its age, to carry its sequence on.
    pub retention_days: u32,
}

impl EventSettings {
    /// Reads the events' settings.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        Ok(Self {
            types: sources
                .list("SUPAHOOK_EVENTS_TYPES", event_types)?
                .unwrap_or_default(),
            retention_days: sources
                .read("SUPAHOOK_EVENTS_RETENTION_DAYS", Form::Number, str::parse)?
                .unwrap_or(DEFAULT_EVENTS_RETENTION_DAYS),
        })
    }
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            types: EventTypes::default(),
            retention_days: DEFAULT_EVENTS_RETENTION_DAYS,
        }
    }
}

/// A list of event type names, `all`, or `none`.
pub(super) fn event_types(names: Vec<String>) -> Result<EventTypes, String> {
    match names.as_slice() {
        [only] if only == "none" => return Ok(EventTypes::NONE),
        [only] if only == "all" => return Ok(EventTypes::of(EventType::ALL)),
        _ => {}
    }
    let mut types = Vec::with_capacity(names.len());
    for name in &names {
        let Some(kind) = EventType::parse(name) else {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            return Err(format!(
                "unknown event type `{name}`: use `all`, `none` or a list of {}",
                known.join(", ")
            ));
        };
        types.push(kind);
    }
    Ok(EventTypes::of(types))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_named_listed_or_all_or_none() {
        let list = |names: &[&str]| event_types(names.iter().map(|n| n.to_string()).collect());

        assert_eq!(list(&["none"]), Ok(EventTypes::NONE));
        assert_eq!(list(&["all"]), Ok(EventTypes::of(EventType::ALL)));
        let two = list(&["user.created", "user.signed_in"]).unwrap();
        assert!(two.contains(EventType::SignedIn) && !two.contains(EventType::UserUpdated));
        let error = list(&["user.created", "user.exploded"]).unwrap_err();
        assert!(error.contains("user.exploded") && error.contains("user.deleted"));
    }
}
