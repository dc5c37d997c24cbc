#!/usr/bin/env bash
# The custom-access-token path with and without the profile claim, on PostgreSQL.
#
#   bench/token-path.sh [EVENTS] [CONCURRENCY] [RUNS]
#
# For each setting (SUPAHOOK_TOKEN_PROFILE_CLAIM unset, then app_profile), RUNS
# times on a fresh database: sign EVENTS new users in, then replay the same tokens
# as new deliveries (`--new-ids`): the refresh of a user with nothing new, the
# path every token refresh takes. Prints replay's summaries of the refreshes;
# quote the median of the runs. PostgreSQL comes from BENCH_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/postgres); a throwaway database is created
# and dropped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

events=${1:-5000}
concurrency=${2:-16}
runs=${3:-3}
admin_url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export PGOPTIONS="-c client_min_messages=warning"
port=18182
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

for claim in "" app_profile; do
    for run in $(seq "$runs"); do
        name="supahook_bench_token_$run"
        psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
        export DATABASE_URL="${admin_url%/*}/$name"
        if [[ -n "$claim" ]]; then export SUPAHOOK_TOKEN_PROFILE_CLAIM="$claim"; else unset SUPAHOOK_TOKEN_PROFILE_CLAIM; fi
        start
        "$bin" replay "$work/events.jsonl" --concurrency "$concurrency" >/dev/null
        echo "== profile claim '${claim:-off}', run $run: $events refreshes, concurrency $concurrency"
        "$bin" replay "$work/events.jsonl" --new-ids --concurrency "$concurrency" | grep -E 'accepted|throughput|latency'
        stop
        psql -q "$admin_url" -c "DROP DATABASE $name"
    done
done
