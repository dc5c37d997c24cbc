#!/usr/bin/env bash
# Measures supahook's hot paths beside the database's own ceiling, in one run, and
# writes bench/RESULTS.md. bench/README.md says what each row measures.
#
#   bench/run.sh [OPTIONS]
#
#   --duration S       seconds per row (BENCH_DURATION, default 20, at most 240)
#   --connections N    concurrent connections of wrk and pgbench (BENCH_CONNECTIONS, 16)
#   --threads N        wrk and pgbench threads (BENCH_THREADS, default: the core count)
#   --users N          users seeded for the refreshes and updates (BENCH_USERS, 1000)
#   --preload N        users put in the tables with one SQL statement before any row,
#                      to measure on a big table (BENCH_PRELOAD, 0)
#   --signup-rate R    requests written per second of --duration for each hook row;
#   --refresh-rate R   a row that uses them all up is void, so keep them above what
#   --update-rate R    the server can do (BENCH_*_RATE; 20000, 100000 and 20000);
#                      --refresh-rate serves both refresh rows
#   --out FILE         where the results go (BENCH_OUT, bench/RESULTS.md)
#   --binary FILE      measure this supahook binary instead of building this checkout
#                      (BENCH_BINARY); alternate runs of two builds to compare two
#                      versions on one machine
#   --capture-sql      print the SQL supahook sends for one sign-up (from the
#                      PostgreSQL statement log) and stop, to keep bench/ceiling.sql true
#   --statement-stats  after each row that uses the database, print how often PostgreSQL
#                      planned and ran each statement and the time it spent on each
#                      (pg_stat_statements with track_planning; it costs some speed,
#                      so compare rows only with rows of a run that had it too)
#
# Needs PostgreSQL's server binaries, wrk, python3 and curl; PostgreSQL and wrk
# are installed with apt-get when missing. Everything runs on this machine: a
# private PostgreSQL cluster in a temporary directory (fsync and synchronous_commit
# on, the rest at its defaults), the release build, and the load generators.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
command_line="bench/run.sh${*:+ $*}"

log() { printf 'run.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

duration=${BENCH_DURATION:-20}
connections=${BENCH_CONNECTIONS:-16}
threads=${BENCH_THREADS:-$(nproc)}
users=${BENCH_USERS:-1000}
preload=${BENCH_PRELOAD:-0}
signup_rate=${BENCH_SIGNUP_RATE:-20000}
refresh_rate=${BENCH_REFRESH_RATE:-100000}
update_rate=${BENCH_UPDATE_RATE:-20000}
out=${BENCH_OUT:-bench/RESULTS.md}
bin=${BENCH_BINARY:-}
capture_sql=0
statement_stats=0

while [[ $# -gt 0 ]]; do
    case $1 in
        --duration) duration=${2:?}; shift 2 ;;
        --connections) connections=${2:?}; shift 2 ;;
        --threads) threads=${2:?}; shift 2 ;;
        --users) users=${2:?}; shift 2 ;;
        --preload) preload=${2:?}; shift 2 ;;
        --signup-rate) signup_rate=${2:?}; shift 2 ;;
        --refresh-rate) refresh_rate=${2:?}; shift 2 ;;
        --update-rate) update_rate=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        --binary) bin=${2:?}; shift 2 ;;
        --capture-sql) capture_sql=1; shift ;;
        --statement-stats) statement_stats=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

for name in duration connections threads users preload signup_rate refresh_rate update_rate; do
    [[ ${!name} =~ ^[0-9]+$ ]] || die "--${name//_/-} must be a whole number, not '${!name}'"
done
((duration >= 1 && duration <= 240)) ||
    die "--duration must be 1 to 240 s: requests are signed just before their row, and a hook takes a timestamp at most 300 s old"
((connections >= 1 && users >= 1 && threads >= 1)) || die "--connections, --users and --threads must be at least 1"
((threads <= connections)) || threads=$connections

# shellcheck source=scripts/lib/postgres.sh
. scripts/lib/postgres.sh

