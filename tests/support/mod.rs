//! The test harness: a fresh database per test (PostgreSQL, or SQLite with
//! `SUPAHOOK_TEST_BACKEND=sqlite`), the real app on it, and signed deliveries.
//! A database that cannot be reached fails the test.

#![allow(dead_code)]

pub mod tokens;
pub mod webhooks;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::SqliteConnection;
use diesel::sql_types::BigInt;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use poem::endpoint::BoxEndpoint;
use poem::test::{TestClient, TestRequestBuilder, TestResponse};
use std::collections::HashMap;
use std::path::PathBuf;
use supahook::app::{App, Background, Endpoints, Migrations, Wiring};
use supahook::config::{JwtSettings, SecretString, Settings};
use supahook::mirroring::Mirroring;
use supahook::signature::SigningKey;
use supahook::storage::{Queries as _, Storage, StoredUser};
use uuid::Uuid;

/// The secret every test signs with.
pub const SECRET: &str = "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=";
/// A second secret that the app does not accept.
pub const OTHER_SECRET: &str = "v1,whsec_/yNMaHaPP5sX873J6OQEznxFvOa0dod1Sc3t/kZYFsQ=";
/// The read API's bearer token in tests.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fixture body from `tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A fixture as JSON, to be edited before sending.
pub fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// Which database the behaviour tests run on: `SUPAHOOK_TEST_BACKEND` is
/// `postgres` (the default) or `sqlite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn from_env() -> Self {
        match std::env::var("SUPAHOOK_TEST_BACKEND").as_deref() {
            Err(_) | Ok("" | "postgres") => Self::Postgres,
            Ok("sqlite") => Self::Sqlite,
            Ok(other) => panic!("SUPAHOOK_TEST_BACKEND must be postgres or sqlite, not {other:?}"),
        }
    }
}

/// A database created for one test and dropped after it: a fresh PostgreSQL
/// database from `TEST_DATABASE_URL`, or a SQLite file in a new temporary directory.
pub struct TestDb {
    place: Place,
    pub url: String,
}

enum Place {
    Postgres { admin_url: String, name: String },
    Sqlite { dir: PathBuf },
}

/// A direct connection to a [`TestDb`].
pub enum TestConn {
    Postgres(Box<AsyncPgConnection>),
    Sqlite(SyncConnectionWrapper<SqliteConnection>),
}

impl TestDb {
    pub async fn create() -> Self {
        match Backend::from_env() {
            Backend::Postgres => Self::create_postgres().await,
            Backend::Sqlite => Self::create_sqlite(),
        }
    }

