//! Auth lifecycle events: each change records its events once, in the same transaction,
//! numbered per user; repeats and unchanged deliveries record nothing; the feed
//! `GET /v1/changes` reads them in order and a long poll wakes at the next commit.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{ADMIN_TOKEN, Options, SECRET, Signing, TestApp, fixture_json, outcome};

const PATH: &str = "/hooks/auth-users";
const ADA: &str = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";

/// The insert fixture's record at `updated_at` (minutes past 10:00), with `changes`.
fn record(minute: u32, changes: Value) -> Value {
    let mut record = fixture_json("db-insert-auth-users.json")["record"].clone();
    record["updated_at"] = json!(format!("2026-01-15T10:{minute:02}:00+00:00"));
    for (key, value) in changes.as_object().unwrap() {
        record[key] = value.clone();
    }
    record
}

/// A signed-trigger change of Ada, versioned by its `changed_at`.
fn change(kind: &str, minute: u32, record: Value, old: Option<Value>) -> Vec<u8> {
    let body = json!({
        "type": kind, "table": "users", "schema": "auth",
        "record": if kind == "DELETE" { Value::Null } else { record.clone() },
        "old_record": old.unwrap_or(if kind == "DELETE" { record } else { Value::Null }),
        "changed_at": format!("2026-01-15T10:{minute:02}:00+00:00"),
    });
    serde_json::to_vec(&body).unwrap()
}

/// Posts `body` under the `webhook-id` `id` (the key of a signed-trigger change).
async fn deliver_as(app: &TestApp, id: &str, body: &[u8]) -> String {
    let response = support::signed_request(
        &app.client,
        PATH,
        body,
        Signing::new(id, SECRET, support::now()),
    )
    .send()
    .await;
    response.assert_status_is_ok();
    outcome(&response)
}

