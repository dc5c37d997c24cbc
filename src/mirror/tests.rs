use super::*;
use crate::events::{Activity, PersonName};
use serde_json::json;

/// A time on the day of the fixtures, from `hh:mm:ss[.ffffff]`.
fn t(time: &str) -> DateTime<Utc> {
    format!("2026-01-15T{time}Z").parse().unwrap()
}

const ROW_CREATED: &str = "09:30:12.5";
const EARLIER: &str = "09:59:59.999999";
const STORED: &str = "10:00:00";
const LATER: &str = "11:15:00";
const NOW: &str = "12:00:00";

fn ada_id() -> Uuid {
    "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14".parse().unwrap()
}

/// Ada as an event versioned at `version` describes her; the same content as [`stored`].
fn record(version: DateTime<Utc>) -> UserRecord {
    UserRecord {
        id: ada_id(),
        version,
        email: Some("ada.lovelace@example.com".into()),
        phone: Some("14155550123".into()),
        name: PersonName {
            first: Some("Ada".into()),
            last: Some("Lovelace".into()),
        },
        avatar_url: Some("https://images.example.com/ada.png".into()),
        auth_provider: Some("email".into()),
        providers: vec!["email".into()],
        is_anonymous: false,
        user_metadata: json!({ "full_name": "Ada Lovelace" }),
        app_metadata: json!({ "provider": "email", "providers": ["email"] }),
        activity: Some(Activity {
            email_confirmed_at: Some(t("09:41:05.660127")),
            phone_confirmed_at: None,
            last_sign_in_at: Some(t("09:45:00")),
        }),
        auth_created_at: Some(t("09:30:12.118347")),
        deleted_at: None,
    }
}

/// Ada's stored row, onboarded by the application, last synced at `STORED`.
fn stored() -> MirrorUser {
    MirrorUser {
        id: ada_id(),
        email: Some("ada.lovelace@example.com".into()),
        phone: Some("14155550123".into()),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        avatar_url: Some("https://images.example.com/ada.png".into()),
        auth_provider: Some("email".into()),
        providers: vec!["email".into()],
        is_anonymous: false,
        email_confirmed_at: Some(t("09:41:05.660127")),
        phone_confirmed_at: None,
        last_sign_in_at: Some(t("09:45:00")),
        user_metadata: json!({ "full_name": "Ada Lovelace" }),
        app_metadata: json!({ "provider": "email", "providers": ["email"] }),
        is_onboarded: true,
        auth_created_at: Some(t("09:30:12.118347")),
        source_updated_at: t(STORED),
        activity_updated_at: Some(t(STORED)),
        deleted_at: None,
        created_at: t(ROW_CREATED),
        updated_at: t(ROW_CREATED),
    }
}

fn stored_deleted() -> MirrorUser {
    MirrorUser {
        deleted_at: Some(t(STORED)),
        ..stored()
    }
}

fn updated(plan: Plan) -> MirrorUser {
    match plan {
        Plan::Update(user) => *user,
        other => panic!("expected an update, got {other:?}"),
    }
}

#[test]
fn a_newer_event_with_a_new_email_updates_the_user_and_keeps_application_fields() {
    let incoming = UserRecord {
        email: Some("ada@analytical.example".into()),
        ..record(t(LATER))
    };

    let next = updated(plan(&stored(), &incoming, t(NOW)));

    assert_eq!(next.email.as_deref(), Some("ada@analytical.example"));
    assert_eq!(next.source_updated_at, t(LATER));
    assert_eq!(next.updated_at, t(NOW));
    assert!(next.is_onboarded);
    assert_eq!(next.created_at, t(ROW_CREATED));
}

#[test]
fn an_older_event_is_stale() {
    let incoming = UserRecord {
        email: Some("old@example.com".into()),
        ..record(t(EARLIER))
    };

    assert_eq!(plan(&stored(), &incoming, t(NOW)), Plan::Stale);
}

#[test]
fn an_identical_event_of_the_same_version_changes_nothing() {
    assert_eq!(plan(&stored(), &record(t(STORED)), t(NOW)), Plan::Unchanged);
}

#[test]
fn a_newer_identical_event_only_moves_the_version_forward() {
    assert_eq!(
        plan(&stored(), &record(t(LATER)), t(NOW)),
        Plan::Touch {
            source_updated_at: t(LATER),
            activity_updated_at: Some(t(LATER)),
        }
    );
}

/// Token claims: the identity only, no confirmation, sign-in or delete times.
fn claims(version: DateTime<Utc>) -> UserRecord {
    UserRecord {
        activity: None,
        auth_created_at: None,
        ..record(version)
    }
}

