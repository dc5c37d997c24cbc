//! What each source may say of a user: provisional sign-ups, bans, an invited user's
//! blanked metadata, SSO users, and emails the sign-up policy refuses.

use super::{LATER, NOW, STORED, ada_id, current, record, stored, t, upsert};
use crate::events::{Activity, Deletion, UserChange, UserRecord};
use crate::mirror::*;
use serde_json::json;

fn decide_with(current: &Current, change: &UserChange, policy: &SignUpPolicy) -> Decision {
    plan(current, change, DeleteMode::Soft, policy, t(NOW))
}

fn decide(current: &Current, change: &UserChange) -> Decision {
    decide_with(current, change, &SignUpPolicy::default())
}

fn written(decision: &Decision) -> MirrorUser {
    match &decision.user {
        UserWrite::Insert(user) | UserWrite::Update(user) => (**user).clone(),
        other => panic!("expected a write, got {other:?}"),
    }
}

/// Ada as before-user-created describes her: provisional, nothing confirmed yet.
fn before_created() -> UserRecord {
    UserRecord {
        provisional: true,
        activity: Some(Activity::default()),
        auth_created_at: None,
        is_sso_user: None,
        ..record(t("09:30:11.9"))
    }
}

/// Ada mirrored from before-user-created alone.
fn provisional_row() -> Current {
    let user = written(&decide(&Current::default(), &upsert(before_created())));
    Current {
        profile: Some(Profile::seed(&user)),
        user: Some(user),
        tombstone: None,
    }
}

#[test]
fn before_user_created_alone_makes_a_provisional_user_and_any_other_source_confirms_it() {
    let row = provisional_row();
    let token = UserRecord {
        activity: None,
        auth_created_at: None,
        is_sso_user: None,
        ..record(t(LATER))
    };

    let confirmed = decide(&row, &upsert(token));

    assert!(row.user.as_ref().unwrap().provisional);
    assert_eq!(confirmed.outcome, Outcome::Updated);
    assert!(!written(&confirmed).provisional);
}

#[test]
fn a_stale_snapshot_still_confirms_and_a_later_before_user_created_never_unconfirms() {
    let stale_row = record(t("09:30:00"));
    let confirmed = written(&decide(&provisional_row(), &upsert(stale_row)));
    let again = Current {
        user: Some(confirmed),
        ..provisional_row()
    };

    assert!(!again.user.as_ref().unwrap().provisional);
    assert_eq!(
        decide(&again, &upsert(before_created())).user,
        UserWrite::Keep
    );
}

#[test]
fn a_user_deleted_upstream_is_never_provisional_whatever_came_first() {
    let removal = UserChange::Delete(Box::new(Deletion {
        id: ada_id(),
        at: Some(t(STORED)),
        removed: false,
        last: None,
    }));
    let tombstoned = Current {
        tombstone: decide(&Current::default(), &removal).tombstone,
        ..Current::default()
    };

    let late_sign_up = decide(&tombstoned, &upsert(before_created()));
    let deleted_after = decide(&provisional_row(), &removal);

    assert!(!written(&late_sign_up).provisional);
    assert!(!written(&deleted_after).provisional);
}

#[test]
fn a_provisional_user_missing_upstream_or_past_its_grace_goes_without_a_tombstone() {
    let missing = decide(&provisional_row(), &UserChange::Missing(ada_id()));
    let expired = decide(
        &provisional_row(),
        &UserChange::Unconfirmed {
            id: ada_id(),
            mirrored_before: t("13:00:00"),
        },
    );
    let young = decide(
        &provisional_row(),
        &UserChange::Unconfirmed {
            id: ada_id(),
            mirrored_before: t("00:00:00"),
        },
    );

    for gone in [&missing, &expired] {
        assert_eq!(
            (gone.outcome, &gone.user, gone.tombstone),
            (Outcome::Deleted, &UserWrite::Remove, None)
        );
    }
    assert_eq!(young.user, UserWrite::Keep, "still within its grace period");
}

