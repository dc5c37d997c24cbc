//! `reconcile` against a stand-in auth.users: it mirrors everything in batches,
//! changes nothing the second time, repairs drift, converges with deliveries that
//! race it, reads only changed rows when asked, and prunes only when asked.

mod support;
#[path = "support/upstream.rs"]
mod upstream;

use std::time::Instant;
use supahook::cli::reconcile::auth_users::AuthUsersSource;
use supahook::cli::reconcile::repair::{self as reconcile, Options, Since, Summary};
use supahook::mirroring::Mirroring;
use supahook::storage::{Backend, Queries, Storage};
use support::{TestApp, TestDb, fixture, utc, webhooks};

const OPTIONS: Options = Options {
    dry_run: false,
    prune: false,
    prune_grace: std::time::Duration::ZERO,
    concurrency: 4,
    since: Since::Everything,
};

async fn mirror(db: &TestDb) -> Mirroring {
    let storage = Storage::open(&db.url, 8).unwrap();
    storage.migrate().await.unwrap();
    Mirroring::new(storage)
}

/// `'id', 'id', …` of the users `insert_users` numbers `range`.
async fn ids_sql(source: &TestDb, range: std::ops::RangeInclusive<u32>) -> String {
    upstream::text(
        source,
        &format!(
            "SELECT string_agg(quote_literal(md5(i::text)::uuid::text), ', ') \
             FROM generate_series({}, {}) AS i",
            range.start(),
            range.end()
        ),
    )
    .await
}

/// What the mirror database remembers of the last complete run against `source`.
async fn mark(source: &TestDb, mirroring: &Mirroring) -> Option<chrono::DateTime<chrono::Utc>> {
    let reader = AuthUsersSource::connect(&source.url).await.unwrap();
    mirroring
        .storage()
        .reconcile_mark(reader.identity())
        .await
        .unwrap()
}

/// Posts a signed Database Webhook, retrying a 503 that carries `Retry-After` as
/// Supabase does (a writer busy with a reconcile batch past the store budget).
async fn deliver_as_supabase_does(app: &TestApp, body: &serde_json::Value) {
    for _ in 0..50 {
        let response = app
            .deliver(webhooks::PATH, body.to_string().as_bytes())
            .await;
        match response.0.status().as_u16() {
            200 => return,
            503 if response.0.headers().contains_key("retry-after") => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            status => panic!("{status} to {body}"),
        }
    }
    panic!("the delivery stayed unavailable: {body}");
}

/// The mirrored user, read through the run's own pool (a fresh connection per read
/// would wait long on a busy machine).
async fn mirrored(mirroring: &Mirroring, id: &str) -> supahook::mirror::MirrorUser {
    let found = mirroring.storage().find_user(id.parse().unwrap()).await;
    found.unwrap().expect("a mirrored user").user
}

