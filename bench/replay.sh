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

port=18181
# shellcheck source=bench/lib/replay-server.sh
. bench/lib/replay-server.sh

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
        "$bin" replay "$work/events.jsonl" --concurrency "$concurrency" | grep -E '^(created|updated|unchanged|duplicate|stale|spooled)|throughput|latency'
        echo "-- the same file again (all duplicates)"
        "$bin" replay "$work/events.jsonl" --concurrency "$concurrency" | grep -E '^duplicate|throughput|latency'
        stop
        [[ $backend == postgres ]] && psql -q "$admin_url" -c "DROP DATABASE $name"
    done
done
