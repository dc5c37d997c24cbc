//! The application-owned fields a request may change, and their limits.

use crate::storage::ProfileChanges;
use poem_openapi::Object;
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
#[derive(Object, Debug, Default)]
#[oai(deny_unknown_fields, example)]
pub struct ProfileEdit {
    /// Whether the user finished the application's onboarding (`users.is_onboarded`).
    pub is_onboarded: Option<bool>,
    /// Name shown in the application, at most 200 characters; `null` clears it.
    /// Once set, a later sync no longer reseeds it from the identity data.
    pub display_name: MaybeUndefined<String>,
    /// Avatar shown in the application, an `https://` or `http://` URL of at most
    /// 2048 characters; `null` clears it.
    pub avatar_url: MaybeUndefined<String>,
    /// The application's settings for the user: a JSON object of at most 16 KiB,
    /// which replaces the stored one whole.
    pub settings: Option<Value>,
}

impl Example for ProfileEdit {
    fn example() -> Self {
        Self {
            is_onboarded: Some(true),
            display_name: MaybeUndefined::Value("Ada L.".into()),
            avatar_url: MaybeUndefined::Undefined,
            settings: Some(json!({"theme": "dark", "newsletter": false})),
        }
    }
}

impl ProfileEdit {
    /// The edit as storage takes it, or the name of the field that breaks a limit and why.
    pub fn changes(self) -> Result<ProfileChanges, String> {
        let display_name = text(self.display_name);
        if let Some(Some(name)) = &display_name
            && name.chars().count() > MAX_DISPLAY_NAME_CHARS
        {
            return Err(format!(
                "display_name: longer than {MAX_DISPLAY_NAME_CHARS} characters"
            ));
        }
        let avatar_url = text(self.avatar_url);
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
            if settings.to_string().len() > MAX_SETTINGS_BYTES {
                return Err(format!(
                    "settings: larger than {MAX_SETTINGS_BYTES} bytes as JSON"
                ));
            }
        }
        Ok(ProfileChanges {
            is_onboarded: self.is_onboarded,
            display_name,
            avatar_url,
            settings: self.settings,
        })
    }
}

/// Absent stays absent, `null` and blank text clear.
fn text(value: MaybeUndefined<String>) -> Option<Option<String>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v.trim().to_owned()).filter(|v| !v.is_empty())),
    }
}