    pub async fn create_postgres() -> Self {
        let admin_url =
            std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.into());
        let mut admin = AsyncPgConnection::establish(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot reach PostgreSQL at TEST_DATABASE_URL={admin_url}: {e}\n\
                 Run the tests with scripts/test.sh, which starts a private PostgreSQL, \
                 or point TEST_DATABASE_URL at a running server."
                )
            });
        let name = format!("supahook_test_{}", Uuid::new_v4().simple());
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let (base, _) = admin_url
            .rsplit_once('/')
            .expect("TEST_DATABASE_URL ends in /<database>");
        let url = format!("{base}/{name}");
        Self {
            place: Place::Postgres { admin_url, name },
            url,
        }
    }

    pub fn create_sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("supahook_test_{}", Uuid::new_v4().simple()));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let url = format!("sqlite://{}", dir.join("supahook.db").display());
        Self {
            place: Place::Sqlite { dir },
            url,
        }
    }

    /// A direct connection, for arranging and inspecting rows.
    pub async fn connect(&self) -> TestConn {
        match &self.place {
            Place::Postgres { .. } => TestConn::Postgres(Box::new(
                AsyncPgConnection::establish(&self.url)
                    .await
                    .expect("connect to the test database"),
            )),
            Place::Sqlite { dir } => {
                let path = dir.join("supahook.db");
                let mut conn = SyncConnectionWrapper::<SqliteConnection>::establish(
                    path.to_str().expect("a UTF-8 temporary directory"),
                )
                .await
                .expect("open the test database");
                // The same rules as the app's own connections.
                conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                    .await
                    .expect("configure the test connection");
                TestConn::Sqlite(conn)
            }
        }
    }

    /// Runs one SQL statement.
    pub async fn execute(&self, sql: &str) {
        let result = match self.connect().await {
            TestConn::Postgres(mut conn) => diesel::sql_query(sql).execute(&mut *conn).await,
            TestConn::Sqlite(mut conn) => diesel::sql_query(sql).execute(&mut conn).await,
        };
        result.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs several SQL statements (a schema, functions), without parameters.
    pub async fn batch(&self, sql: &str) {
        let result = match self.connect().await {
            TestConn::Postgres(mut conn) => conn.batch_execute(sql).await,
            TestConn::Sqlite(mut conn) => conn.batch_execute(sql).await,
        };
        result.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Makes the database refuse, for good, every new user with this email: a trigger
    /// raises an error, as a failing trigger of the application's would.
    pub async fn refuse_email(&self, email: &str) {
        let statements = match &self.place {
            Place::Postgres { .. } => vec![
                format!(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF NEW.email = '{email}' THEN RAISE EXCEPTION 'refused by a test trigger'; \
                     END IF; RETURN NEW; END $$"
                ),
                "CREATE TRIGGER refuse BEFORE INSERT ON users FOR EACH ROW \
                 EXECUTE FUNCTION refuse()"
                    .to_owned(),
            ],
            Place::Sqlite { .. } => vec![format!(
                "CREATE TRIGGER refuse BEFORE INSERT ON users WHEN NEW.email = '{email}' \
                 BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
            )],
        };
        for statement in statements {
            self.execute(&statement).await;
        }
    }

    /// Removes what [`refuse_email`](Self::refuse_email) added.
    pub async fn stop_refusing(&self) {
        match &self.place {
            Place::Postgres { .. } => self.execute("DROP TRIGGER refuse ON users").await,
            Place::Sqlite { .. } => self.execute("DROP TRIGGER refuse").await,
        }
    }

    /// The single bigint that `sql` selects.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let query = diesel::select(diesel::dsl::sql::<BigInt>(&format!("({sql})")));
        let result = match self.connect().await {
            TestConn::Postgres(mut conn) => query.get_result(&mut *conn).await,
            TestConn::Sqlite(mut conn) => query.get_result(&mut conn).await,
        };
        result.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// What is wrong with the recorded lifecycle events, as `"<count> <problem>"`
    /// lines (none when all is well): each user's events must be numbered 1..n in feed
    /// order, start with `user.created`, have distinct ids, and the last one must show
    /// the stored user's email and name; `user.banned` and `user.unbanned` alternate from
    /// a ban, and the last of them says whether the stored user is banned (its
    /// `banned_until` later than the snapshot that carried it).
    pub async fn event_problems(&self) -> Vec<String> {
        let checks = [
            (
                "users whose sequences are not 1..n",
                "SELECT count(*) FROM (SELECT user_id, count(*) AS n, min(sequence) AS first, \
                 max(sequence) AS last FROM outbox_events GROUP BY user_id) AS s \
                 WHERE first <> 1 OR last <> n",
            ),
            (
                "pairs of a user's events out of feed order",
                "SELECT count(*) FROM outbox_events a JOIN outbox_events b \
                 ON a.user_id = b.user_id AND a.sequence < b.sequence AND a.position > b.position",
            ),
            (
                "first events that are not user.created",
                "SELECT count(*) FROM outbox_events WHERE sequence = 1 AND type <> 'user.created'",
            ),
            (
                "users whose last event shows another email or name than stored",
                "SELECT count(*) FROM users u JOIN outbox_events o ON o.user_id = u.id \
                 AND o.sequence = (SELECT max(sequence) FROM outbox_events l \
                 WHERE l.user_id = u.id) \
                 WHERE o.data->'user'->>'email' IS DISTINCT FROM u.email \
                 OR o.data->'user'->>'first_name' IS DISTINCT FROM u.first_name",
            ),
            (
                "bans and unbans that do not alternate from a ban",
                "SELECT count(*) FROM (SELECT type, LAG(type) OVER \
                 (PARTITION BY user_id ORDER BY sequence) AS previous FROM outbox_events \
                 WHERE type IN ('user.banned', 'user.unbanned')) AS b \
                 WHERE previous = type OR (previous IS NULL AND type = 'user.unbanned')",
            ),
            (
                "users banned in their stored state but not by their last ban event, or back",
                "SELECT count(*) FROM users u WHERE NOT u.provisional AND \
                 (CASE WHEN u.banned_until > u.activity_updated_at THEN 1 ELSE 0 END) <> \
                 COALESCE((SELECT CASE WHEN o.type = 'user.banned' THEN 1 ELSE 0 END \
                 FROM outbox_events o WHERE o.user_id = u.id \
                 AND o.type IN ('user.banned', 'user.unbanned') \
                 ORDER BY o.sequence DESC LIMIT 1), 0)",
            ),
            (
                "repeated event ids",
                "SELECT count(*) - count(DISTINCT id) FROM outbox_events",
            ),
        ];
        let mut problems = Vec::new();
        for (what, sql) in checks {
            let found = self.scalar(sql).await;
            if found != 0 {
                problems.push(format!("{found} {what}"));
            }
        }
        problems
    }

    /// Row counts of the three tables supahook writes, to prove nothing changed.
    pub async fn counts(&self) -> [i64; 3] {
        [
            self.scalar("SELECT count(*) FROM users").await,
            self.scalar("SELECT count(*) FROM profiles").await,
            self.scalar("SELECT count(*) FROM webhook_events").await,
        ]
    }

    /// The stored user with this id, read back through the storage interface
    /// so that assertions compare domain values on every backend.
    pub async fn user(&self, id: &str) -> Option<StoredUser> {
        let id: Uuid = id.parse().expect("a uuid");
        Storage::open(&self.url, 1)
            .expect("open storage")
            .find_user(id)
            .await
            .expect("read the user")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.place {
            Place::Postgres { admin_url, name } => drop_postgres(admin_url, name),
            Place::Sqlite { dir } => {
                if let Err(e) = std::fs::remove_dir_all(dir) {
                    eprintln!("warning: could not remove {}: {e}", dir.display());
                }
            }
        }
    }
}

fn drop_postgres(admin_url: &str, name: &str) {
    let admin_url = admin_url.to_owned();
    let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut admin = AsyncPgConnection::establish(&admin_url).await?;
            diesel::sql_query(statement)
                .execute(&mut admin)
                .await
                .map(drop)
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
        })
    })
    .join();
    if !matches!(dropped, Ok(Ok(()))) {
        eprintln!("warning: could not drop test database {name}");
    }
}