/// One read of the feed, as the admin.
async fn read_feed(app: &TestApp, query: &str) -> poem::test::TestResponse {
    app.client
        .get(format!("/v1/changes?{query}"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await
}

/// One successful read of the feed.
async fn feed(app: &TestApp, query: &str) -> Value {
    let response = read_feed(app, query).await;
    response.assert_status_is_ok();
    response.json().await.value().deserialize()
}

/// `(type, sequence)` of each event of a page.
fn kinds(page: &Value) -> Vec<(String, i64)> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["sequence"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn expected(names: &[&str]) -> Vec<(String, i64)> {
    names
        .iter()
        .zip(1..)
        .map(|(n, s)| (n.to_string(), s))
        .collect()
}

/// The app recording the event types `types` (`SUPAHOOK_EVENTS_TYPES`).
async fn recording(types: &str) -> TestApp {
    TestApp::spawn_with(Options {
        env: vec![("SUPAHOOK_EVENTS_TYPES", types.into())],
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_change_records_its_events_once_in_order() {
    let app = recording("all").await;
    let anonymous = record(0, json!({ "is_anonymous": true, "email": null }));
    let upgraded = record(1, json!({ "email": "ada@example.com" }));
    let confirmed = record(
        2,
        json!({ "email": "ada@example.com", "email_confirmed_at": "2026-01-15T10:02:00+00:00" }),
    );
    let moved = record(
        3,
        json!({ "email": "ada@lovelace.org", "email_confirmed_at": "2026-01-15T10:02:00+00:00",
                "phone": "14155550123", "phone_confirmed_at": "2026-01-15T10:03:00+00:00" }),
    );
    let signed_in = record(
        4,
        json!({ "email": "ada@lovelace.org", "email_confirmed_at": "2026-01-15T10:02:00+00:00",
                "phone": "14155550123", "phone_confirmed_at": "2026-01-15T10:03:00+00:00",
                "last_sign_in_at": "2026-01-15T10:04:00+00:00",
                "raw_user_meta_data": { "full_name": "Ada King" } }),
    );
    let steps = [
        ("INSERT", 0, anonymous.clone(), None),
        ("UPDATE", 1, upgraded.clone(), Some(anonymous)),
        ("UPDATE", 2, confirmed.clone(), Some(upgraded)),
        ("UPDATE", 3, moved.clone(), Some(confirmed)),
        ("UPDATE", 4, signed_in.clone(), Some(moved)),
        ("DELETE", 5, signed_in, None),
    ];
    for (n, (kind, minute, record, old)) in steps.into_iter().enumerate() {
        let body = change(kind, minute, record, old);
        let id = format!("msg_step{n}");
        let first = deliver_as(&app, &id, &body).await;
        assert_ne!(first, "duplicate", "step {n}");
        assert_eq!(deliver_as(&app, &id, &body).await, "duplicate");
        // The same change under another key: applied again, and changes nothing.
        assert_eq!(
            deliver_as(&app, &format!("{id}-again"), &body).await,
            "unchanged"
        );
    }

    let page = feed(&app, "limit=500").await;

    assert_eq!(
        kinds(&page),
        expected(&[
            "user.created",
            "user.updated",
            "user.anonymous_upgraded",
            "user.updated",
            "user.email_confirmed",
            "user.updated",
            "user.email_changed",
            "user.phone_confirmed",
            "user.updated",
            "user.signed_in",
            "profile.updated",
            "user.deleted",
        ])
    );
    let events = page["events"].as_array().unwrap();
    assert_eq!(
        events[1]["data"]["changed"],
        json!(["email", "is_anonymous"])
    );
    assert_eq!(events[6]["data"]["user"]["email"], "ada@lovelace.org");
    assert_eq!(events[10]["data"]["changed"], json!(["display_name"]));
    assert!(events.iter().all(|e| e["user_id"] == ADA));
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "ids are distinct");

    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = feed(&app, &format!("after={cursor}")).await;
    assert_eq!(kinds(&rest), []);
    assert_eq!(rest["next_cursor"], cursor);
    let paged = feed(&app, "limit=5").await;
    assert_eq!(kinds(&paged).len(), 5);
    let next = feed(
        &app,
        &format!("limit=500&after={}", paged["next_cursor"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        kinds(&next).len(),
        7,
        "the second page starts after the first"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_ins_are_not_recorded_by_default_and_none_records_nothing() {
    let quiet = recording("none").await;
    let default = TestApp::spawn().await;
    let first = record(0, json!({}));
    let signed_in = record(1, json!({ "last_sign_in_at": "2026-01-15T10:01:00+00:00" }));
    for app in [&quiet, &default] {
        deliver_as(app, "msg_a", &change("INSERT", 0, first.clone(), None)).await;
        let update = change("UPDATE", 1, signed_in.clone(), Some(first.clone()));
        assert_eq!(deliver_as(app, "msg_b", &update).await, "updated");
    }

    assert_eq!(kinds(&feed(&quiet, "").await), []);
    assert_eq!(
        kinds(&feed(&default, "").await),
        expected(&["user.created"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ban_ahead_of_its_change_bans_lifting_it_unbans_and_a_past_one_is_no_ban() {
    let app = TestApp::spawn().await;
    let free = record(0, json!({}));
    let banned = record(1, json!({ "banned_until": "2126-01-15T10:00:00+00:00" }));
    let lifted = record(2, json!({ "banned_until": null }));
    let ran_out = record(3, json!({ "banned_until": "2026-01-15T10:02:30+00:00" }));
    let steps = [
        ("INSERT", 0, free.clone(), None),
        ("UPDATE", 1, banned.clone(), Some(free)),
        ("UPDATE", 2, lifted.clone(), Some(banned)),
        ("UPDATE", 3, ran_out, Some(lifted)),
    ];
    for (n, (kind, minute, record, old)) in steps.into_iter().enumerate() {
        let body = change(kind, minute, record, old);
        deliver_as(&app, &format!("msg_ban{n}"), &body).await;
        // A repeat under another key changes nothing, so records nothing.
        deliver_as(&app, &format!("msg_ban{n}-again"), &body).await;
    }

    let page = feed(&app, "").await;

    assert_eq!(
        kinds(&page),
        expected(&[
            "user.created",
            "user.updated",
            "user.banned",
            "user.updated",
            "user.unbanned",
            "user.updated",
        ])
    );
    let events = page["events"].as_array().unwrap();
    assert_eq!(events[2]["data"]["changed"], json!(["banned_until"]));
    assert_eq!(
        events[2]["data"]["user"]["banned_until"],
        "2126-01-15T10:00:00Z"
    );
    assert_eq!(events[5]["data"]["changed"], json!(["banned_until"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_wakes_within_100_ms_of_a_commit() {
    let app = TestApp::spawn().await;
    let waiting = Instant::now();
    let reader = async {
        let page = feed(&app, "wait=10").await;
        (page, Instant::now())
    };
    let writer = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let body = change("INSERT", 0, record(0, json!({})), None);
        assert_eq!(deliver_as(&app, "msg_poll", &body).await, "created");
        Instant::now()
    };

    let ((page, woke), committed) = tokio::join!(reader, writer);

    assert_eq!(kinds(&page), expected(&["user.created"]));
    assert!(committed.duration_since(waiting) >= Duration::from_millis(500));
    let late = woke.saturating_duration_since(committed);
    assert!(
        late < Duration::from_millis(100),
        "woke {late:?} after the commit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_cursor_or_wait_is_400_and_the_feed_needs_the_admin_token() {
    let app = TestApp::spawn().await;
    for query in ["after=-1", "after=abc", "wait=31", "limit=0", "limit=501"] {
        let response = read_feed(&app, query).await;
        response.assert_status(poem::http::StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.value().deserialize();
        assert_eq!(body["error"]["code"], "invalid_parameter", "{query}");
    }
    let anonymous = app.client.get("/v1/changes").send().await;
    anonymous.assert_status(poem::http::StatusCode::UNAUTHORIZED);
}
