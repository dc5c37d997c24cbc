//! `supahook doctor` with the real binary, against a running `serve`, its PostgreSQL
//! mirror and a stand-in Supabase database: it passes on a good setup and writes
//! nothing there, and it finds a wrong hook secret, a missing trigger, a failing
//! trigger on auth.users and an unreachable database.

#[path = "support/process.rs"]
mod process;
mod support;
#[path = "support/upstream.rs"]
mod upstream;

use process::{Serve, WorkDir, free_port, run, stderr, stdout};
use std::process::Output;
use support::{OTHER_SECRET, SECRET, TestDb};

/// The Supabase CLI snippet supahook ships, reading its secret from `AUTH_HOOK_SECRETS`.
const CONFIG_TOML: &str = include_str!("../deploy/supabase/config.toml");

/// A running supahook on its own mirror, a stand-in Supabase database, and a Supabase
/// CLI project directory whose hooks sign with `hook_secret`.
struct Setup {
    dir: WorkDir,
    mirror: TestDb,
    supabase: TestDb,
    serve: Serve,
}

impl Setup {
    async fn new(with_trigger: bool, hook_secret: &str, vault_secret: &str) -> Self {
        let dir = WorkDir::new("doctor");
        let mirror = TestDb::create_postgres().await;
        let supabase = upstream::supabase_db(with_trigger).await;
        supabase
            .execute(&format!(
                "INSERT INTO vault.decrypted_secrets (name, decrypted_secret) VALUES \
                 ('supahook_webhook_secret', '{vault_secret}'), \
                 ('supahook_webhook_url', 'http://127.0.0.1:8080/hooks/auth-users')"
            ))
            .await;
        let project = dir.path().join("supabase");
        std::fs::create_dir_all(&project).unwrap();
        let config = CONFIG_TOML.replace("SUPAHOOK_HOOK_SECRETS", "AUTH_HOOK_SECRETS");
        std::fs::write(project.join("config.toml"), config).unwrap();
        std::fs::write(
            project.join(".env"),
            format!("AUTH_HOOK_SECRETS=\"{hook_secret}\"\n"),
        )
        .unwrap();
        let serve = Serve::start(
            dir.path(),
            &[
                ("DATABASE_URL", &mirror.url),
                ("SUPAHOOK_HOOK_SECRETS", SECRET),
            ],
        );
        Self {
            dir,
            mirror,
            supabase,
            serve,
        }
    }

    /// `supahook doctor` with every check's input given.
    fn doctor(&self) -> Output {
        let config = self.dir.path().join("supabase/config.toml");
        let url = self.serve.url();
        run(
            self.dir.path(),
            &[
                ("DATABASE_URL", &self.mirror.url),
                ("SUPAHOOK_HOOK_SECRETS", SECRET),
            ],
            &[
                "doctor",
                "--supabase-config",
                config.to_str().unwrap(),
                "--url",
                &url,
                "--source-url",
                &self.supabase.url,
            ],
        )
    }
}