/// A UTC time written as `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub fn utc(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%F %T%.f")
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .and_utc()
}

/// Knobs for the app under test: the settings that differ from the tests' own.
#[derive(Default)]
pub struct Options {
    pub allowed_email_domains: Vec<String>,
    pub blocked_email_domains: Vec<String>,
    pub db_webhook_token: Option<String>,
    pub on_delete: supahook::mirror::DeleteMode,
    /// Token checks for the sync endpoint; `None` uses [`Options::jwt_secret_only`].
    pub jwt: Option<JwtSettings>,
    /// How often the JWKS may be fetched; the production interval when `None`.
    pub jwks_min_interval: Option<std::time::Duration>,
    pub cors_origins: Vec<String>,
    pub profile_claim: Option<String>,
    /// `SUPAHOOK_USERS_MAY_SET_ONBOARDED`.
    pub users_may_set_onboarded: bool,
    /// Further settings as environment variables, `("SUPAHOOK_ON_STORE_FAILURE",
    /// "open")` say, read as `serve` reads them.
    pub env: Vec<(&'static str, String)>,
    /// Whether the app migrates at the start, as `serve` does (the default).
    pub migrations: Migrations,
}

impl Options {
    /// HS256 tokens signed with [`tokens::JWT_SECRET`], audience `authenticated`.
    pub fn jwt_secret_only() -> JwtSettings {
        JwtSettings {
            secret: Some(SecretString::from(tokens::JWT_SECRET)),
            audiences: vec!["authenticated".into()],
            ..JwtSettings::default()
        }
    }

    /// The HS256 secret and the JWKS at `url`.
    pub fn jwt_with_jwks(url: &str) -> JwtSettings {
        JwtSettings {
            jwks_url: Some(url.to_owned()),
            ..Self::jwt_secret_only()
        }
    }

    /// Further settings: `serve` in `open` mode, spooling in `data_dir`.
    pub fn open_mode(data_dir: &std::path::Path) -> Self {
        Self {
            env: vec![
                ("SUPAHOOK_ON_STORE_FAILURE", "open".into()),
                ("SUPAHOOK_DATA_DIR", data_dir.display().to_string()),
            ],
            ..Self::default()
        }
    }