command -v python3 >/dev/null || die "python3 not found (it writes the signed requests)"
command -v curl >/dev/null || apt_install "curl not found" curl
command -v wrk >/dev/null || apt_install "wrk not found" wrk
pgbench=$(pg_program pgbench 2>/dev/null) || pgbench=""
psql_bin=$(pg_program psql 2>/dev/null) || psql_bin=""
if [[ -z $pgbench || -z $psql_bin ]]; then
    apt_install "pgbench or psql not found" postgresql
    pgbench=$(pg_program pgbench) || die "pgbench still not found after installing postgresql"
    psql_bin=$(pg_program psql) || die "psql still not found after installing postgresql"
fi

# A fixed secret: these requests are signed for this run's private server alone.
secret="v1,whsec_$(printf 'supahook-bench-signing-key-not-a-secret' | base64 -w0)"
work=""
server_pid=""
claims_pid=""
events_pid=""
receiver_pid=""

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    local pid
    for pid in $server_pid $claims_pid $events_pid $receiver_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pg_cluster_stop
    [[ -n $work ]] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [[ -n $bin ]]; then
    built_from="the binary $bin"
else
    log "building the release binary"
    cargo build --release --locked --quiet
    bin=${CARGO_TARGET_DIR:-target}/release/supahook
    built_from="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ', with local changes')"
fi
[[ -x $bin ]] || die "no supahook binary at $bin"
log "building the webhook receiver (bench/receiver.rs)"
cargo build --release --locked --quiet --example bench-receiver
receiver_bin=${CARGO_TARGET_DIR:-target}/release/examples/bench-receiver

work=$(mktemp -d "${TMPDIR:-/tmp}/supahook-bench.XXXXXX")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "starting a private PostgreSQL cluster (fsync=on, synchronous_commit=on)"
stats_options=()
((statement_stats)) && stats_options=(shared_preload_libraries=pg_stat_statements pg_stat_statements.track_planning=on)
pg_cluster_start 56432 fsync=on synchronous_commit=on "${stats_options[@]}"
db_url="postgres://postgres@127.0.0.1:$PG_PORT/supahook_bench"
sql() { "$psql_bin" "$db_url" -qAtX -v ON_ERROR_STOP=1 "$@"; }
"$psql_bin" "$PG_URL" -qAtX -c "CREATE DATABASE supahook_bench" >/dev/null

free_port() {
    local port
    for port in $(seq 18480 18579); do
        port_in_use "$port" || { echo "$port"; return 0; }
    done
    die "no free port for supahook in 18480-18579"
}

# start_supahook PORT NAME [VAR=VALUE...]: supahook serving on PORT, logging to
# $work/NAME.log with its data in $work/NAME, until it is ready; sets started_pid.
start_supahook() {
    local port=$1 name=$2 url="http://127.0.0.1:$1"
    shift 2
    log "starting supahook on $url${*:+ with $*}"
    env DATABASE_URL="$db_url" SUPAHOOK_LISTEN_ADDR="127.0.0.1:$port" SUPAHOOK_HOOK_SECRETS="$secret" \
        SUPAHOOK_LOG_FORMAT=json RUST_LOG=warn SUPAHOOK_DATA_DIR="$work/$name" "$@" \
        "$bin" serve >"$work/$name.log" 2>&1 &
    started_pid=$!
    for _ in $(seq 1 100); do
        curl -fsS "$url/health/ready" >/dev/null 2>&1 && break
        kill -0 "$started_pid" 2>/dev/null || { cat "$work/$name.log" >&2; die "supahook exited at start"; }
        sleep 0.2
    done
    curl -fsS "$url/health/ready" >/dev/null || { cat "$work/$name.log" >&2; die "supahook did not become ready"; }
}

app_port=$(free_port) || exit 1
app="http://127.0.0.1:$app_port"
start_supahook "$app_port" supahook
server_pid=$started_pid

tag=$(date -u +%Y%m%d%H%M%S)
requests() { python3 bench/requests.py "$@" --secret "$secret" --host "127.0.0.1:$app_port" --users "$users" --tag "${request_tag:-$tag}"; }
replay() {
    "$bin" replay "$1" --hook "$2" --url "$app" --secret "$secret" --concurrency "$connections" \
        >"$work/replay.log" 2>&1 || { cat "$work/replay.log" >&2; die "replaying $1 failed"; }
}

