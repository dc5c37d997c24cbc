//! The mirror's end state is a function of the set of deliveries: random histories
//! of several users (sign-ups that roll back after before-user-created, bans and
//! unbans, invited and SSO users), with losses, duplicates and both delete modes, delivered in order to one
//! applier and shuffled across three concurrent appliers (three app instances with
//! their own pools on one database) end in exactly the reference model's state. Half
//! the trigger's row snapshots reach the mirror as `reconcile` finds rows instead: in
//! reconcile batches of a few users each, while the other deliveries go on.
//!
//! Cases: `PROPTEST_CASES` (default below). A failing case is printed shrunk, with
//! the seed that replays it, and saved to `tests/convergence.proptest-regressions`,
//! which every later run replays first: commit that file with the fix.

#[path = "convergence/history.rs"]
mod history;
#[path = "convergence/model.rs"]
mod model;
mod support;

use history::{Delivery, Life, Rng, Said};
use model::Expected;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use supahook::events::{AuthUsersChange, UserChange};
use supahook::mirror::DeleteMode;
use supahook::storage::{Queries, StoredUser};
use support::{Client, Options, Running, SECRET, Signing, TestDb, now, signed_request};
use uuid::Uuid;

/// Cases per run in CI; raise with `PROPTEST_CASES` for a longer search.
const CASES: u32 = 24;

/// Appliers sharing one database, for each delete mode.
struct Appliers {
    /// Kept for as long as the appliers run (dropping it drops the database); also
    /// read for the lifecycle events the appliers recorded.
    db: TestDb,
    soft: Vec<Running>,
    hard: Vec<Running>,
}

impl Appliers {
    async fn start(count: usize) -> Self {
        let db = TestDb::create().await;
        let mut appliers = Vec::new();
        for on_delete in [DeleteMode::Soft, DeleteMode::Hard] {
            for _ in 0..count {
                let options = Options {
                    on_delete,
                    env: vec![("SUPAHOOK_DB_POOL_SIZE", "4".into())],
                    ..Options::default()
                };
                appliers.push(support::start(&db.url, options).await);
            }
        }
        let hard = appliers.split_off(count);
        Self {
            soft: appliers,
            hard,
            db,
        }
    }
}

/// Sends one delivery as Supabase would, retrying a 503 that carries `Retry-After`.
async fn send(client: &Client, delivery: &Delivery, id: &str) {
    let body = delivery
        .body
        .to_string()
        .replace(history::PLACEHOLDER_ID, id);
    for _ in 0..20 {
        let hook_attempt = Uuid::new_v4().to_string();
        let webhook_id = match delivery.path {
            "/hooks/auth-users" => &delivery.webhook_id,
            _ => &hook_attempt,
        };
        let response = signed_request(
            client,
            delivery.path,
            body.as_bytes(),
            Signing::new(webhook_id, SECRET, now()),
        )
        .send()
        .await;
        match response.0.status().as_u16() {
            200 => return,
            503 if response.0.headers().contains_key("retry-after") => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            status => panic!("{} answered {status} to {body}", delivery.path),
        }
    }
    panic!("{} stayed unavailable", delivery.path);
}

/// The case's deliveries: each lost with probability 0.1 (pg_net never retries),
/// and copied with probability 0.3 (Supabase's retries, replicas, replays).
fn with_copies(lives: &[Life], rng: &mut Rng) -> Vec<Delivery> {
    let mut all = Vec::new();
    for (n, life) in lives.iter().enumerate() {
        for delivery in history::deliveries(n, life, rng) {
            match rng.below(10) {
                0 => continue,
                1..=3 => all.push(delivery.clone()),
                _ => {}
            }
            all.push(delivery);
        }
    }
    all
}

/// Changes that reach the mirror as a reconcile batch, this many at a time.
const RECONCILE_BATCH: usize = 3;

/// Whether each delivery reaches the mirror as `reconcile` would find its row
/// rather than as Supabase sends it: half the trigger's row snapshots.
fn reconciled(deliveries: &[Delivery], rng: &mut Rng) -> Vec<bool> {
    deliveries
        .iter()
        .map(|d| matches!(d.said, Said::Row { .. }) && rng.below(2) == 0)
        .collect()
}

/// The change `reconcile` makes of a row snapshot: the row at the time of its change
/// (`supahook.user_versions`), the very change the trigger's delivery carries.
fn as_reconcile_finds_it(delivery: &Delivery, id: &str) -> UserChange {
    let body = delivery
        .body
        .to_string()
        .replace(history::PLACEHOLDER_ID, id);
    let change: AuthUsersChange = serde_json::from_str(&body).expect("a trigger event");
    change
        .delivery(&delivery.webhook_id)
        .expect("a valid trigger event")
        .change
}

/// Applies one reconcile batch, retrying while the database is busy (SQLite's one
/// writer, shared by the appliers).
async fn reconcile(applier: &Running, batch: &[UserChange]) {
    for _ in 0..20 {
        match applier.mirroring.reconcile(batch, false).await {
            Ok(_) => return,
            Err(supahook::storage::StorageError::Unavailable(_)) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(error) => panic!("a reconcile batch failed: {error}"),
        }
    }
    panic!("the database stayed unavailable to a reconcile batch");
}