async fn reconcile_once(source: &TestDb, mirroring: &Mirroring, options: Options) -> Summary {
    let mut reader = AuthUsersSource::connect(&source.url).await.unwrap();
    reconcile::run(&mut reader, mirroring, options, |_, _| {})
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_users_are_mirrored_and_a_second_run_finds_them_unchanged() {
    let source = upstream::supabase_db(false).await;
    upstream::insert_users(&source, 1, 10_000).await;
    let target = TestDb::create().await;
    let mirroring = mirror(&target).await;

    let started = Instant::now();
    let first = reconcile_once(&source, &mirroring, OPTIONS).await;
    let first_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let second = reconcile_once(&source, &mirroring, OPTIONS).await;
    eprintln!(
        "reconcile of 10000 users: first run {first_seconds:.2} s, second run {:.2} s",
        started.elapsed().as_secs_f64()
    );

    assert_eq!(
        first,
        Summary {
            read: 10_000,
            created: 10_000,
            ..Summary::default()
        }
    );
    assert_eq!(
        second,
        Summary {
            read: 10_000,
            unchanged: 10_000,
            ..Summary::default()
        }
    );
    assert_eq!(target.counts().await[..2], [10_000, 10_000]);
    let id = upstream::user_id(&source, 4242).await;
    let user = target.user(&id).await.unwrap().user;
    assert_eq!(user.email.as_deref(), Some("user4242@example.com"));
    assert_eq!(user.first_name.as_deref(), Some("User"));
    assert_eq!(user.last_name.as_deref(), Some("4242"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_reports_and_writes_nothing() {
    let source = upstream::supabase_db(false).await;
    upstream::insert_users(&source, 1, 50).await;
    let target = TestDb::create().await;
    let mirroring = mirror(&target).await;

    let summary = reconcile_once(
        &source,
        &mirroring,
        Options {
            dry_run: true,
            ..OPTIONS
        },
    )
    .await;

    assert_eq!(summary.created, 50);
    assert_eq!(target.counts().await, [0, 0, 0]);
    assert_eq!(
        mark(&source, &mirroring).await,
        None,
        "a dry run is not remembered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_batch_tells_created_updated_unchanged_and_stale_users_apart() {
    let source = upstream::supabase_db(false).await;
    upstream::insert_users(&source, 1, 40).await;
    let target = TestDb::create().await;
    let mirroring = mirror(&target).await;
    reconcile_once(&source, &mirroring, OPTIONS).await;
    upstream::insert_users(&source, 41, 10).await;
    // Changes pg_net never delivered, to users 1 to 10:
    let changed = ids_sql(&source, 1..=10).await;
    source
        .execute(&format!(
            "UPDATE auth.users SET email = 'renamed-' || email, \
             updated_at = updated_at + interval '1 day' WHERE id IN ({changed})"
        ))
        .await;
    // Users 11 to 20, of whom the mirror knows newer versions (a webhook was faster):
    let raced = ids_sql(&source, 11..=20).await;
    target
        .execute(&format!(
            "UPDATE users SET source_updated_at = '2027-01-01 00:00:00+00:00', \
             activity_updated_at = '2027-01-01 00:00:00+00:00' WHERE id IN ({raced})"
        ))
        .await;

    let summary = reconcile_once(&source, &mirroring, OPTIONS).await;

    assert_eq!(
        summary,
        Summary {
            read: 50,
            created: 10,
            updated: 10,
            unchanged: 20,
            stale: 10,
            ..Summary::default()
        }
    );
    let renamed = upstream::user_id(&source, 7).await;
    let user = target.user(&renamed).await.unwrap().user;
    assert_eq!(user.email.as_deref(), Some("renamed-user7@example.com"));
    assert_eq!(target.counts().await[..2], [50, 50]);
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_racing_a_reconcile_end_in_the_newest_state() {
    let source = upstream::supabase_db(false).await;
    upstream::insert_users(&source, 1, 3000).await;
    let app = TestApp::spawn().await;
    let mirroring = mirror(&app.db).await;
    // Every 15th user changes upstream after the row was read, and the Database
    // Webhook of the change reaches supahook while reconcile runs.
    let mut raced = Vec::new();
    for n in (1..=3000).step_by(15) {
        raced.push(upstream::user_id(&source, n).await);
    }
    let app_ref = &app;
    let deliveries = async {
        for (chunk, ids) in raced.chunks(8).enumerate() {
            let sends = ids.iter().enumerate().map(|(n, id)| {
                let n = chunk * 8 + n;
                let body =
                    webhooks::change("UPDATE", id, n as u32, &format!("newer-{n}@example.com"));
                async move { deliver_as_supabase_does(app_ref, &body).await }
            });
            futures_util::future::join_all(sends).await;
        }
    };

    let (summary, ()) = tokio::join!(reconcile_once(&source, &mirroring, OPTIONS), deliveries);

    assert_eq!(summary.read, 3000);
    assert_eq!(
        summary.created + summary.updated + summary.unchanged + summary.stale,
        3000
    );
    for (n, id) in raced.iter().enumerate() {
        let user = mirrored(&mirroring, id).await;
        assert_eq!(user.email, Some(format!("newer-{n}@example.com")), "{id}");
    }
    let untouched = upstream::user_id(&source, 2).await;
    let user = mirrored(&mirroring, &untouched).await;
    assert_eq!(user.email.as_deref(), Some("user2@example.com"));
    let again = reconcile_once(&source, &mirroring, OPTIONS).await;
    assert_eq!(
        (again.stale, again.unchanged, again.created + again.updated),
        (200, 2800, 0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changed_since_reads_only_the_rows_changed_since_then() {
    let source = upstream::supabase_db(false).await;
    // User n was last changed at 2026-01-01 00:00:00 plus n seconds.
    upstream::insert_users(&source, 1, 100).await;
    let target = TestDb::create().await;
    let mirroring = mirror(&target).await;
    let since = Options {
        since: Since::Time(utc("2026-01-01 00:01:00")),
        ..OPTIONS
    };

    let summary = reconcile_once(&source, &mirroring, since).await;

    assert_eq!((summary.read, summary.created), (41, 41));
    assert_eq!(summary.changed_since, Some(utc("2026-01-01 00:01:00")));
    assert_eq!(target.counts().await[0], 41);
    assert_eq!(
        mark(&source, &mirroring).await,
        None,
        "a run that did not read everything since the last one is not remembered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incremental_run_reads_the_changes_since_the_last_run_and_still_prunes() {
    let source = upstream::supabase_db(false).await;
    upstream::insert_users(&source, 1, 100).await;
    let target = TestDb::create().await;
    let mirroring = mirror(&target).await;
    let incremental = Options {
        since: Since::LastRun,
        prune: true,
        ..OPTIONS
    };
    // The first incremental run has no last run to start from: it reads everything.
    let first = reconcile_once(&source, &mirroring, incremental).await;
    assert_eq!(
        (first.read, first.created, first.changed_since),
        (100, 100, None)
    );
    let last_run = mark(&source, &mirroring)
        .await
        .expect("a complete run is remembered");
    // Auth changes three users and removes one; pg_net's events are lost.
    let changed = ids_sql(&source, 10..=12).await;
    source
        .execute(&format!(
            "UPDATE auth.users SET email = 'new-' || email, updated_at = now() WHERE id IN ({changed})"
        ))
        .await;
    let removed = upstream::user_id(&source, 50).await;
    source
        .execute(&format!("DELETE FROM auth.users WHERE id = '{removed}'"))
        .await;

    let second = reconcile_once(&source, &mirroring, incremental).await;

    assert_eq!((second.read, second.updated), (3, 3));
    assert_eq!((second.deleted_upstream, second.pruned), (1, 1));
    assert_eq!(second.changed_since, Some(last_run - reconcile::OVERLAP));
    assert!(mark(&source, &mirroring).await > Some(last_run));
    let user = target.user(&removed).await.unwrap().user;
    assert!(user.deleted_at.is_some());
    let renamed = upstream::user_id(&source, 11).await;
    let user = target.user(&renamed).await.unwrap().user;
    assert_eq!(user.email.as_deref(), Some("new-user11@example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_repaired_and_a_newer_mirror_row_is_left_alone() {
    let source = upstream::supabase_db(false).await;
    upstream::insert_users(&source, 1, 3).await;
    let target = TestDb::create().await;
    let mirroring = mirror(&target).await;
    reconcile_once(&source, &mirroring, OPTIONS).await;
    let changed = upstream::user_id(&source, 1).await;
    let raced = upstream::user_id(&source, 2).await;
    // A change pg_net never delivered:
    source
        .execute(&format!(
            "UPDATE auth.users SET email = 'renamed@example.com', updated_at = '2026-06-01T00:00:00Z' WHERE id = '{changed}'"
        ))
        .await;
    // A row the mirror already knows a newer version of (a webhook was faster):
    target
        .execute(&format!(
            "UPDATE users SET source_updated_at = '2027-01-01 00:00:00+00:00', activity_updated_at = '2027-01-01 00:00:00+00:00' WHERE id = '{raced}'"
        ))
        .await;

    let summary = reconcile_once(&source, &mirroring, OPTIONS).await;

    assert_eq!(
        (summary.updated, summary.stale, summary.unchanged),
        (1, 1, 1)
    );
    let user = target.user(&changed).await.unwrap().user;
    assert_eq!(user.email.as_deref(), Some("renamed@example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn users_missing_upstream_are_reported_and_pruned_only_when_asked() {
    let source = upstream::supabase_db(false).await;
    upstream::insert_users(&source, 1, 5).await;
    let app = TestApp::spawn().await;
    app.deliver(
        "/hooks/custom-access-token",
        &fixture("custom-access-token.json"),
    )
    .await;
    let mirroring = mirror(&app.db).await;
    let gone = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";

    let report = reconcile_once(&source, &mirroring, OPTIONS).await;
    assert_eq!((report.deleted_upstream, report.pruned), (1, 0));
    assert!(app.db.user(gone).await.unwrap().user.deleted_at.is_none());

    let pruning = Options {
        prune: true,
        ..OPTIONS
    };
    let pruned = reconcile_once(&source, &mirroring, pruning).await;
    assert_eq!((pruned.deleted_upstream, pruned.pruned), (1, 1));
    let user = app.db.user(gone).await.unwrap().user;
    assert!(user.deleted_at.is_some());
    assert_eq!(user.email.as_deref(), Some("ada.lovelace@example.com"));

    let again = reconcile_once(&source, &mirroring, pruning).await;
    assert_eq!((again.deleted_upstream, again.unchanged), (0, 5));
}

/// A source with two users of its own, and a mirror that holds one more: a sign-up
/// seen by before-user-created that `auth.users` does not have.
async fn signed_up_but_not_in_auth_users() -> (TestDb, TestApp, Mirroring) {
    let source = upstream::supabase_db(false).await;
    upstream::insert_users(&source, 1, 2).await;
    let app = TestApp::spawn().await;
    app.deliver(
        "/hooks/before-user-created",
        &fixture("before-user-created.json"),
    )
    .await;
    let mirroring = mirror(&app.db).await;
    (source, app, mirroring)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_still_signing_up_is_not_pruned_within_the_grace_period() {
    // Mirrored by before-user-created; auth.users does not have the row yet.
    let (source, app, mirroring) = signed_up_but_not_in_auth_users().await;
    let grace = Options {
        prune: true,
        prune_grace: std::time::Duration::from_secs(3600),
        ..OPTIONS
    };

    let summary = reconcile_once(&source, &mirroring, grace).await;

    assert_eq!((summary.deleted_upstream, summary.pruned), (0, 0));
    let ada = app
        .db
        .user("3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14")
        .await
        .unwrap();
    assert!(ada.user.deleted_at.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_prints_a_summary() {
    let source = upstream::supabase_db(false).await;
    upstream::insert_users(&source, 1, 25).await;
    let target = TestDb::create().await;

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_supahook"))
        .args(["reconcile", "--source-url", &source.url])
        // Only what the test sets: a SUPAHOOK_* variable of the test run's own is not
        // a setting, and the binary refuses unknown ones.
        .env_clear()
        .env("DATABASE_URL", &target.url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run supahook reconcile");

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("reconciled 25 users"), "{stdout}");
    assert!(stdout.contains("created           25"), "{stdout}");
    assert_eq!(target.counts().await[0], 25);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provisional_user_auth_users_never_had_is_removed_by_prune() {
    // A sign-up that rolled back after before-user-created.
    let (source, app, mirroring) = signed_up_but_not_in_auth_users().await;
    let pruning = Options {
        prune: true,
        ..OPTIONS
    };

    let summary = reconcile_once(&source, &mirroring, pruning).await;

    assert_eq!((summary.deleted_upstream, summary.pruned), (1, 1));
    assert!(
        app.db
            .user("3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14")
            .await
            .is_none()
    );
    let tombstones = app.db.scalar("SELECT count(*) FROM deleted_users").await;
    assert_eq!(
        tombstones, 0,
        "Supabase never had the user: nothing was deleted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bans_and_sso_users_are_read_from_auth_users() {
    let source = upstream::supabase_db(false).await;
    upstream::insert_users(&source, 1, 2).await;
    let banned = upstream::user_id(&source, 1).await;
    source
        .execute(&format!(
            "UPDATE auth.users SET banned_until = '2126-01-01T00:00:00Z', is_sso_user = true \
             WHERE id = '{banned}'"
        ))
        .await;
    let target = TestDb::create().await;
    let mirroring = mirror(&target).await;

    reconcile_once(&source, &mirroring, OPTIONS).await;

    let user = target.user(&banned).await.unwrap().user;
    assert_eq!(user.banned_until, Some(support::utc("2126-01-01 00:00:00")));
    assert!(user.is_sso_user && !user.provisional);
}
