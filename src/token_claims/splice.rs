//! The claims to sign, as JSON text, from a token's claims text and what supahook adds.
//!
//! A refresh answered from the cache adds the same claims to every token of the user,
//! so they are written as JSON text once, when kept, and added to each token's claims
//! text as it came: no JSON value is built for the token and nothing is written twice.
//! That is done only when it means the same as merging the values
//! ([`Additions::apply`]): the claims text is an object (it was read as valid JSON)
//! that holds none of the added names, and no chained hook's changes are to be applied.
//! Anything else, rare, goes through the values.

use super::merge::Additions;
use crate::events::ParseError;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// What supahook adds to a user's tokens, ready to add to each.
#[derive(Debug, Default)]
pub struct Prepared {
    additions: Additions,
    /// supahook's own claims as the members of a JSON object (`"name":value,...`);
    /// none when a chained hook's changes are to be applied.
    members: Option<String>,
}

impl Prepared {
    /// Writes supahook's own claims of `additions` as JSON text, once.
    pub fn new(additions: Additions) -> Self {
        let members = additions.chain.is_none().then(|| {
            let mut members = String::new();
            for (name, value) in &additions.own {
                if !members.is_empty() {
                    members.push(',');
                }
                // A string and a value always serialise.
                members.push_str(&Value::String(name.clone()).to_string());
                members.push(':');
                members.push_str(&value.to_string());
            }
            members
        });
        Self { additions, members }
    }

    /// The claims to sign for a token whose claims are the JSON text `claims`.
    pub fn apply(&self, claims: &str) -> Result<String, ParseError> {
        if let Some(spliced) = self.splice(claims) {
            return Ok(spliced);
        }
        Ok(Value::Object(self.additions.apply(read(claims)?)).to_string())
    }

    /// `claims` with the own claims written into it, when that means the same as
    /// merging the values.
    fn splice(&self, claims: &str) -> Option<String> {
        let members = self.members.as_deref()?;
        let names = Names(&self.additions.own);
        let mut reader = serde_json::Deserializer::from_str(claims);
        let empty = reader.deserialize_map(names).ok()??;
        reader.end().ok()?;
        let open = claims.trim_end().strip_suffix('}')?;
        let mut spliced = String::with_capacity(claims.len() + members.len() + 1);
        spliced.push_str(open);
        if !empty && !members.is_empty() {
            spliced.push(',');
        }
        spliced.push_str(members);
        spliced.push('}');
        Some(spliced)
    }
}

/// The claims text as values; an error when it is not a JSON object.
pub fn read(claims: &str) -> Result<Map<String, Value>, ParseError> {
    serde_json::from_str(claims).map_err(|e| ParseError::Syntax(e.to_string()))
}

/// Reads a claims object without keeping it: `Some(empty)` when it holds none of the
/// names of the own claims, `None` when it holds one.
struct Names<'a>(&'a [(String, Value)]);

impl<'de> Visitor<'de> for Names<'_> {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut empty = true;
        while let Some(taken) = map.next_key_seed(Name(self.0))? {
            if taken {
                return Ok(None);
            }
            map.next_value::<IgnoredAny>()?;
            empty = false;
        }
        Ok(Some(empty))
    }
}

/// One key of the claims: whether it is the name of an own claim.
struct Name<'a>(&'a [(String, Value)]);

impl<'de> DeserializeSeed<'de> for Name<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, key: D) -> Result<bool, D::Error> {
        key.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a claim name")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(self.0.iter().any(|(name, _)| name == key))
    }
}

#[cfg(test)]
#[path = "splice_tests.rs"]
mod tests;
