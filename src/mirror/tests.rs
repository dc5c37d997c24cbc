mod order;
mod sources;

use super::*;
use crate::events::{Activity, Deletion, PersonName, UserChange, UserRecord};
use serde_json::json;
use std::sync::Arc;

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
            banned_until: None,
        }),
        auth_created_at: Some(t("09:30:12.118347")),
        provisional: false,
        metadata_blanked: false,
        is_sso_user: Some(false),
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
        provisional: false,
        banned_until: None,
        is_sso_user: false,
        policy_violation: false,
        created_at: t(ROW_CREATED),
        updated_at: t(ROW_CREATED),
    }
}

/// Ada stored with the profile seeded from her identity.
fn current() -> Current {
    Current {
        user: Some(stored()),
        profile: Some(Profile::seed(&stored())),
        tombstone: None,
    }
}

/// Ada soft-deleted upstream at `STORED`.
fn current_deleted() -> Current {
    Current {
        user: Some(MirrorUser {
            deleted_at: Some(t(STORED)),
            ..stored()
        }),
        tombstone: Some(Tombstone {
            deleted_at: t(STORED),
            removed: false,
        }),
        ..current()
    }
}

fn upsert(record: UserRecord) -> UserChange {
    UserChange::Upsert(Arc::new(record))
}

fn deletion(at: &str, removed: bool, last: Option<UserRecord>) -> UserChange {
    UserChange::Delete(Box::new(Deletion {
        id: ada_id(),
        at: Some(t(at)),
        removed,
        last,
    }))
}

/// The decision in soft mode at `NOW`.
fn decide(current: &Current, change: &UserChange) -> Decision {
    plan(
        current,
        change,
        DeleteMode::Soft,
        &SignUpPolicy::default(),
        t(NOW),
    )
}

fn updated(decision: Decision) -> MirrorUser {
    match decision.user {
        UserWrite::Update(user) => *user,
        other => panic!("expected an update, got {other:?}"),
    }
}

#[test]
fn a_newer_event_with_a_new_email_updates_the_user_and_keeps_application_fields() {
    let incoming = UserRecord {
        email: Some("ada@analytical.example".into()),
        ..record(t(LATER))
    };

    let decision = decide(&current(), &upsert(incoming));

    assert_eq!(decision.outcome, Outcome::Updated);
    let next = updated(decision);
    assert_eq!(next.email.as_deref(), Some("ada@analytical.example"));
    assert_eq!(next.source_updated_at, t(LATER));
    assert_eq!(next.updated_at, t(NOW));
    assert!(next.is_onboarded);
    assert_eq!(next.created_at, t(ROW_CREATED));
}

#[test]
fn an_older_event_is_stale_and_writes_nothing() {
    let incoming = UserRecord {
        email: Some("old@example.com".into()),
        ..record(t(EARLIER))
    };

    let decision = decide(&current(), &upsert(incoming));

    assert_eq!(decision.outcome, Outcome::Stale);
    assert_eq!(decision.user, UserWrite::Keep);
    assert_eq!((decision.profile, decision.tombstone), (None, None));
}

#[test]
fn an_identical_event_of_the_same_version_changes_nothing() {
    let decision = decide(&current(), &upsert(record(t(STORED))));

    assert_eq!(decision.outcome, Outcome::Unchanged);
    assert_eq!(decision.user, UserWrite::Keep);
}

#[test]
fn a_newer_identical_event_only_moves_the_versions_forward() {
    let decision = decide(&current(), &upsert(record(t(LATER))));

    assert_eq!(decision.outcome, Outcome::Unchanged);
    let next = updated(decision);
    assert_eq!(next.source_updated_at, t(LATER));
    assert_eq!(next.activity_updated_at, Some(t(LATER)));
    assert_eq!(next.updated_at, t(ROW_CREATED), "content did not change");
}

#[test]
fn at_equal_versions_the_greater_content_wins_whichever_arrives_first() {
    let a = UserRecord {
        email: Some("a@example.com".into()),
        ..record(t(LATER))
    };
    let b = UserRecord {
        email: Some("b@example.com".into()),
        ..record(t(LATER))
    };

    let a_then_b = updated(decide(&current(), &upsert(a.clone())));
    let a_then_b = decide(
        &Current {
            user: Some(a_then_b),
            ..current()
        },
        &upsert(b.clone()),
    );
    let b_then_a = updated(decide(&current(), &upsert(b)));
    let b_then_a = decide(
        &Current {
            user: Some(b_then_a),
            ..current()
        },
        &upsert(a),
    );

    assert_eq!(updated(a_then_b).email.as_deref(), Some("b@example.com"));
    assert_eq!(b_then_a.user, UserWrite::Keep, "b stays");
}