/// The line of `output` about `check`.
fn line<'a>(output: &'a str, check: &str) -> &'a str {
    output
        .lines()
        .find(|line| line[5..].starts_with(check))
        .unwrap_or_else(|| panic!("no line on {check}:\n{output}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_setup_passes_every_check_and_the_doctor_leaves_nothing_behind() {
    let setup = Setup::new(true, SECRET, SECRET).await;

    let output = setup.doctor();

    let said = stdout(&output);
    assert!(output.status.success(), "{said}{}", stderr(&output));
    assert_eq!(said.lines().count(), 14, "{said}");
    assert!(said.lines().all(|l| l.starts_with("ok   ")), "{said}");
    assert!(line(&said, "test event signed with Vault").contains("200 (skipped)"));
    assert!(line(&said, "other triggers on auth.users").contains("none; a sign-up"));
    assert!(line(&said, "migrations").contains("all applied"));
    assert_eq!(
        setup.mirror.counts().await,
        [0, 0, 0],
        "the test events wrote nothing"
    );
    for table in [
        "auth.users",
        "supahook.user_versions",
        "net.captured_requests",
    ] {
        let rows = setup
            .supabase
            .scalar(&format!("SELECT count(*) FROM {table}"))
            .await;
        assert_eq!(rows, 0, "the rehearsed sign-up left a row in {table}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_hook_secret_is_found_in_config_toml_in_vault_and_by_the_running_service() {
    let setup = Setup::new(true, OTHER_SECRET, OTHER_SECRET).await;

    let output = setup.doctor();

    let said = stdout(&output);
    assert!(!output.status.success(), "{said}");
    for hook in ["custom_access_token", "before_user_created"] {
        let config = line(&said, &format!("config.toml [auth.hook.{hook}]"));
        assert!(
            config.starts_with("FAIL") && config.contains("SUPAHOOK_HOOK_SECRETS"),
            "{said}"
        );
        let probe = line(&said, &format!("test event signed with the {hook} hook's"));
        assert!(
            probe.contains("refused the signature: 401 invalid_signature"),
            "{said}"
        );
    }
    assert!(
        line(&said, "Vault supahook_webhook_secret").starts_with("FAIL"),
        "{said}"
    );
    assert!(
        line(&said, "test event signed with Vault").starts_with("FAIL"),
        "{said}"
    );
    assert!(line(&said, "test event signed with SUPAHOOK_HOOK_SECRETS").starts_with("ok"));
    assert!(
        stderr(&output).contains("6 of 14 checks found a problem"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_trigger_is_found() {
    let setup = Setup::new(false, SECRET, SECRET).await;

    let output = setup.doctor();

    let said = stdout(&output);
    assert!(!output.status.success(), "{said}");
    let trigger = line(&said, "supahook trigger on auth.users");
    assert!(
        trigger.starts_with("FAIL") && trigger.contains("no supahook_auth_users_webhook trigger"),
        "{said}"
    );
    assert!(
        trigger.contains("fix: apply deploy/supabase/migrations/"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trigger_on_auth_users_that_fails_sign_ups_is_found_and_named() {
    let setup = Setup::new(true, SECRET, SECRET).await;
    setup
        .supabase
        .execute(
            "CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'profiles.username may not be null'; END $$",
        )
        .await;
    setup
        .supabase
        .execute(
            "CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users \
             FOR EACH ROW EXECUTE FUNCTION public.handle_new_user()",
        )
        .await;

    let output = setup.doctor();

    let said = stdout(&output);
    assert!(!output.status.success(), "{said}");
    let others = line(&said, "other triggers on auth.users");
    assert!(others.starts_with("FAIL"), "{said}");
    assert!(
        others.contains("profiles.username may not be null"),
        "{said}"
    );
    assert!(
        others.contains("on_auth_user_created (AFTER INSERT, handle_new_user())"),
        "{said}"
    );
    assert!(
        line(&said, "supahook trigger on auth.users").starts_with("ok"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_is_found() {
    let dir = WorkDir::new("doctor-unreachable");
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", free_port());

    let output = run(
        dir.path(),
        &[("DATABASE_URL", &url), ("SUPAHOOK_HOOK_SECRETS", SECRET)],
        &["doctor"],
    );

    let said = stdout(&output);
    assert!(!output.status.success(), "{said}");
    let database = line(&said, "mirror database (DATABASE_URL)");
    assert!(
        database.starts_with("FAIL") && database.contains("cannot reach"),
        "{said}"
    );
    assert!(line(&said, "migrations").starts_with("skip"), "{said}");
    assert!(line(&said, "config.toml").starts_with("skip"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_never_migrated_has_its_migrations_pending() {
    let dir = WorkDir::new("doctor-unmigrated");
    let mirror = TestDb::create_postgres().await;

    let output = run(
        dir.path(),
        &[
            ("DATABASE_URL", &mirror.url),
            ("SUPAHOOK_HOOK_SECRETS", SECRET),
        ],
        &["doctor"],
    );

    let said = stdout(&output);
    assert!(!output.status.success(), "{said}");
    assert!(
        line(&said, "mirror database (DATABASE_URL)").starts_with("ok"),
        "{said}"
    );
    let migrations = line(&said, "migrations");
    assert!(
        migrations.starts_with("FAIL") && migrations.contains("pending"),
        "{said}"
    );
    assert!(line(&said, "spool").contains("no spool file"), "{said}");
}