    /// What the app is built with over `database_url`: the test secret and admin
    /// token, a pool of 8, `closed` mode (no spool to share between tests), and these
    /// options.
    fn into_settings(self, database_url: &str) -> (Settings, Wiring) {
        let base = [
            ("DATABASE_URL", database_url.to_owned()),
            ("SUPAHOOK_HOOK_SECRETS", SECRET.to_owned()),
            ("SUPAHOOK_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("SUPAHOOK_DB_POOL_SIZE", "8".to_owned()),
            ("SUPAHOOK_ON_STORE_FAILURE", "closed".to_owned()),
        ];
        let vars: HashMap<String, String> = base
            .into_iter()
            .chain(self.env)
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        let mut settings = Settings::from_environment(None, &vars).expect("the test settings");
        settings.allowed_email_domains = self.allowed_email_domains;
        settings.blocked_email_domains = self.blocked_email_domains;
        settings.db_webhook_token = self.db_webhook_token.map(SecretString::from);
        settings.on_delete = self.on_delete;
        settings.jwt = self.jwt.unwrap_or_else(Self::jwt_secret_only);
        settings.cors_origins = self.cors_origins;
        settings.token_claims.profile_claim = self.profile_claim;
        settings.users_may_set_onboarded = self.users_may_set_onboarded;
        let wiring = Wiring {
            jwks_min_interval: self
                .jwks_min_interval
                .unwrap_or(supahook::jwt::MIN_INTERVAL),
            migrations: self.migrations,
        };
        (settings, wiring)
    }
}

/// The settings and wiring the app is built with over `database_url` with `options`.
pub fn settings(database_url: &str, options: Options) -> (Settings, Wiring) {
    options.into_settings(database_url)
}

/// The real app as `serve` builds it, and an in-process client of its endpoint.
pub struct Running {
    pub client: Client,
    /// The app's use-case, to flush what the token fast path keeps for later.
    pub mirroring: Mirroring,
    /// Its background tasks, which stop when it is dropped.
    background: Background,
}

/// Builds the app over `database_url` with `options`, as `serve` does.
pub async fn start(database_url: &str, options: Options) -> Running {
    let (settings, wiring) = options.into_settings(database_url);
    let app = App::build(&settings, wiring).await.expect("build the app");
    let Endpoints::Whole(endpoint) = app.endpoints else {
        panic!("the tests serve every path on one endpoint");
    };
    Running {
        client: TestClient::new(endpoint),
        mirroring: app.background.mirroring.clone(),
        background: app.background,
    }
}

/// The real application on its own database.
pub struct TestApp {
    pub db: TestDb,
    running: Running,
}

impl std::ops::Deref for TestApp {
    type Target = Running;

    fn deref(&self) -> &Running {
        &self.running
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> Self {
        let db = TestDb::create().await;
        let running = start(&db.url, options).await;
        Self { db, running }
    }

    /// Signs `body` with the test secret and posts it to `path`.
    pub async fn deliver(&self, path: &str, body: &[u8]) -> TestResponse {
        send(&self.client, path, body).await
    }

    /// Posts `body` signed with `secret` at Unix time `timestamp`.
    pub async fn deliver_signed(
        &self,
        path: &str,
        body: &[u8],
        secret: &str,
        timestamp: i64,
    ) -> TestResponse {
        let id = Uuid::new_v4().to_string();
        signed_request(
            &self.client,
            path,
            body,
            Signing::new(&id, secret, timestamp),
        )
        .send()
        .await
    }
}

/// How a test signs one request.
pub struct Signing<'a> {
    /// The `webhook-id`.
    pub id: &'a str,
    /// The secret, `v1,whsec_...`.
    pub secret: &'a str,
    /// The `webhook-timestamp`.
    pub timestamp: i64,
    /// The `Content-Type` sent.
    pub content_type: &'a str,
}

impl<'a> Signing<'a> {
    /// Signed under `id` with `secret` at `timestamp`, sent as `application/json`.
    pub fn new(id: &'a str, secret: &'a str, timestamp: i64) -> Self {
        Self {
            id,
            secret,
            timestamp,
            content_type: "application/json",
        }
    }
}

/// A POST of `body` to `path` with the three Standard Webhooks headers, ready to send.
pub fn signed_request<'c>(
    client: &'c TestClient<BoxEndpoint<'static>>,
    path: &str,
    body: &[u8],
    signing: Signing<'_>,
) -> TestRequestBuilder<'c, BoxEndpoint<'static>> {
    let signature =
        SigningKey::parse(signing.secret)
            .unwrap()
            .sign(signing.id, signing.timestamp, body);
    client
        .post(path)
        .header("content-type", signing.content_type)
        .header("webhook-id", signing.id)
        .header("webhook-timestamp", signing.timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_vec())
}

/// The in-process client of the real app.
pub type Client = TestClient<BoxEndpoint<'static>>;

/// Signs `body` with the test secret, under a new `webhook-id`, and posts it to `path`.
pub async fn send(client: &Client, path: &str, body: &[u8]) -> TestResponse {
    let id = Uuid::new_v4().to_string();
    signed_request(client, path, body, Signing::new(&id, SECRET, now()))
        .send()
        .await
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The `Supahook-Outcome` header of a hook answer.
pub fn outcome(response: &TestResponse) -> String {
    response
        .0
        .headers()
        .get("supahook-outcome")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("<none>")
        .to_owned()
}

/// The user ids of a `GET /v1/users` page.
pub fn listed_ids(page: &serde_json::Value) -> Vec<String> {
    page["users"]
        .as_array()
        .expect("a page of users")
        .iter()
        .map(|u| u["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Reads a response's JSON body.
pub async fn json(response: TestResponse) -> serde_json::Value {
    let text = response.0.into_body().into_string().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
