use super::*;
use crate::mirror::plan::Tombstone;

fn at(time: &str) -> DateTime<Utc> {
    format!("2026-01-15T{time}Z").parse().unwrap()
}

/// A confirmed user (one that more than before-user-created has seen).
fn user() -> MirrorUser {
    MirrorUser {
        email: Some("ada@example.com".into()),
        provisional: false,
        ..MirrorUser::blank(Uuid::from_u128(7), at("10:00:00"))
    }
}

fn state(user: Option<MirrorUser>) -> Current {
    let profile = user.as_ref().map(Profile::seed);
    Current {
        user,
        profile,
        tombstone: None,
    }
}

fn kinds(events: &[LifecycleEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[test]
fn a_new_row_is_created_and_nothing_changed_is_nothing() {
    let before = state(None);
    let after = state(Some(user()));

    let created = lifecycle(&before, &after, EventTypes::default());

    assert_eq!(kinds(&created), ["user.created"]);
    assert_eq!(created[0].user["email"], "ada@example.com");
    assert_eq!(created[0].user_id, Uuid::from_u128(7));
    assert!(lifecycle(&after, &after, EventTypes::default()).is_empty());
    assert!(lifecycle(&before, &before, EventTypes::default()).is_empty());
}

#[test]
fn an_update_names_its_fields_and_each_transition_has_its_event() {
    let old = MirrorUser {
        is_anonymous: true,
        ..user()
    };
    let new = MirrorUser {
        email: Some("ada@lovelace.org".into()),
        first_name: Some("Ada".into()),
        is_anonymous: false,
        email_confirmed_at: Some(at("10:01:00")),
        phone_confirmed_at: Some(at("10:02:00")),
        last_sign_in_at: Some(at("10:03:00")),
        ..user()
    };
    let before = state(Some(old));
    let mut after = state(Some(new));
    after.profile = before.profile.clone();
    let all = EventTypes::of(EventType::ALL);

    let events = lifecycle(&before, &after, all);

    assert_eq!(
        kinds(&events),
        [
            "user.updated",
            "user.email_changed",
            "user.email_confirmed",
            "user.phone_confirmed",
            "user.anonymous_upgraded",
            "user.signed_in",
        ]
    );
    assert_eq!(
        events[0].changed,
        [
            "email",
            "first_name",
            "is_anonymous",
            "email_confirmed_at",
            "phone_confirmed_at",
            "last_sign_in_at"
        ]
    );
}

#[test]
fn a_sign_in_alone_is_no_update_and_is_recorded_only_when_asked() {
    let before = state(Some(user()));
    let after = state(Some(MirrorUser {
        last_sign_in_at: Some(at("11:00:00")),
        ..user()
    }));

    assert!(lifecycle(&before, &after, EventTypes::default()).is_empty());
    assert_eq!(
        kinds(&lifecycle(
            &before,
            &after,
            EventTypes::of([EventType::SignedIn])
        )),
        ["user.signed_in"]
    );
}

#[test]
fn soft_and_hard_deletes_are_deletes_and_the_removed_user_is_shown_deleted() {
    let before = state(Some(user()));
    let soft = state(Some(MirrorUser {
        deleted_at: Some(at("12:00:00")),
        ..user()
    }));
    let hard = Current {
        user: None,
        profile: None,
        tombstone: Some(Tombstone {
            deleted_at: at("12:00:00"),
            removed: true,
        }),
    };

    let soft_events = lifecycle(&before, &soft, EventTypes::default());
    let hard_events = lifecycle(&before, &hard, EventTypes::default());

    assert_eq!(kinds(&soft_events), ["user.deleted"]);
    assert_eq!(kinds(&hard_events), ["user.deleted"]);
    assert_eq!(hard_events[0].user["deleted_at"], "2026-01-15T12:00:00Z");
}

#[test]
fn a_profile_that_follows_the_identity_is_updated() {
    let before = state(Some(user()));
    let renamed = MirrorUser {
        first_name: Some("Ada".into()),
        ..user()
    };
    let after = state(Some(renamed));

    let events = lifecycle(&before, &after, EventTypes::default());

    assert_eq!(kinds(&events), ["user.updated", "profile.updated"]);
    assert_eq!(events[1].changed, ["display_name"]);
}

#[test]
fn unrecorded_types_are_left_out_and_ids_are_stable_per_origin_and_type() {
    let before = state(None);
    let after = state(Some(user()));

    assert!(lifecycle(&before, &after, EventTypes::NONE).is_empty());
    let a = event_id("key-1", EventType::UserCreated);
    assert_eq!(a, event_id("key-1", EventType::UserCreated));
    assert_ne!(a, event_id("key-1", EventType::UserUpdated));
    assert_ne!(a, event_id("key-2", EventType::UserCreated));
    for kind in EventType::ALL {
        assert_eq!(EventType::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(EventType::parse("user.exploded"), None);
}

#[test]
fn a_provisional_user_records_nothing_until_its_confirmation_creates_it() {
    let provisional = MirrorUser {
        provisional: true,
        ..user()
    };
    let seen = state(Some(provisional.clone()));

    let signed_up = lifecycle(&state(None), &seen, EventTypes::default());
    let confirmed = lifecycle(&seen, &state(Some(user())), EventTypes::default());
    let forgotten = lifecycle(&seen, &state(None), EventTypes::default());

    assert_eq!(kinds(&signed_up), Vec::<&str>::new());
    assert_eq!(kinds(&confirmed), vec!["user.created"]);
    assert_eq!(kinds(&forgotten), Vec::<&str>::new());
}

/// `user()` as the `auth.users` snapshot of `said_at` shows it, banned until `until`.
fn seen_at(said_at: &str, until: Option<&str>) -> MirrorUser {
    MirrorUser {
        activity_updated_at: Some(at(said_at)),
        banned_until: until.map(at),
        ..user()
    }
}

#[test]
fn a_ban_ahead_of_its_change_bans_and_lifting_it_unbans() {
    let free = state(Some(seen_at("10:00:00", None)));
    let banned = state(Some(seen_at("10:01:00", Some("23:00:00"))));
    let lifted = state(Some(seen_at("10:02:00", None)));

    let ban = lifecycle(&free, &banned, EventTypes::default());
    let lift = lifecycle(&banned, &lifted, EventTypes::default());

    assert_eq!(kinds(&ban), ["user.updated", "user.banned"]);
    assert_eq!(ban[1].changed, ["banned_until"]);
    assert_eq!(ban[1].user["banned_until"], "2026-01-15T23:00:00Z");
    assert_eq!(kinds(&lift), ["user.updated", "user.unbanned"]);
}

#[test]
fn a_ban_moved_into_the_past_unbans_and_extending_one_is_only_an_update() {
    let banned = state(Some(seen_at("10:01:00", Some("23:00:00"))));
    let ended = state(Some(seen_at("10:02:00", Some("10:00:00"))));
    let extended = state(Some(seen_at("10:02:00", Some("23:30:00"))));

    assert_eq!(
        kinds(&lifecycle(&banned, &ended, EventTypes::default())),
        ["user.updated", "user.unbanned"]
    );
    assert_eq!(
        kinds(&lifecycle(&banned, &extended, EventTypes::default())),
        ["user.updated"]
    );
}

#[test]
fn a_ban_that_ran_out_is_over_at_the_next_snapshot_whatever_the_clock_says() {
    // Banned until 10:05, and the next snapshot (a sign-in) comes at 10:10 with the
    // same `banned_until`: the change's own time shows the ban over. The events are
    // the same whenever the step is applied, replayed or compared.
    let banned = state(Some(seen_at("10:01:00", Some("10:05:00"))));
    let signed_in = state(Some(MirrorUser {
        last_sign_in_at: Some(at("10:10:00")),
        ..seen_at("10:10:00", Some("10:05:00"))
    }));
    let before_it_ran_out = state(Some(seen_at("10:04:00", Some("10:05:00"))));

    assert_eq!(
        kinds(&lifecycle(&banned, &signed_in, EventTypes::default())),
        ["user.unbanned"]
    );
    assert!(lifecycle(&banned, &before_it_ran_out, EventTypes::default()).is_empty());
}

#[test]
fn a_user_first_seen_banned_is_created_then_banned_and_an_old_ban_is_no_ban() {
    let none = state(None);

    let banned = lifecycle(
        &none,
        &state(Some(seen_at("10:01:00", Some("23:00:00")))),
        EventTypes::default(),
    );
    let ran_out = lifecycle(
        &none,
        &state(Some(seen_at("10:01:00", Some("10:00:00")))),
        EventTypes::default(),
    );

    assert_eq!(kinds(&banned), ["user.created", "user.banned"]);
    assert_eq!(kinds(&ran_out), ["user.created"]);
}
