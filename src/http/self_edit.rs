//! What signed-in users may change about themselves through the sync body.
//!
//! `display_name`, `avatar_url` and `settings` only shape how the application shows
//! the user, so the user may set them. `is_onboarded` can gate access (the README's
//! profile claim lets Row Level Security read it), so it belongs to the application,
//! which sets it through the admin API, unless `SUPAHOOK_USERS_MAY_SET_ONBOARDED`
//! hands it to users. A field a user may not set is left out, not refused: a frontend
//! that sends it keeps working, and the answer names what was left out.

use crate::storage::ProfileChanges;

/// The field only the application sets, unless the setting hands it to users.
const ONBOARDED: &str = "is_onboarded";

/// The part of `changes` a user may make, and the names of the fields left out.
pub(super) fn users_part(
    mut changes: ProfileChanges,
    may_set_onboarded: bool,
) -> (ProfileChanges, Vec<String>) {
    let mut ignored = Vec::new();
    if !may_set_onboarded && changes.is_onboarded.take().is_some() {
        ignored.push(ONBOARDED.to_owned());
    }
    (changes, ignored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit() -> ProfileChanges {
        ProfileChanges {
            is_onboarded: Some(true),
            display_name: Some(Some("Ada".into())),
            ..ProfileChanges::default()
        }
    }

    #[test]
    fn by_default_a_user_sets_everything_but_is_onboarded() {
        let (kept, ignored) = users_part(edit(), false);

        assert_eq!(kept.is_onboarded, None);
        assert_eq!(kept.display_name, Some(Some("Ada".into())));
        assert_eq!(ignored, [ONBOARDED]);
    }

    #[test]
    fn with_the_setting_a_user_sets_is_onboarded_too() {
        let (kept, ignored) = users_part(edit(), true);

        assert_eq!(kept.is_onboarded, Some(true));
        assert!(ignored.is_empty());
    }

    #[test]
    fn a_body_without_is_onboarded_leaves_nothing_out() {
        let changes = ProfileChanges {
            is_onboarded: None,
            ..edit()
        };

        let (_, ignored) = users_part(changes, false);

        assert!(ignored.is_empty());
    }
}
