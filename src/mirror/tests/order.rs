//! The rule's promise, checked on the pure planner: one end state for every order.

use crate::events::{Activity, Deletion, PersonName, UserChange, UserRecord};
use crate::mirror::*;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

fn t(second: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(1_770_000_000 + i64::from(second), 0).unwrap()
}

fn id() -> Uuid {
    "6a2f41a3-c54c-4e9d-8f1b-0c2d3e4f5a6b".parse().unwrap()
}

/// A snapshot at second `version` with this email; `activity` for full row snapshots.
fn snapshot(version: u32, email: &str, activity: bool) -> UserRecord {
    let first = email.split('@').next().unwrap().to_owned();
    UserRecord {
        id: id(),
        version: t(version),
        email: Some(email.into()),
        phone: None,
        name: PersonName {
            first: Some(first.clone()),
            last: None,
        },
        avatar_url: None,
        auth_provider: Some("email".into()),
        providers: vec!["email".into()],
        is_anonymous: false,
        user_metadata: json!({ "name": first }),
        app_metadata: json!({ "provider": "email", "providers": ["email"] }),
        activity: activity.then(|| Activity {
            email_confirmed_at: (version >= 4).then(|| t(4)),
            phone_confirmed_at: None,
            last_sign_in_at: Some(t(version)),
            banned_until: None,
        }),
        auth_created_at: activity.then(|| t(2)),
        provisional: false,
        metadata_blanked: false,
        is_sso_user: activity.then_some(false),
    }
}

fn upsert(record: UserRecord) -> UserChange {
    UserChange::Upsert(Arc::new(record))
}

fn delete(at: u32, removed: bool, last: Option<UserRecord>) -> UserChange {
    UserChange::Delete(Box::new(Deletion {
        id: id(),
        at: Some(t(at)),
        removed,
        last,
    }))
}

/// The state without the times that only say when supahook wrote it.
fn content(state: &Current) -> Current {
    let epoch = DateTime::UNIX_EPOCH;
    Current {
        user: state.user.clone().map(|u| MirrorUser {
            created_at: epoch,
            updated_at: epoch,
            ..u
        }),
        profile: state.profile.clone().map(|p| Profile {
            created_at: epoch,
            updated_at: epoch,
            ..p
        }),
        tombstone: state.tombstone,
    }
}

fn permutations(items: &[UserChange]) -> Vec<Vec<UserChange>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

fn end_state(changes: &[UserChange], mode: DeleteMode) -> Current {
    let mut state = Current::default();
    for (n, change) in changes.iter().enumerate() {
        let now = t(1000 + n as u32);
        state = state.after(&plan(&state, change, mode, &SignUpPolicy::default(), now));
    }
    content(&state)
}

fn assert_one_end_state(history: &[UserChange]) {
    for mode in [DeleteMode::Soft, DeleteMode::Hard] {
        let in_order = end_state(history, mode);
        for order in permutations(history) {
            assert_eq!(
                end_state(&order, mode),
                in_order,
                "{mode:?}, order {order:#?}"
            );
        }
    }
}

#[test]
fn a_sign_up_tokens_updates_a_soft_delete_and_a_removal_end_the_same_in_every_order() {
    let before_delete = snapshot(4, "ada.k@example.com", true);
    assert_one_end_state(&[
        upsert(snapshot(1, "ada@example.com", true)),
        upsert(snapshot(2, "ada@example.com", true)),
        upsert(snapshot(3, "ada.l@example.com", false)),
        upsert(before_delete.clone()),
        upsert(snapshot(3, "ada.l@example.com", false)),
        delete(5, false, Some(before_delete)),
        delete(6, true, None),
    ]);
}

#[test]
fn tokens_in_the_same_second_and_a_late_removal_end_the_same_in_every_order() {
    assert_one_end_state(&[
        upsert(snapshot(2, "ada@example.com", true)),
        upsert(snapshot(3, "b@example.com", false)),
        upsert(snapshot(3, "a@example.com", false)),
        upsert(snapshot(5, "c@example.com", true)),
        delete(7, true, Some(snapshot(6, "d@example.com", true))),
        upsert(snapshot(1, "z@example.com", true)),
    ]);
}

#[test]
fn a_removal_that_overtakes_everything_keeps_the_last_real_state_in_soft_mode() {
    let last = snapshot(5, "final@example.com", true);
    let history = [
        delete(6, true, Some(last.clone())),
        upsert(snapshot(2, "first@example.com", true)),
        upsert(snapshot(4, "second@example.com", false)),
    ];

    let soft = end_state(&history, DeleteMode::Soft);
    let hard = end_state(&history, DeleteMode::Hard);

    let user = soft.user.expect("a row marked deleted");
    assert_eq!(user.email.as_deref(), Some("final@example.com"));
    assert_eq!(user.deleted_at, Some(t(6)));
    assert_eq!(
        soft.profile.and_then(|p| p.display_name).as_deref(),
        Some("final")
    );
    assert_eq!((hard.user, hard.profile), (None, None));
}

fn before_created(version: u32, email: &str) -> UserRecord {
    UserRecord {
        provisional: true,
        is_sso_user: None,
        ..snapshot(version, email, true)
    }
}

fn banned(version: u32, until: Option<u32>) -> UserRecord {
    let mut row = snapshot(version, "ada@example.com", true);
    row.activity.as_mut().unwrap().banned_until = until.map(t);
    row.is_sso_user = Some(version == 3);
    row
}

#[test]
fn a_sign_up_confirmed_before_or_after_its_before_user_created_ends_the_same() {
    assert_one_end_state(&[
        upsert(before_created(1, "ada@example.com")),
        upsert(snapshot(4, "ada@example.com", false)),
        upsert(before_created(1, "ada@example.com")),
    ]);
    assert_one_end_state(&[
        upsert(before_created(1, "ada@example.com")),
        delete(6, false, None),
    ]);
}

#[test]
fn bans_unbans_and_an_sso_row_end_the_same_in_every_order() {
    assert_one_end_state(&[
        upsert(banned(2, None)),
        upsert(banned(3, Some(900))),
        upsert(banned(5, None)),
        upsert(banned(4, Some(800))),
        upsert(snapshot(6, "ada@example.com", false)),
    ]);
}