/// Token claims: the identity only, no confirmation or sign-in times.
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
    let after_token = Current {
        user: Some(MirrorUser {
            source_updated_at: t(LATER),
            ..stored()
        }),
        ..current()
    };
    let mut late_row = record(t("10:30:00"));
    late_row.email = Some("stale@example.com".into());
    late_row.activity.as_mut().unwrap().phone_confirmed_at = Some(t("10:30:00"));

    let next = updated(decide(&after_token, &upsert(late_row)));

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

    let next = updated(decide(&current(), &upsert(incoming)));

    assert_eq!(next.source_updated_at, t(LATER));
    assert_eq!(next.activity_updated_at, Some(t(STORED)));
    assert_eq!(next.email_confirmed_at, stored().email_confirmed_at);
}

#[test]
fn an_event_older_than_both_versions_is_stale_even_with_activity() {
    assert_eq!(
        decide(&current(), &upsert(record(t(EARLIER)))).outcome,
        Outcome::Stale
    );
    assert_eq!(
        decide(&current(), &upsert(claims(t(EARLIER)))).outcome,
        Outcome::Stale
    );
}

#[test]
fn an_event_without_activity_keeps_the_stored_confirmation_and_sign_in_times() {
    let incoming = UserRecord {
        phone: None,
        activity: None,
        ..record(t(LATER))
    };

    let next = updated(decide(&current(), &upsert(incoming)));

    assert_eq!(next.phone, None);
    assert_eq!(next.email_confirmed_at, stored().email_confirmed_at);
    assert_eq!(next.last_sign_in_at, stored().last_sign_in_at);
}

#[test]
fn the_earliest_known_creation_time_is_kept_whatever_the_versions() {
    let mut older = record(t(EARLIER));
    older.auth_created_at = Some(t("09:00:00"));

    let next = updated(decide(&current(), &upsert(older)));

    assert_eq!(next.auth_created_at, Some(t("09:00:00")));
    assert_eq!(next.email, stored().email);
}

#[test]
fn a_soft_delete_marks_the_user_deleted_and_keeps_the_real_email_and_phone() {
    let decision = decide(&current(), &deletion(LATER, false, Some(record(t(STORED)))));

    assert_eq!(decision.outcome, Outcome::Deleted);
    assert_eq!(
        decision.tombstone,
        Some(Tombstone {
            deleted_at: t(LATER),
            removed: false
        })
    );
    let next = updated(decision);
    assert_eq!(next.deleted_at, Some(t(LATER)));
    assert_eq!((next.email, next.phone), (stored().email, stored().phone));
}

#[test]
fn a_deleted_user_stays_deleted_but_still_takes_a_newer_real_snapshot() {
    let incoming = UserRecord {
        email: Some("ada@analytical.example".into()),
        ..record(t(LATER))
    };

    let decision = decide(&current_deleted(), &upsert(incoming));

    assert_eq!(decision.outcome, Outcome::Updated);
    let next = updated(decision);
    assert_eq!(next.deleted_at, Some(t(STORED)));
    assert_eq!(next.email.as_deref(), Some("ada@analytical.example"));
}

#[test]
fn an_older_event_about_a_deleted_user_is_stale() {
    let decision = decide(&current_deleted(), &upsert(record(t(EARLIER))));

    assert_eq!(decision.outcome, Outcome::Stale);
    assert_eq!(decision.user, UserWrite::Keep);
}

#[test]
fn the_earliest_delete_time_wins_and_a_removal_is_remembered() {
    let decision = decide(&current_deleted(), &deletion(EARLIER, true, None));

    assert_eq!(
        decision.tombstone,
        Some(Tombstone {
            deleted_at: t(EARLIER),
            removed: true
        })
    );
    assert_eq!(updated(decision).deleted_at, Some(t(EARLIER)));
}

