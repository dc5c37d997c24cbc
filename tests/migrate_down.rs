//! `supahook migrate --down N` and `--to VERSION` with the real binary, on both
//! backends: every shipped `down.sql` reverses its `up.sql` exactly (the schema after
//! a revert and a new migrate is the schema before), and a revert that would drop
//! data changes nothing unless `--yes-drop-data` says so.

#[path = "support/process.rs"]
mod process;
mod support;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use process::{WorkDir, assert_ok, run, stderr, stdout};
use support::{TestConn, TestDb};

/// Every column (type, nullability, default) and index of the mirror, as one text.
const PG_SHAPE: &str = "SELECT coalesce(string_agg(line, E'\\n' ORDER BY line), '') AS text FROM (
       SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
              || ' ' || coalesce(column_default, '') AS line
       FROM information_schema.columns WHERE table_schema = 'public'
       UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
       UNION ALL SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid)
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace) AS shape";
/// The shape of a SQLite mirror; `sqlite_sequence` is left out: SQLite keeps it for
/// AUTOINCREMENT tables once one existed, and no statement can drop it.
const SQLITE_SHAPE: &str = "SELECT coalesce(group_concat(line, char(10)), '') AS text FROM (
       SELECT m.name || '.' || p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' '
              || coalesce(p.dflt_value, '') || ' ' || p.pk AS line
       FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
       WHERE m.type = 'table' AND m.name <> 'sqlite_sequence'
       UNION ALL SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
       ORDER BY line)";

#[derive(QueryableByName)]
struct Shape {
    #[diesel(sql_type = Text)]
    text: String,
}

/// The mirror's tables, columns, indexes and constraints.
async fn shape(db: &TestDb) -> String {
    let shape: Shape = match db.connect().await {
        TestConn::Postgres(mut conn) => diesel::sql_query(PG_SHAPE).get_result(&mut *conn).await,
        TestConn::Sqlite(mut conn) => diesel::sql_query(SQLITE_SHAPE).get_result(&mut conn).await,
    }
    .expect("read the schema's shape");
    shape.text
}

/// A PostgreSQL database and a SQLite file, each fresh.
async fn both_backends() -> [TestDb; 2] {
    [TestDb::create_postgres().await, TestDb::create_sqlite()]
}

fn migrate(dir: &WorkDir, db: &TestDb, args: &[&str]) -> std::process::Output {
    let mut all = vec!["migrate"];
    all.extend_from_slice(args);
    run(dir.path(), &[("DATABASE_URL", db.url.as_str())], &all)
}

