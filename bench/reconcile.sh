#!/usr/bin/env bash
# `supahook reconcile` (release build) over a stand-in auth.users, beside what
# PostgreSQL itself does with the same rows.
#
#   bench/reconcile.sh [USERS]        (default 100000)
#
# Builds a Supabase-like source database (tests/sql/supabase_stand_ins.sql) holding
# USERS rows last changed a day ago, then prints, in one run:
#   ceiling     INSERT ... SELECT of every user and profile from auth.users into
#               supahook's tables (migrated into the source database, so that one
#               statement reaches both), in one transaction: the fastest PostgreSQL
#               writes these rows on this machine;
#   first       `reconcile` into an empty mirror database: every user created;
#   unchanged   `reconcile` again: every user found unchanged, nothing written;
#   incremental `reconcile --incremental` after 1% of the users changed upstream.
# Each pass is timed from the shell (process start to exit). Databases are created
# and dropped on BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
# BENCH_BINARY runs that build of supahook instead of building target/release/supahook.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

users=${1:-100000}
admin_url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export PGOPTIONS="-c client_min_messages=warning"
base=${admin_url%/*}
source_url="$base/supahook_bench_source"
mirror_url="$base/supahook_bench_mirror"
binary=${BENCH_BINARY:-target/release/supahook}
trap 'psql -q "$admin_url" -c "DROP DATABASE IF EXISTS supahook_bench_source" -c "DROP DATABASE IF EXISTS supahook_bench_mirror"' EXIT

[[ -n ${BENCH_BINARY:-} ]] || cargo build --release --locked --quiet
for db in supahook_bench_source supahook_bench_mirror; do
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
done
psql -q "$source_url" -f tests/sql/supabase_stand_ins.sql >/dev/null
psql -q "$source_url" -c "
  INSERT INTO auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
  SELECT md5(i::text)::uuid, 'authenticated', 'authenticated', 'user' || i || '@example.com',
         '{\"provider\": \"email\", \"providers\": [\"email\"]}', jsonb_build_object('full_name', 'User ' || i),
         now() - interval '1 day', now() - interval '1 day'
  FROM generate_series(1, $users) AS i"
psql -q "$source_url" -c "VACUUM ANALYZE auth.users"

now() { date +%s.%N; }
seconds_since() { echo "$(now) - $1" | bc; }

# The ceiling: supahook's tables in the source database, filled from auth.users
# with the columns supahook would write.
DATABASE_URL="$source_url" RUST_LOG=warn "$binary" migrate >/dev/null
started=$(now)
psql -q "$source_url" -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
INSERT INTO users (id, email, phone, first_name, last_name, avatar_url, auth_provider,
    providers, is_anonymous, email_confirmed_at, phone_confirmed_at, last_sign_in_at,
    user_metadata, app_metadata, auth_created_at, source_updated_at, activity_updated_at,
    created_at, updated_at)
SELECT id, nullif(email, ''), nullif(phone, ''),
    split_part(raw_user_meta_data->>'full_name', ' ', 1),
    nullif(substr(raw_user_meta_data->>'full_name', strpos(raw_user_meta_data->>'full_name', ' ') + 1), ''),
    raw_user_meta_data->>'avatar_url', raw_app_meta_data->>'provider',
    ARRAY(SELECT jsonb_array_elements_text(coalesce(raw_app_meta_data->'providers', '[]'))),
    is_anonymous, email_confirmed_at, phone_confirmed_at, last_sign_in_at,
    coalesce(raw_user_meta_data, '{}'), coalesce(raw_app_meta_data, '{}'), created_at,
    coalesce(updated_at, created_at), coalesce(updated_at, created_at), now(), now()
FROM auth.users;
INSERT INTO profiles (user_id, display_name, avatar_url, created_at, updated_at)
SELECT id, concat_ws(' ', first_name, last_name), avatar_url, now(), now() FROM users;
COMMIT;
SQL
ceiling=$(seconds_since "$started")
psql -q "$source_url" -c "DROP TABLE profiles, users, webhook_events, deleted_users, reconcile_marks, __diesel_schema_migrations"

# Runs one pass named $1 with the options that follow; prints its seconds, keeps
# supahook's summary in $out/$1 (its progress lines in $out/$1.err).
out=$(mktemp -d)
pass() {
    local name=$1 started
    shift
    started=$(now)
    DATABASE_URL="$mirror_url" RUST_LOG=warn "$binary" reconcile --source-url "$source_url" "$@" \
        >"$out/$name" 2>"$out/$name.err" || { cat "$out/$name.err" >&2; exit 1; }
    seconds_since "$started"
}
first=$(pass first)
unchanged=$(pass unchanged)
changed=$(psql -qtA "$source_url" -c "
  UPDATE auth.users SET raw_user_meta_data = raw_user_meta_data || '{\"plan\": \"pro\"}', updated_at = now()
  WHERE hashtext(id::text) % 100 = 0 RETURNING 1" | wc -l)
incremental=$(pass incremental --incremental)

echo "== reconcile of $users users ($(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg))"
sed 's/^/first:       /' "$out/first" | sed -n '1p;2p'
sed 's/^/unchanged:   /' "$out/unchanged" | sed -n '1p;4p'
sed 's/^/incremental: /' "$out/incremental" | sed -n '1p;3p'
rm -r "$out"
rate() { echo "$1 / $2" | bc; }
ratio() { echo "scale=2; $2 / $1" | bc; }
printf '%-12s %9s %12s %12s\n' pass seconds "users/s" "x ceiling"
printf '%-12s %9.2f %12d %12s\n' ceiling "$ceiling" "$(rate "$users" "$ceiling")" 1.00
printf '%-12s %9.2f %12d %12s\n' first "$first" "$(rate "$users" "$first")" "$(ratio "$first" "$ceiling")"
printf '%-12s %9.2f %12d %12s\n' unchanged "$unchanged" "$(rate "$users" "$unchanged")" "$(ratio "$unchanged" "$ceiling")"
printf '%-12s %9.2f %12s %12s  (%d users changed upstream; %sx the unchanged pass'"'"'s time)\n' \
    incremental "$incremental" - - "$changed" "$(ratio "$unchanged" "$incremental")"