#[test]
fn a_late_row_snapshot_still_applies_its_confirmation_after_a_newer_token() {
    // A token at LATER moved the identity version on; the row change that
    // confirmed the phone (at an earlier time) arrives afterwards.
    let after_token = MirrorUser {
        source_updated_at: t(LATER),
        ..stored()
    };
    let mut late_row = record(t("10:30:00"));
    late_row.email = Some("stale@example.com".into());
    late_row.activity.as_mut().unwrap().phone_confirmed_at = Some(t("10:30:00"));

    let next = updated(plan(&after_token, &late_row, t(NOW)));

    assert_eq!(next.phone_confirmed_at, Some(t("10:30:00")));
    assert_eq!(next.activity_updated_at, Some(t("10:30:00")));
    assert_eq!(
        next.email.as_deref(),
        Some("ada.lovelace@example.com"),
        "the newer token's identity stays"
    );
    assert_eq!(next.source_updated_at, t(LATER));
}

#[test]
fn token_claims_never_advance_the_row_snapshot_version() {
    let incoming = UserRecord {
        email: Some("ada@analytical.example".into()),
        ..claims(t(LATER))
    };

    let next = updated(plan(&stored(), &incoming, t(NOW)));

    assert_eq!(next.source_updated_at, t(LATER));
    assert_eq!(next.activity_updated_at, Some(t(STORED)));
    assert_eq!(next.email_confirmed_at, stored().email_confirmed_at);
}

#[test]
fn an_event_older_than_both_versions_is_stale_even_with_activity() {
    assert_eq!(plan(&stored(), &record(t(EARLIER)), t(NOW)), Plan::Stale);
    assert_eq!(plan(&stored(), &claims(t(EARLIER)), t(NOW)), Plan::Stale);
}

#[test]
fn an_event_without_activity_keeps_the_stored_confirmation_and_sign_in_times() {
    let incoming = UserRecord {
        phone: None,
        activity: None,
        ..record(t(LATER))
    };

    let next = updated(plan(&stored(), &incoming, t(NOW)));

    assert_eq!(next.phone, None);
    assert_eq!(next.email_confirmed_at, stored().email_confirmed_at);
    assert_eq!(next.last_sign_in_at, stored().last_sign_in_at);
}

#[test]
fn a_soft_delete_sets_deleted_at_and_keeps_the_real_email_and_phone() {
    let incoming = UserRecord {
        email: Some("9f86d081884c7d659a2feaa0c55ad015@deleted.example".into()),
        phone: Some("0c55ad015a3bf4f1b2b0b822cd15d6c1".into()),
        deleted_at: Some(t(LATER)),
        ..record(t(LATER))
    };

    let next = updated(plan(&stored(), &incoming, t(NOW)));

    assert_eq!(next.deleted_at, Some(t(LATER)));
    assert_eq!(next.email, stored().email);
    assert_eq!(next.phone, stored().phone);
    assert_eq!(next.source_updated_at, t(LATER));
}

#[test]
fn a_deleted_user_is_never_revived_by_a_newer_event() {
    let incoming = UserRecord {
        email: Some("ada@analytical.example".into()),
        ..record(t(LATER))
    };

    assert_eq!(plan(&stored_deleted(), &incoming, t(NOW)), Plan::Unchanged);
}

#[test]
fn an_older_event_about_a_deleted_user_is_stale() {
    assert_eq!(
        plan(&stored_deleted(), &record(t(EARLIER)), t(NOW)),
        Plan::Stale
    );
}

#[test]
fn a_new_user_takes_the_events_fields_and_is_not_onboarded() {
    let user = new_user(&record(t(LATER)), t(NOW));

    assert_eq!(
        user,
        MirrorUser {
            is_onboarded: false,
            source_updated_at: t(LATER),
            activity_updated_at: Some(t(LATER)),
            created_at: t(NOW),
            updated_at: t(NOW),
            ..stored()
        }
    );
}

#[test]
fn a_user_first_seen_deleted_stores_no_email_or_phone() {
    let incoming = UserRecord {
        deleted_at: Some(t(LATER)),
        ..record(t(LATER))
    };

    let user = new_user(&incoming, t(NOW));

    assert_eq!(user.deleted_at, Some(t(LATER)));
    assert_eq!(user.email, None);
    assert_eq!(user.phone, None);
    assert_eq!(user.auth_created_at, incoming.auth_created_at);
}

#[test]
fn a_seeded_profile_joins_the_names_and_copies_the_avatar() {
    let profile = Profile::seed(&stored());

    assert_eq!(profile.display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(profile.avatar_url, stored().avatar_url);
    assert_eq!(profile.created_at, t(ROW_CREATED));
}

#[test]
fn a_seeded_profile_without_names_has_no_display_name() {
    let nameless = MirrorUser {
        first_name: None,
        last_name: None,
        ..stored()
    };
    let first_only = MirrorUser {
        last_name: None,
        ..stored()
    };

    assert_eq!(Profile::seed(&nameless).display_name, None);
    assert_eq!(
        Profile::seed(&first_only).display_name.as_deref(),
        Some("Ada")
    );
}

#[test]
fn outcomes_have_the_names_the_ledger_records() {
    let names = [
        (Outcome::Created, "created"),
        (Outcome::Updated, "updated"),
        (Outcome::Unchanged, "unchanged"),
        (Outcome::Stale, "stale"),
        (Outcome::Skipped, "skipped"),
        (Outcome::Duplicate, "duplicate"),
    ];

    for (outcome, name) in names {
        assert_eq!(outcome.as_str(), name);
    }
}
