//! The stack under test: `supahook serve` (the real binary) on a database of a
//! PostgreSQL cluster that the test runs itself, and what the service and the
//! database say.

use crate::deliveries::{Answer, Delivery, deliver};
use crate::load::{ADMIN_TOKEN, SECRET};
use crate::pg_cluster::PgCluster;
use crate::process::{Serve, WorkDir, run, stderr, stdout};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// supahook serving database `mirror` on a cluster of the test's own.
pub struct Stack {
    pub cluster: PgCluster,
    pub dir: WorkDir,
    pub serve: Serve,
    env: Vec<(String, String)>,
    pub client: reqwest::Client,
}

impl Stack {
    /// A new cluster with an empty database migrated by `supahook migrate`, and
    /// `supahook serve` on it with `env` added, ready.
    pub fn start(label: &str, env: &[(&str, &str)]) -> Self {
        let cluster = Self::cluster();
        let url = cluster.database_url("mirror");
        Self::serve(cluster, url, label, env)
    }

    /// A new cluster with an empty database `mirror`.
    pub fn cluster() -> PgCluster {
        let cluster = PgCluster::plain();
        cluster.psql("postgres", "CREATE DATABASE mirror");
        cluster
    }

    /// `supahook migrate`, then `supahook serve` with `env` added, ready, on `url`:
    /// database `mirror` of `cluster`, perhaps through a proxy.
    pub fn serve(cluster: PgCluster, url: String, label: &str, env: &[(&str, &str)]) -> Self {
        let dir = WorkDir::new(label);
        let migrated = run(dir.path(), &[("DATABASE_URL", &url)], &["migrate"]);
        assert!(
            migrated.status.success(),
            "supahook migrate failed:\n{}{}",
            stdout(&migrated),
            stderr(&migrated)
        );
        let mut all = vec![
            ("DATABASE_URL".to_owned(), url),
            ("SUPAHOOK_HOOK_SECRETS".to_owned(), SECRET.to_owned()),
            ("SUPAHOOK_ADMIN_TOKEN".to_owned(), ADMIN_TOKEN.to_owned()),
            ("RUST_LOG".to_owned(), "info".to_owned()),
        ];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let serve = Serve::start(dir.path(), &pairs(&all));
        let client = supahook::infra::tls::http_client(Duration::from_secs(10)).unwrap();
        Self {
            cluster,
            dir,
            serve,
            env: all,
            client,
        }
    }

    /// Kills supahook with SIGKILL: no shutdown, no flush, no checkpoint.
    pub fn kill(&mut self) {
        self.serve.kill();
    }

    /// Starts supahook again on the same data directory, and waits until it is ready.
    pub fn restart(&mut self) {
        self.serve = Serve::start(self.dir.path(), &pairs(&self.env));
    }

    /// The spool file's write-ahead log.
    pub fn spool_wal(&self) -> std::path::PathBuf {
        self.dir.path().join("data/spool.sqlite-wal")
    }

    /// Sends `delivery` under a new `webhook-id`, as Supabase sends every attempt.
    pub async fn deliver(&self, delivery: &Delivery) -> Answer {
        deliver(&self.client, &self.serve.url(), delivery).await
    }

    /// `/health/ready`: its status and JSON body.
    pub async fn readiness(&self) -> (u16, Value) {
        let (status, text) = self.get("/health/ready").await;
        (status, serde_json::from_str(&text).expect(&text))
    }

    /// `/metrics`, the Prometheus text.
    pub async fn metrics(&self) -> Metrics {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, 200, "{text}");
        Metrics(text)
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let url = format!("{}{path}", self.serve.url());
        let response = self.client.get(&url).send().await.expect(&url);
        let status = response.status().as_u16();
        (status, response.text().await.expect(&url))
    }

    /// Waits until the spool is empty and supahook has the database back; returns
    /// how many deliveries this process has drained from the spool.
    pub async fn wait_until_drained(&self, limit: Duration) -> f64 {
        eventually(limit, "the spool drained and the database up", || async {
            let metrics = self.metrics().await;
            let depth = metrics.sum("supahook_spool_depth", &[]);
            let up = metrics.sum("supahook_database_up", &[]);
            (depth == 0.0 && up == 1.0)
                .then_some(())
                .ok_or(format!("spool depth {depth}, database up {up}"))
        })
        .await;
        let metrics = self.metrics().await;
        metrics.sum("supahook_spool_drained_total", &[])
    }

    /// The ids of the mirrored users.
    pub fn users(&self) -> BTreeSet<String> {
        self.column("SELECT id FROM users")
    }

    /// The idempotency keys in the delivery ledger.
    pub fn ledger_keys(&self) -> BTreeSet<String> {
        self.column("SELECT idempotency_key FROM webhook_events")
    }

    fn column(&self, sql: &str) -> BTreeSet<String> {
        let text = self.cluster.query("mirror", sql);
        text.lines().map(str::to_owned).collect()
    }

    /// Checks that the database holds exactly the users of `acknowledged`, and a
    /// ledger row for each of their keys and no other.
    pub fn assert_stored_exactly(&self, acknowledged: &[&Delivery]) {
        let users: BTreeSet<String> = acknowledged.iter().map(|d| d.user.clone()).collect();
        let keys: BTreeSet<String> = acknowledged.iter().map(|d| d.key.clone()).collect();
        assert_eq!(keys.len(), acknowledged.len(), "a key was sent twice");
        assert_same("users", &users, &self.users());
        assert_same("ledger keys", &keys, &self.ledger_keys());
    }
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Fails naming a few of what is missing from `found` and what should not be there.
fn assert_same(what: &str, expected: &BTreeSet<String>, found: &BTreeSet<String>) {
    let missing: Vec<_> = expected.difference(found).take(5).collect();
    let extra: Vec<_> = found.difference(expected).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: expected {}, found {}; missing {missing:?}, unexpected {extra:?}",
        expected.len(),
        found.len()
    );
}

/// The Prometheus text of `/metrics`.
pub struct Metrics(pub String);

impl Metrics {
    /// The sum of every series of `name` whose labels include each of `labels`
    /// (`key="value"`); 0 when there is none.
    pub fn sum(&self, name: &str, labels: &[&str]) -> f64 {
        self.0
            .lines()
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
                let wanted =
                    series_name == name && labels.iter().all(|label| series_labels.contains(label));
                wanted.then(|| value.parse::<f64>().ok()).flatten()
            })
            .sum()
    }
}

/// Polls `check` every 100 ms until it passes; fails after `limit` with the last reason.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + limit;
    loop {
        let last = match check().await {
            Ok(()) => return,
            Err(reason) => reason,
        };
        assert!(
            Instant::now() < deadline,
            "not within {limit:?}: {what}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