#[test]
fn a_delete_first_in_soft_mode_creates_the_user_marked_deleted_from_its_last_state() {
    let decision = decide(
        &Current::default(),
        &deletion(LATER, true, Some(record(t(STORED)))),
    );

    assert_eq!(decision.outcome, Outcome::Deleted);
    let UserWrite::Insert(user) = decision.user else {
        panic!("expected an insert, got {:?}", decision.user);
    };
    assert_eq!(user.deleted_at, Some(t(LATER)));
    assert_eq!(user.email, stored().email);
    assert_eq!(
        decision.profile,
        Some(ProfileWrite::Create(Profile::seed(&user)))
    );
}

#[test]
fn in_hard_mode_a_removed_user_has_no_row_whatever_arrives() {
    let hard = |current: &Current, change: &UserChange| {
        plan(
            current,
            change,
            DeleteMode::Hard,
            &SignUpPolicy::default(),
            t(NOW),
        )
    };
    let removed = deletion(LATER, true, Some(record(t(STORED))));

    let on_row = hard(&current(), &removed);
    let first = hard(&Current::default(), &removed);
    let tombstone = first.tombstone;
    let late = hard(
        &Current {
            tombstone,
            ..Current::default()
        },
        &upsert(record(t(NOW))),
    );

    assert_eq!(
        (on_row.outcome, on_row.user),
        (Outcome::Deleted, UserWrite::Remove)
    );
    assert_eq!(
        (first.outcome, first.user),
        (Outcome::Deleted, UserWrite::Keep)
    );
    assert_eq!((late.outcome, late.user), (Outcome::Stale, UserWrite::Keep));
}

#[test]
fn in_hard_mode_a_soft_deleted_user_keeps_its_row_marked_deleted() {
    let decision = plan(
        &current(),
        &deletion(LATER, false, None),
        DeleteMode::Hard,
        &SignUpPolicy::default(),
        t(NOW),
    );

    assert_eq!(updated(decision).deleted_at, Some(t(LATER)));
}

#[test]
fn a_delete_without_a_time_is_dated_when_it_is_applied() {
    let change = UserChange::Delete(Box::new(Deletion {
        id: ada_id(),
        at: None,
        removed: true,
        last: None,
    }));

    assert_eq!(
        updated(decide(&current(), &change)).deleted_at,
        Some(t(NOW))
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
fn a_seeded_profile_follows_a_new_name_until_the_application_changes_it() {
    let renamed = UserRecord {
        user_metadata: json!({ "full_name": "Augusta Ada King" }),
        name: PersonName {
            first: Some("Augusta".into()),
            last: Some("Ada King".into()),
        },
        ..record(t(LATER))
    };
    let edited = Current {
        profile: Some(Profile {
            display_name: Some("Countess of Lovelace".into()),
            ..Profile::seed(&stored())
        }),
        ..current()
    };

    let follows = decide(&current(), &upsert(renamed.clone())).profile;
    let kept = decide(&edited, &upsert(renamed)).profile;

    let Some(ProfileWrite::Follow { from, to }) = follows else {
        panic!("expected the profile to follow, got {follows:?}");
    };
    assert_eq!(from, Profile::seed(&stored()));
    assert_eq!(to.display_name.as_deref(), Some("Augusta Ada King"));
    assert_eq!(to.updated_at, t(NOW));
    assert_eq!(kept, None, "an application's name is left alone");
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
        (Outcome::Deleted, "deleted"),
    ];

    for (outcome, name) in names {
        assert_eq!(outcome.as_str(), name);
    }
}

#[test]
fn a_snapshot_and_the_user_stored_from_it_have_one_identity_fingerprint_until_it_changes() {
    let snapshot = record(t("10:00:00"));
    let same = identity_fingerprint(&snapshot);

    assert_eq!(same, stored_identity_fingerprint(&stored()));
    assert_eq!(
        same,
        identity_fingerprint(&record(t("11:00:00"))),
        "versions are not identity"
    );
    let changes: [fn(&mut UserRecord); 6] = [
        |r| r.email = Some("ada@example.org".into()),
        |r| r.phone = None,
        |r| r.is_anonymous = true,
        |r| r.user_metadata["full_name"] = json!("Augusta Ada King"),
        |r| r.app_metadata["providers"] = json!(["email", "github"]),
        |r| r.auth_provider = Some("github".into()),
    ];
    for change in changes {
        let mut changed = snapshot.clone();
        change(&mut changed);
        assert_ne!(identity_fingerprint(&changed), same, "{changed:?}");
    }
}