if [[ $capture_sql -eq 1 ]]; then
    requests signups --count 1 --jsonl --out "$work/one.jsonl"
    log_start=$(wc -c <"$PG_TMP/postgres.log")
    sql -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    replay "$work/one.jsonl" before-user-created
    sql -c "ALTER SYSTEM RESET log_statement" -c "SELECT pg_reload_conf()" >/dev/null
    tail -c +"$((log_start + 1))" "$PG_TMP/postgres.log" |
        grep -E 'LOG:  (statement|execute)|DETAIL:  [Pp]arameters' | grep -v 'ALTER SYSTEM' |
        sed -E 's/^.*(LOG|DETAIL):  //'
    exit 0
fi

status_kb() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$server_pid/status"; }
idle_rss_kb=$(status_kb VmRSS)

if ((preload > 0)); then
    log "preloading $preload users and their profiles"
    sql <<SQL
WITH preloaded AS (
    INSERT INTO users (id, email, first_name, last_name, auth_provider, providers, user_metadata,
                       app_metadata, auth_created_at, source_updated_at, activity_updated_at)
    SELECT gen_random_uuid(), 'preload-' || i || '@example.com', 'Preloaded', 'User ' || i, 'email',
           '{email}', jsonb_build_object('full_name', 'Preloaded User ' || i),
           '{"provider": "email", "providers": ["email"]}', now() - interval '30 days',
           now() - interval '1 day', now() - interval '1 day'
    FROM generate_series(1, $preload) AS i
    RETURNING id, first_name || ' ' || last_name AS display_name
)
INSERT INTO profiles (user_id, display_name) SELECT id, display_name FROM preloaded;
SQL
    sql -c "VACUUM ANALYZE users" -c "VACUUM ANALYZE profiles"
fi

log "seeding $users users through custom-access-token"
requests seed --out "$work/seed.jsonl"
replay "$work/seed.jsonl" custom-access-token

# Writing 5 to clear_refs resets the peak RSS (VmHWM), so each row reports its own.
rss_note="each row's own peak (VmHWM, reset before the row)"
reset_peak() { echo 5 >"/proc/$server_pid/clear_refs" 2>/dev/null || rss_note="peak since start (VmHWM; could not reset it)"; }

((statement_stats)) && sql -c "CREATE EXTENSION pg_stat_statements"

# Every row starts after a checkpoint, so none pays for the previous row's writes.
before_row() {
    sql -c CHECKPOINT
    reset_peak
    ((statement_stats == 0)) || sql -c "SELECT pg_stat_statements_reset()" >/dev/null
}

# With --statement-stats: what PostgreSQL spent on each statement during row $1.
print_statement_stats() {
    ((statement_stats)) || return 0
    log "$1: statements by time spent (pg_stat_statements)"
    "$psql_bin" "$db_url" -qX -v ON_ERROR_STOP=1 -P footer=off <<SQL >&2
SELECT calls, plans, round(total_plan_time::numeric) AS plan_ms,
       round(total_exec_time::numeric) AS exec_ms,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS statement
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY total_plan_time + total_exec_time DESC
LIMIT 15
SQL
}

declare -A sent


record() {
    local line
    line=$(cat)
    printf '%s\n' "$line" >>"$work/rows.jsonl"
    log "$(python3 bench/report.py summary "$line")"
}

# hook_row ROW RATE [KIND]: the row's requests are bench/requests.py's KIND (ROW).
hook_row() {
    local row=$1 count=$(($2 * duration)) kind=${3:-$1}
    log "$row: writing $count signed requests"
    requests "$kind" --count "$count" --threads "$threads" --out "$work/$row"
    sent["$row"]=$count
    before_row
    log "$row: ${duration} s, $connections connections"
    wrk -t "$threads" -c "$connections" -d "${duration}s" --timeout 10s -s bench/wrk.lua "$app/" -- "$work/$row" \
        >"$work/$row.wrk" 2>&1 || { cat "$work/$row.wrk" >&2; die "wrk failed on $row"; }
    python3 bench/report.py wrk "$row" "$(status_kb VmHWM)" <"$work/$row.wrk" | record
    print_statement_stats "$row"
    rm -f "$work/$row".[0-9]*
}