/// The shipped migrations of one backend, oldest first.
fn shipped() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn down_one_then_migrate_round_trips_on_both_backends() {
    let dir = WorkDir::new("migrate-down-one");
    let newest = shipped().pop().unwrap();
    for db in both_backends().await {
        assert_ok(&migrate(&dir, &db, &[]), "migrate");
        let migrated = shape(&db).await;

        let down = migrate(&dir, &db, &["--down", "1"]);
        assert_ok(&down, "migrate --down 1");
        assert!(
            stdout(&down).starts_with(&format!("reverted {newest}: ")),
            "{}",
            stdout(&down)
        );
        assert_ne!(
            shape(&db).await,
            migrated,
            "{}: nothing was reverted",
            db.url
        );
        let again = migrate(&dir, &db, &[]);
        assert_ok(&again, "migrate after --down 1");

        assert!(stderr(&again).contains("count=1"), "{}", stderr(&again));
        assert_eq!(shape(&db).await, migrated, "{}", db.url);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_migration_reverts_and_applies_again_on_both_backends() {
    let dir = WorkDir::new("migrate-down-all");
    let names = shipped();
    for db in both_backends().await {
        let empty = shape(&db).await;
        assert_ok(&migrate(&dir, &db, &[]), "migrate");
        let migrated = shape(&db).await;

        let down = migrate(&dir, &db, &["--down", &names.len().to_string()]);
        assert_ok(&down, "migrate --down ALL");
        let printed = stdout(&down);
        let reverted: Vec<&str> = printed
            .lines()
            .filter_map(|line| line.strip_prefix("reverted ")?.split(':').next())
            .filter(|name| names.iter().any(|n| n == name))
            .collect();
        let newest_first: Vec<&str> = names.iter().rev().map(String::as_str).collect();
        assert_eq!(reverted, newest_first, "{}", stdout(&down));
        let after_down = shape(&db).await;
        assert!(
            after_down
                .lines()
                .all(|l| l.contains("__diesel_schema_migrations")),
            "{}: left behind:\n{after_down}\n(empty database: {empty})",
            db.url
        );

        assert_ok(&migrate(&dir, &db, &[]), "migrate after reverting all");
        assert_eq!(shape(&db).await, migrated, "{}", db.url);
        let to_zero = migrate(&dir, &db, &["--to", "0"]);
        assert_ok(&to_zero, "migrate --to 0");
        assert_eq!(shape(&db).await, after_down, "{}", db.url);
        assert_ok(&migrate(&dir, &db, &[]), "migrate after --to 0");
        assert_eq!(shape(&db).await, migrated, "{}", db.url);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revert_that_would_drop_data_changes_nothing_until_confirmed() {
    let dir = WorkDir::new("migrate-down-data");
    let names = shipped();
    let first = &names[0];
    for db in both_backends().await {
        assert_ok(&migrate(&dir, &db, &[]), "migrate");
        TestDb::execute(
            &db,
            "INSERT INTO users (id, source_updated_at, created_at, updated_at) VALUES \
             ('3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14', '2026-01-15 09:30:11+00:00', \
              '2026-01-15 09:30:11+00:00', '2026-01-15 09:30:11+00:00')",
        )
        .await;
        let migrated = shape(&db).await;

        let refused = migrate(&dir, &db, &["--to", "0"]);

        assert!(!refused.status.success(), "{}", stdout(&refused));
        assert!(
            stdout(&refused).contains(&format!(
                "would revert {first}: drops table profiles (0 rows), drops table users (1 rows)"
            )),
            "{}",
            stdout(&refused)
        );
        assert!(
            stderr(&refused).contains("--yes-drop-data"),
            "{}",
            stderr(&refused)
        );
        assert_eq!(
            shape(&db).await,
            migrated,
            "{}: a refused revert changed the schema",
            db.url
        );
        assert_eq!(db.scalar("SELECT count(*) FROM users").await, 1);

        // Reverting what holds no data needs no confirmation; the user stays.
        assert_ok(&migrate(&dir, &db, &["--down", "1"]), "migrate --down 1");
        assert_eq!(db.scalar("SELECT count(*) FROM users").await, 1);
        let columns = migrate(&dir, &db, &["--to", first, "--yes-drop-data"]);
        assert_ok(&columns, "migrate --to FIRST --yes-drop-data");
        assert_eq!(db.scalar("SELECT count(*) FROM users").await, 1);
        let confirmed = migrate(&dir, &db, &["--down", "1", "--yes-drop-data"]);
        assert_ok(&confirmed, "migrate --down 1 --yes-drop-data");
        assert!(stdout(&confirmed).starts_with(&format!("reverted {first}: ")));
        assert_ok(
            &migrate(&dir, &db, &[]),
            "migrate after the confirmed revert",
        );
        assert_eq!(db.scalar("SELECT count(*) FROM users").await, 0);
    }
}

#[test]
fn impossible_reverts_are_refused_saying_why() {
    let dir = WorkDir::new("migrate-down-args");
    let url = format!("sqlite://{}", dir.path().join("mirror.db").display());
    let env = [("DATABASE_URL", url.as_str())];

    let zero = run(dir.path(), &env, &["migrate", "--down", "0"]);
    let both = run(dir.path(), &env, &["migrate", "--down", "1", "--to", "0"]);
    let alone = run(dir.path(), &env, &["migrate", "--yes-drop-data"]);
    let too_many = run(dir.path(), &env, &["migrate", "--down", "99"]);

    for refused in [&zero, &both, &alone, &too_many] {
        assert!(!refused.status.success());
    }
    assert!(
        stderr(&alone).contains("--yes-drop-data only goes with"),
        "{}",
        stderr(&alone)
    );
    assert!(
        stderr(&too_many).contains("--down 99: only 0 migrations are applied"),
        "{}",
        stderr(&too_many)
    );
}