/// Sends `stream` through `applier`, one delivery after another; those marked
/// are gathered into reconcile batches instead.
async fn apply(applier: &Running, stream: &[(&Delivery, bool)], ids: &[String]) {
    let mut batch = Vec::new();
    for &(d, as_reconcile) in stream {
        if !as_reconcile {
            send(&applier.client, d, &ids[d.user]).await;
            continue;
        }
        batch.push(as_reconcile_finds_it(d, &ids[d.user]));
        if batch.len() == RECONCILE_BATCH {
            reconcile(applier, &batch).await;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        reconcile(applier, &batch).await;
    }
}

/// Applies `deliveries` for fresh user ids: in order through one applier, or shuffled
/// and dealt at random to three appliers running at once; those marked in `reconciled`
/// as reconcile batches. Returns the ids used.
async fn run(
    appliers: &[Running],
    deliveries: &[Delivery],
    reconciled: &[bool],
    users: usize,
    shuffle: Option<&mut Rng>,
) -> Vec<String> {
    let ids: Vec<String> = (0..users).map(|_| Uuid::new_v4().to_string()).collect();
    let mut order: Vec<(&Delivery, bool)> =
        deliveries.iter().zip(reconciled.iter().copied()).collect();
    let Some(rng) = shuffle else {
        apply(&appliers[0], &order, &ids).await;
        return ids;
    };
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut streams: Vec<Vec<(&Delivery, bool)>> = vec![Vec::new(); appliers.len()];
    for d in order {
        streams[rng.below(appliers.len() as u64) as usize].push(d);
    }
    let ids_ref = &ids;
    futures_util::future::join_all(
        streams
            .iter()
            .zip(appliers)
            .map(|(stream, applier)| apply(applier, stream, ids_ref)),
    )
    .await;
    ids
}

/// What the mirror of `appliers` holds for `id`, in the model's terms, read through
/// an applier's own pool.
async fn mirrored(appliers: &Appliers, id: &str) -> Option<Expected> {
    let storage = appliers.soft[0].mirroring.storage();
    let found = storage.find_user(id.parse().expect("a uuid")).await;
    let StoredUser { user, profile } = found.expect("read the user")?;
    let micros = |t: chrono::DateTime<chrono::Utc>| t.timestamp_micros();
    Some(Expected {
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        identity_version: micros(user.source_updated_at),
        confirmed_at: user.email_confirmed_at.map(micros),
        last_sign_in_at: user.last_sign_in_at.map(micros),
        activity_version: user.activity_updated_at.map(micros),
        created_at: user.auth_created_at.map(micros),
        deleted_at: user.deleted_at.map(micros),
        display_name: profile
            .expect("every mirrored user has a profile")
            .display_name,
        provisional: user.provisional,
        banned_until: user.banned_until.map(micros),
        is_sso_user: user.is_sso_user,
    })
}

/// A single applier, and three sharing another database: each run needs its own
/// ledger, since the two runs deliver the very same events.
struct Setup {
    single: Appliers,
    three: Appliers,
}

async fn check(
    setup: &Setup,
    lives: Vec<Life>,
    hard: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    let mut rng = Rng(seed);
    let deliveries = with_copies(&lives, &mut rng);
    let reconciled = reconciled(&deliveries, &mut rng);
    fn clients(a: &Appliers, hard: bool) -> &[Running] {
        if hard { &a.hard } else { &a.soft }
    }
    let in_order = run(
        clients(&setup.single, hard),
        &deliveries,
        &reconciled,
        lives.len(),
        None,
    )
    .await;
    let shuffled = run(
        clients(&setup.three, hard),
        &deliveries,
        &reconciled,
        lives.len(),
        Some(&mut rng),
    )
    .await;
    // Tokens answered without the database are written within a second; write them now.
    let all = [&setup.single, &setup.three];
    for applier in all.into_iter().flat_map(|a| a.soft.iter().chain(&a.hard)) {
        applier.mirroring.flush().await;
    }
    for n in 0..lives.len() {
        let said: Vec<&Said> = deliveries
            .iter()
            .filter(|d| d.user == n)
            .map(|d| &d.said)
            .collect();
        let created = deliveries.iter().find(|d| d.user == n).map(|d| d.created);
        let expected = created.and_then(|created| model::expected(&said, created, hard));
        prop_assert_eq!(
            &mirrored(&setup.single, &in_order[n]).await,
            &expected,
            "user {} in order",
            n
        );
        prop_assert_eq!(
            &mirrored(&setup.three, &shuffled[n]).await,
            &expected,
            "user {} shuffled across three appliers",
            n
        );
    }
    for appliers in all {
        prop_assert_eq!(appliers.db.event_problems().await, Vec::<String>::new());
    }
    Ok(())
}

#[test]
fn any_order_of_any_histories_ends_in_the_reference_models_state() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let setup = runtime.block_on(async {
        Setup {
            single: Appliers::start(1).await,
            three: Appliers::start(3).await,
        }
    });
    let config = Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(CASES),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    proptest!(config, |(lives in prop::collection::vec(history::life(), 1..5), hard in any::<bool>(), seed in any::<u64>())| {
        runtime.block_on(check(&setup, lives, hard, seed))?;
    });
}