hook_row signups "$signup_rate"

# Confirmed sign-ups (trigger INSERTs of new users) three ways: served by a second
# supahook with events off (SUPAHOOK_EVENTS_TYPES=none), by the first one, which
# records each user.created in the outbox (the default), and by a third one that also
# pushes every event as a signed webhook to a receiver on loopback answering 200 at
# once (bench/receiver.rs): what recording and delivering events cost the sign-ups.
# The first supahook idles while another serves.
main_app=$app main_pid=$server_pid
quiet_port=$(free_port) || exit 1
start_supahook "$quiet_port" supahook-no-events SUPAHOOK_EVENTS_TYPES=none
events_pid=$started_pid
app="http://127.0.0.1:$quiet_port" server_pid=$events_pid
request_tag="${tag}n" hook_row confirmed-signups "$signup_rate"
kill "$events_pid" && wait "$events_pid" 2>/dev/null || true
app=$main_app server_pid=$main_pid events_pid=""
hook_row signups-recorded "$signup_rate" confirmed-signups
receiver_port=$(free_port) || exit 1
"$receiver_bin" "127.0.0.1:$receiver_port" >"$work/receiver.log" 2>&1 &
receiver_pid=$!
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$receiver_port/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$receiver_port/" >/dev/null || die "the webhook receiver did not start"
events_port=$(free_port) || exit 1
start_supahook "$events_port" supahook-events \
    SUPAHOOK_EVENTS_ENDPOINTS="http://127.0.0.1:$receiver_port/hook" \
    SUPAHOOK_EVENTS_SECRETS="whsec_$(printf 'supahook-bench-events-key-not-a-secret' | base64 -w0)"
events_pid=$started_pid
app="http://127.0.0.1:$events_port" server_pid=$events_pid
request_tag="${tag}e" hook_row signups-events "$signup_rate" confirmed-signups
sleep 2 # the last events on their way
pushed=$(curl -fsS "http://127.0.0.1:$receiver_port/" || echo "?")
# Waiting: in the retry queue, or recorded after the endpoint's cursor and not sent yet.
waiting=$(sql -c "SELECT (SELECT count(*) FROM push_deliveries WHERE state = 'pending') \
    + (SELECT count(*) FROM outbox_events o JOIN push_endpoints e ON o.position > e.queued_through \
       WHERE e.disabled_at IS NULL)")
log "signups-events: the receiver took $pushed webhooks; $waiting events still waiting"
kill "$events_pid" && wait "$events_pid" 2>/dev/null || true
kill "$receiver_pid" && wait "$receiver_pid" 2>/dev/null || true
app=$main_app server_pid=$main_pid events_pid="" receiver_pid=""

log "ceiling: pgbench, ${duration} s, $connections clients"
before_row
"$pgbench" -n -M prepared -c "$connections" -j "$threads" -T "$duration" -f bench/ceiling.sql \
    --log --log-prefix="$work/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres supahook_bench \
    >"$work/pgbench.out" 2>&1 || { cat "$work/pgbench.out" >&2; die "pgbench failed"; }
python3 bench/report.py pgbench ceiling "$work/pgbench" <"$work/pgbench.out" | record
print_statement_stats ceiling

hook_row refreshes "$refresh_rate"

# The refreshes again, served by a second supahook that adds a claim from the
# application's own table (SUPAHOOK_TOKEN_CLAIMS_QUERY), with the claims kept longer
# than the row and warmed by one token per user first: the cost of the claims
# mechanism when the cache answers. The first supahook idles meanwhile.
sql -c "CREATE TABLE user_roles (user_id uuid PRIMARY KEY, role text NOT NULL)" \
    -c "INSERT INTO user_roles SELECT id, 'editor' FROM users"
main_app=$app main_pid=$server_pid
claims_port=$(free_port) || exit 1
start_supahook "$claims_port" supahook-claims SUPAHOOK_TOKEN_CLAIMS_TTL=600 \
    SUPAHOOK_TOKEN_CLAIMS_QUERY="SELECT jsonb_build_object('role', role) FROM user_roles WHERE user_id = \$1"
