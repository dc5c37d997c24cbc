//! The PostgreSQL schema supahook's tables live in (`SUPAHOOK_DB_SCHEMA`), and the
//! names of those tables, which a schema must not already hold under another owner.

use std::fmt;

/// The tables supahook's migrations create, besides diesel's own
/// `__diesel_schema_migrations`. A test checks this list against the migrated schema.
pub const TABLES: [&str; 10] = [
    "users",
    "profiles",
    "webhook_events",
    "deleted_users",
    "reconcile_marks",
    "outbox_events",
    "nats_cursor",
    "push_endpoints",
    "push_deliveries",
    "push_attempts",
];

/// A schema name: an unquoted lower-case SQL identifier, so that it means the same
/// whether or not it is quoted (`users` in `supahook` is `supahook.users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaName(String);

impl SchemaName {
    /// `public`, PostgreSQL's default schema and supahook's unless told otherwise.
    pub fn public() -> Self {
        Self("public".to_owned())
    }

    /// Takes `text` when it is 1 to 63 lower-case letters, digits and `_`, not
    /// starting with a digit, and not a schema PostgreSQL keeps for itself.
    pub fn parse(text: &str) -> Result<Self, String> {
        let well_formed = text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && text
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && text.len() <= 63;
        if !well_formed {
            return Err(format!(
                "`{text}` is not a schema name supahook takes: 1 to 63 lower-case letters, \
                 digits and _, not starting with a digit (for example supahook)"
            ));
        }
        if text.starts_with("pg_") || text == "information_schema" {
            return Err(format!(
                "`{text}` is a schema PostgreSQL keeps for itself; choose another, such as supahook"
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// Whether this is `public`, the default.
    pub fn is_public(&self) -> bool {
        self.0 == "public"
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SchemaName {
    fn default() -> Self {
        Self::public()
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lower_case_identifiers_are_taken() {
        for name in ["public", "supahook", "mirror_2", "_private"] {
            assert_eq!(SchemaName::parse(name).unwrap().as_str(), name);
        }
        assert!(SchemaName::default().is_public());
        assert!(!SchemaName::parse("supahook").unwrap().is_public());
    }

    #[test]
    fn what_would_need_quoting_or_belongs_to_postgres_is_refused() {
        let long = "a".repeat(64);
        for name in [
            "",
            "Supahook",
            "2mirror",
            "my-schema",
            "a b",
            "x\"; drop table users; --",
            "public.users",
            "pg_catalog",
            "pg_temp",
            "information_schema",
            "schéma",
            long.as_str(),
        ] {
            assert!(SchemaName::parse(name).is_err(), "{name:?} was taken");
        }
        assert!(SchemaName::parse(&"a".repeat(63)).is_ok());
    }
}
