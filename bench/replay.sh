#!/usr/bin/env bash
# Replay throughput of the release build, on SQLite and on PostgreSQL.
#
#   bench/replay.sh [EVENTS] [CONCURRENCY] [RUNS]
#
# For each backend: start `supahook serve` on a fresh database, replay EVENTS
# sign-ins of distinct users (each creates a user), then the same file again
# (each is a duplicate), RUNS times on fresh databases. Prints replay's own
# summaries; quote the median of the runs. PostgreSQL comes from
# BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# where a throwaway database is created and dropped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

events=${1:-5000}
concurrency=${2:-16}
runs=${3:-3}
admin_url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export PGOPTIONS="-c client_min_messages=warning"
port=18181
work=$(mktemp -d)
server=""

cleanup() {
    [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --locked --quiet
bin=target/release/supahook
python3 bench/events.py "$events" > "$work/events.jsonl"
export SUPAHOOK_LISTEN_ADDR="127.0.0.1:$port" SUPAHOOK_DATA_DIR="$work/data" RUST_LOG=warn
export SUPAHOOK_HOOK_SECRETS="v1,whsec_$(head -c 32 /dev/urandom | base64)"

start() {
    "$bin" serve >"$work/serve.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do
        curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && return
        sleep 0.1
    done
    cat "$work/serve.log"; exit 1
}

stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }

for backend in sqlite postgres; do
    for run in $(seq "$runs"); do
        if [[ $backend == sqlite ]]; then
            rm -rf "$work/data"
            export DATABASE_URL="sqlite://$work/data/supahook.db"
        else
            name="supahook_bench_$run"
            psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
            export DATABASE_URL="${admin_url%/*}/$name"
        fi
        start
        echo "== $backend, run $run: $events new users, concurrency $concurrency"
        "$bin" replay "$work/events.jsonl" --concurrency "$concurrency" | grep -E 'accepted|throughput|latency'
        echo "-- the same file again (all duplicates)"
        "$bin" replay "$work/events.jsonl" --concurrency "$concurrency" | grep -E 'duplicates|throughput|latency'
        stop
        [[ $backend == postgres ]] && psql -q "$admin_url" -c "DROP DATABASE $name"
    done
done