claims_pid=$started_pid
app="http://127.0.0.1:$claims_port" server_pid=$claims_pid
sleep 1 # both listeners up, so that what the warm-up computes is kept
requests refreshes-claims --count "$users" --jsonl --out "$work/warm.jsonl"
replay "$work/warm.jsonl" custom-access-token
hook_row refreshes-claims "$refresh_rate"
kill "$claims_pid" && wait "$claims_pid" 2>/dev/null || true
app=$main_app server_pid=$main_pid claims_pid=""
# After the claims row: its tokens follow the plain refreshes' rounds, while these lie
# in the last minute, newer than both, so none of the claims row's tokens is stale.
hook_row reordered-refreshes "$refresh_rate"
hook_row updates "$update_rate"

log "http-ceiling: GET /health/live, ${duration} s"
reset_peak
wrk -t "$threads" -c "$connections" -d "${duration}s" -s bench/wrk.lua "$app/health/live" >"$work/http.wrk" 2>&1 ||
    { cat "$work/http.wrk" >&2; die "wrk failed on /health/live"; }
python3 bench/report.py wrk http-ceiling "$(status_kb VmHWM)" <"$work/http.wrk" | record

# Every sign-up answered `created` must be a users row with its profile and a
# ledger entry; rows may exceed the answers by the requests still in flight when
# wrk stopped, never the requests sent.
accepted=$(python3 -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["row"] == "signups": print(r["outcomes"].get("created", 0))' "$work/rows.jsonl")
read -r mirrored with_profile < <(sql -F ' ' -c "
    SELECT count(*), count(p.user_id) FROM users u LEFT JOIN profiles p ON p.user_id = u.id
    WHERE u.email LIKE 'signup-$tag-%' AND u.deleted_at IS NULL")
ledger=$(sql -c "
    SELECT count(*) FROM webhook_events e JOIN users u ON u.id = e.user_id
    WHERE e.hook = 'before-user-created' AND e.outcome = 'created' AND u.email LIKE 'signup-$tag-%'")
check_ok=1
check="$accepted sign-ups answered \`created\`; $mirrored users rows, $with_profile of them with a profile; $ledger ledger entries"
if ((with_profile != mirrored || mirrored < accepted || mirrored > sent[signups] || ledger != mirrored)); then
    check_ok=0
    check="FAILED: $check"
else
    check="passed: $check"
fi

exhausted=$(python3 -c 'import json,sys
print(" ".join(r["row"] for r in map(json.loads, open(sys.argv[1])) if r["exhausted_threads"]))' "$work/rows.jsonl")
unexpected=$(python3 -c 'import json,sys
print(" ".join(r["row"] for r in map(json.loads, open(sys.argv[1])) if r.get("unexpected")))' "$work/rows.jsonl")

wrk_version=$({ wrk -v 2>&1 || true; } | awk 'NR == 1 { print $2 }')  # wrk -v exits 1
python3 - "$work/meta.json" <<PY
import json, sys
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
json.dump({
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "cores": $(nproc),
    "cpu": cpu,
    "memory": f"{mem_kb / 1048576:.0f} GiB",
    "postgres": "$(sql -c 'SHOW server_version')",
    "supahook": "$("$bin" --version) ($built_from)",
    "load": "wrk $wrk_version, $threads threads, $connections connections, $duration s per row; pgbench -M prepared, $connections clients, $threads threads; $users seeded users; ${preload} users preloaded; peak RSS is $rss_note",
    "command": "$command_line",
    "loadavg": "$load_before before the run, $(cut -d' ' -f1-3 /proc/loadavg) after it",
    "idle_rss_kb": int("${idle_rss_kb:-0}"),
    "signup_check": "$check",
}, open(sys.argv[1], "w"), indent=1)
PY
python3 bench/report.py write "$work/meta.json" "$work/rows.jsonl" >"$out"
log "wrote $out"
cat "$out"

[[ -z $exhausted ]] || die "rows void, they ran out of pre-signed requests: $exhausted (raise their --*-rate)"
[[ -z $unexpected ]] || die "rows void, answered outside what they measure (see Answers by outcome): $unexpected"
[[ $check_ok -eq 1 ]] || die "sign-up check $check"
