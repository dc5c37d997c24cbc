#!/usr/bin/env bash
# Time of `supahook reconcile` (release build) over a stand-in auth.users.
#
#   bench/reconcile.sh [USERS] [RUNS]
#
# Builds a Supabase-like source database (tests/sql/supabase_stand_ins.sql)
# holding USERS rows, then, RUNS times on a fresh mirror database, reconciles
# twice: the first run creates every user, the second finds them unchanged.
# Databases are created and dropped on BENCH_DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

users=${1:-10000}
runs=${2:-3}
admin_url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export PGOPTIONS="-c client_min_messages=warning"
base=${admin_url%/*}
trap 'psql -q "$admin_url" -c "DROP DATABASE IF EXISTS supahook_bench_source" -c "DROP DATABASE IF EXISTS supahook_bench_mirror"' EXIT

cargo build --release --locked --quiet
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS supahook_bench_source" -c "CREATE DATABASE supahook_bench_source"
psql -q "$base/supahook_bench_source" -f tests/sql/supabase_stand_ins.sql >/dev/null
psql -q "$base/supahook_bench_source" -c "
  INSERT INTO auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
  SELECT md5(i::text)::uuid, 'authenticated', 'authenticated', 'user' || i || '@example.com',
         '{\"provider\": \"email\", \"providers\": [\"email\"]}', jsonb_build_object('full_name', 'User ' || i),
         now(), now()
  FROM generate_series(1, $users) AS i"

for run in $(seq "$runs"); do
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS supahook_bench_mirror" -c "CREATE DATABASE supahook_bench_mirror"
    for pass in first second; do
        echo "== run $run, $pass pass"
        DATABASE_URL="$base/supahook_bench_mirror" RUST_LOG=warn \
            target/release/supahook reconcile --source-url "$base/supahook_bench_source" | head -1
    done
done
