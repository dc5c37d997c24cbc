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

port=18182
# shellcheck source=bench/lib/replay-server.sh
. bench/lib/replay-server.sh

for claim in "" app_profile; do
    for run in $(seq "$runs"); do
        name="supahook_bench_token_$run"
        psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
        export DATABASE_URL="${admin_url%/*}/$name"
        if [[ -n "$claim" ]]; then export SUPAHOOK_TOKEN_PROFILE_CLAIM="$claim"; else unset SUPAHOOK_TOKEN_PROFILE_CLAIM; fi
        start
        "$bin" replay "$work/events.jsonl" --concurrency "$concurrency" >/dev/null
        echo "== profile claim '${claim:-off}', run $run: $events refreshes, concurrency $concurrency"
        "$bin" replay "$work/events.jsonl" --new-ids --concurrency "$concurrency" | grep -E '^(created|updated|unchanged|duplicate|stale|spooled)|throughput|latency'
        stop
        psql -q "$admin_url" -c "DROP DATABASE $name"
    done
done
