//! A stand-in Supabase database: `auth.users`, Vault and a recording `net.http_post`
//! from `tests/sql/supabase_stand_ins.sql`, optionally with supahook's signed trigger.

#![allow(dead_code)]

use crate::support::{TestConn, TestDb};
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

const STAND_INS: &str = include_str!("../sql/supabase_stand_ins.sql");
/// supahook's signed-trigger migration.
pub const TRIGGER: &str =
    include_str!("../../deploy/supabase/migrations/20260101000000_supahook_auth_users_webhook.sql");

/// A fresh PostgreSQL database that looks like a Supabase project's.
pub async fn supabase_db(with_trigger: bool) -> TestDb {
    let db = TestDb::create_postgres().await;
    let mut conn = connect(&db).await;
    conn.batch_execute(STAND_INS)
        .await
        .expect("apply the Supabase stand-ins");
    if with_trigger {
        conn.batch_execute(TRIGGER)
            .await
            .expect("apply the signed-webhook migration");
    }
    db
}

/// A PostgreSQL connection to the stand-in.
pub async fn connect(db: &TestDb) -> Box<AsyncPgConnection> {
    match db.connect().await {
        TestConn::Postgres(conn) => conn,
        TestConn::Sqlite(_) => unreachable!("the stand-in is always PostgreSQL"),
    }
}

/// The single text value `sql` selects.
pub async fn text(db: &TestDb, sql: &str) -> String {
    diesel::select(diesel::dsl::sql::<Text>(&format!("({sql})")))
        .get_result(&mut *connect(db).await)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Inserts `count` users numbered from `first`, created one second apart.
pub async fn insert_users(db: &TestDb, first: u32, count: u32) {
    let last = first + count - 1;
    db.execute(&format!(
        "INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password,
             raw_app_meta_data, raw_user_meta_data, email_confirmed_at, created_at, updated_at)
         SELECT '00000000-0000-0000-0000-000000000000', md5(i::text)::uuid, 'authenticated',
             'authenticated', 'user' || i || '@example.com', '$2a$10$FAKEFAKEFAKE',
             '{{\"provider\": \"email\", \"providers\": [\"email\"]}}',
             jsonb_build_object('full_name', 'User ' || i),
             timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second',
             timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second',
             timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second'
         FROM generate_series({first}, {last}) AS i"
    ))
    .await;
}

/// The id `insert_users` gives user number `n`.
pub async fn user_id(db: &TestDb, n: u32) -> String {
    text(db, &format!("SELECT md5('{n}')::uuid::text")).await
}

/// Creates `role` (once per cluster) with what `postgres` holds on Supabase: ALL
/// privileges on `auth.users` without owning it, and what the trigger's install and
/// removal use; it can then create the trigger but not drop it.
pub async fn role_that_does_not_own_auth_users(db: &TestDb, role: &str) {
    let database = db.url.rsplit('/').next().unwrap().to_owned();
    connect(db)
        .await
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {role} NOLOGIN;
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
             GRANT ALL ON auth.users TO {role};
             GRANT USAGE ON SCHEMA auth, vault, net, extensions TO {role};
             GRANT CREATE ON DATABASE \"{database}\" TO {role};
             GRANT SELECT, DELETE ON vault.secrets TO {role};
             GRANT SELECT ON vault.decrypted_secrets TO {role};
             GRANT SELECT, INSERT ON net.captured_requests TO {role};
             GRANT USAGE ON SEQUENCE net.captured_requests_id_seq TO {role};"
        ))
        .await
        .expect("create the role that does not own auth.users");
}