#[test]
fn a_confirmed_user_missing_upstream_is_marked_deleted_and_never_expires() {
    let missing = decide(&current(), &UserChange::Missing(ada_id()));
    let expired = decide(
        &current(),
        &UserChange::Unconfirmed {
            id: ada_id(),
            mirrored_before: t("13:00:00"),
        },
    );

    assert_eq!(missing.outcome, Outcome::Deleted);
    assert_eq!(written(&missing).deleted_at, Some(t(NOW)));
    assert!(missing.tombstone.is_some_and(|t| t.removed));
    assert_eq!(
        (expired.outcome, expired.user),
        (Outcome::Unchanged, UserWrite::Keep)
    );
}

fn banned(version: &str, until: Option<&str>) -> UserRecord {
    let mut row = record(t(version));
    row.activity.as_mut().unwrap().banned_until = until.map(t);
    row
}

#[test]
fn the_newest_row_snapshot_says_whether_the_user_is_banned() {
    let ban = banned("10:30:00", Some("23:59:59"));
    let older_update = banned("10:15:00", None);

    let after_ban = Current {
        user: Some(written(&decide(&current(), &upsert(ban)))),
        ..current()
    };
    let late_update = decide(&after_ban, &upsert(older_update));
    let unban = decide(&after_ban, &upsert(banned("10:45:00", None)));

    assert_eq!(
        after_ban.user.as_ref().unwrap().banned_until,
        Some(t("23:59:59"))
    );
    assert_eq!(late_update.outcome, Outcome::Stale);
    assert_eq!(written(&unban).banned_until, None);
}

#[test]
fn sso_holds_once_any_row_says_so_and_hooks_which_leave_it_out_change_nothing() {
    let sso_row = UserRecord {
        is_sso_user: Some(true),
        ..record(t("09:50:00"))
    };
    let hook = UserRecord {
        is_sso_user: None,
        ..record(t(LATER))
    };

    let sso = Current {
        user: Some(written(&decide(&current(), &upsert(sso_row)))),
        ..current()
    };

    assert!(
        sso.user.as_ref().unwrap().is_sso_user,
        "even from an older row"
    );
    assert!(written(&decide(&sso, &upsert(hook))).is_sso_user);
}

/// Ada's after-user-created as an invited user: `user_metadata` blanked to `{}`.
fn invited_after_created() -> UserRecord {
    UserRecord {
        user_metadata: json!({}),
        name: Default::default(),
        avatar_url: None,
        metadata_blanked: true,
        ..record(t(LATER))
    }
}

#[test]
fn an_invited_users_after_user_created_keeps_the_names_and_takes_its_activity() {
    let mut invited = invited_after_created();
    invited.activity.as_mut().unwrap().last_sign_in_at = Some(t(LATER));

    let next = written(&decide(&current(), &upsert(invited)));

    assert_eq!(next.first_name, stored().first_name);
    assert_eq!(next.user_metadata, stored().user_metadata);
    assert_eq!(next.source_updated_at, stored().source_updated_at);
    assert_eq!(next.last_sign_in_at, Some(t(LATER)));
}

#[test]
fn an_invited_users_after_user_created_alone_fills_a_new_row_that_any_snapshot_overwrites() {
    let first = written(&decide(
        &Current::default(),
        &upsert(invited_after_created()),
    ));
    let then = Current {
        user: Some(first.clone()),
        ..Current::default()
    };

    let named = written(&decide(&then, &upsert(before_created())));

    assert_eq!(first.email, stored().email);
    assert_eq!(first.first_name, None);
    assert_eq!(named.first_name, stored().first_name);
}

#[test]
fn an_email_the_policy_refuses_is_flagged_once_and_cleared_when_it_changes() {
    let policy = SignUpPolicy::new(vec![], vec!["example.com".into()]);
    let allowed = UserRecord {
        email: Some("ada@analytical.example".into()),
        ..record(t("11:30:00"))
    };

    let refused = decide_with(&Current::default(), &upsert(record(t(LATER))), &policy);
    let flagged = Current {
        user: Some(written(&refused)),
        ..current()
    };
    let again = decide_with(&flagged, &upsert(record(t("11:20:00"))), &policy);
    let changed = decide_with(&flagged, &upsert(allowed), &policy);

    assert!(refused.flagged && written(&refused).policy_violation);
    assert!(!again.flagged, "reported once");
    assert!(written(&again).policy_violation);
    assert!(!written(&changed).policy_violation && !changed.flagged);
}
