//! The application-owned fields a request may change, and their limits.

use crate::events::{NUL_PROBLEM, nul_at};
use crate::storage::ProfileChanges;
use poem_openapi::Object;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{Example, MaybeUndefined};
use serde_json::{Value, json};

/// The largest `settings` object accepted, as compact JSON.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;
/// The longest `display_name` accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;
/// The longest `avatar_url` accepted, in characters.
pub const MAX_AVATAR_URL_CHARS: usize = 2048;

/// The fields the application owns. Absent fields stay as they are; `null` clears a name or avatar.
/// The user's identity is never part of it: it comes from the access token or the path.
/// Text and settings are stored as given: whatever displays them must escape them.
// The text fields are taken as any JSON value and checked by `ProfileEdit::changes`:
// poem-openapi would turn a number or a boolean into text, and its refusals do not name
// the field. `document_limits` gives them their schema.
#[derive(Object, Debug, Default)]
#[oai(deny_unknown_fields, example)]
pub struct ProfileEdit {
    /// Whether the user finished the application's onboarding (`users.is_onboarded`);
    /// `null` leaves it as it is. Only the application sets it: in the body of
    /// `POST /api/auth/users/sync` it is ignored unless `SUPAHOOK_USERS_MAY_SET_ONBOARDED=true`.
    #[oai(nullable)]
    pub is_onboarded: Option<bool>,
    /// Name shown in the application, at most 200 characters and without a NUL
    /// character (`\u0000`); `null` or blank text clears it. Once set, a later sync no
    /// longer reseeds it from the identity data.
    #[oai(nullable)]
    pub display_name: MaybeUndefined<Value>,
    /// Avatar shown in the application, an `https://` or `http://` URL of at most
    /// 2048 characters, without a NUL character (`\u0000`); `null` clears it.
    #[oai(nullable)]
    pub avatar_url: MaybeUndefined<Value>,
    /// The application's settings for the user: a JSON object of at most 16 KiB as
    /// compact JSON, which replaces the stored one whole; `null` leaves it as it is.
    /// No key and no string in it, at any depth, may hold a NUL character (`\u0000`),
    /// which PostgreSQL cannot store: such an edit is refused with 422 naming the path.
    #[oai(nullable)]
    pub settings: Option<Value>,
}

impl Example for ProfileEdit {
    fn example() -> Self {
        Self {
            is_onboarded: Some(true),
            display_name: MaybeUndefined::Value(json!("Ada L.")),
            avatar_url: MaybeUndefined::Undefined,
            settings: Some(json!({"theme": "dark", "newsletter": false})),
        }
    }
}

impl ProfileEdit {
    /// The edit as storage takes it, or the name of the field that breaks a limit and why.
    /// The limits apply to the text as sent, before it is trimmed, as the spec states them.
    pub fn changes(self) -> Result<ProfileChanges, String> {
        let display_name = text("display_name", self.display_name)?;
        if let Some(Some(name)) = &display_name
            && name.chars().count() > MAX_DISPLAY_NAME_CHARS
        {
            return Err(format!(
                "display_name: longer than {MAX_DISPLAY_NAME_CHARS} characters"
            ));
        }
        let avatar_url = text("avatar_url", self.avatar_url)?;
        if let Some(Some(url)) = &avatar_url {
            let web = url.starts_with("https://") || url.starts_with("http://");
            if !web || url.chars().count() > MAX_AVATAR_URL_CHARS {
                return Err(format!(
                    "avatar_url: not an https:// or http:// URL of at most {MAX_AVATAR_URL_CHARS} characters"
                ));
            }
        }
        if let Some(settings) = &self.settings {
            if !settings.is_object() {
                return Err("settings: not a JSON object".into());
            }
            if let Some(path) = nul_at(settings, "settings".into()) {
                return Err(format!("{path}: {NUL_PROBLEM}"));
            }
            if settings.to_string().len() > MAX_SETTINGS_BYTES {
                return Err(format!(
                    "settings: larger than {MAX_SETTINGS_BYTES} bytes as JSON"
                ));
            }
        }
        Ok(ProfileChanges {
            is_onboarded: self.is_onboarded,
            display_name: display_name.map(trimmed),
            avatar_url: avatar_url.map(trimmed),
            settings: self.settings,
        })
    }
}

/// Absent stays absent and `null` clears; the text as sent, which must be a string
/// without a NUL character.
fn text(field: &str, value: MaybeUndefined<Value>) -> Result<Option<Option<String>>, String> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(Value::String(text)) if text.contains('\0') => {
            Err(format!("{field}: {NUL_PROBLEM}"))
        }
        MaybeUndefined::Value(Value::String(text)) => Ok(Some(Some(text))),
        MaybeUndefined::Value(_) => Err(format!("{field}: not a string")),
    }
}

/// Blank text clears, like `null`.
fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// States in the spec what [`ProfileEdit::changes`] checks and the derived schema cannot
/// say: the text fields are strings within their limits and without a NUL, `settings`
/// is an object, and no other property is accepted. They are checked in `changes`
/// rather than by validators so that every refusal is a 422 naming the field, on both
/// endpoints that take the edit.
pub(super) fn document_limits(registry: &mut Registry) {
    let Some(schema) = registry.schemas.get_mut("ProfileEdit") else {
        return;
    };
    for (name, property) in &mut schema.properties {
        let MetaSchemaRef::Inline(property) = property else {
            continue;
        };
        match *name {
            "display_name" => {
                property.ty = "string";
                property.max_length = Some(MAX_DISPLAY_NAME_CHARS);
                property.pattern = Some(r"^[^\x00]*$".to_owned());
            }
            "avatar_url" => {
                property.ty = "string";
                property.max_length = Some(MAX_AVATAR_URL_CHARS);
                property.pattern = Some(r"^https?://[^\x00]*$".to_owned());
            }
            "settings" => property.ty = "object",
            _ => {}
        }
    }
    schema.additional_properties = Some(Box::new(MetaSchemaRef::Inline(Box::new(no_value()))));
}

/// A schema no value satisfies (a string and a number at once): JSON Schema's `false`,
/// which poem-openapi cannot write. As `additionalProperties` it refuses any other property.
fn no_value() -> MetaSchema {
    MetaSchema {
        description: Some("No property other than those listed is accepted."),
        all_of: vec![
            MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
            MetaSchemaRef::Inline(Box::new(MetaSchema::new("number"))),
        ],
        ..MetaSchema::ANY
    }
}
