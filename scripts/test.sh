#!/usr/bin/env bash
# Runs the test suite against a PostgreSQL server, then the behaviour suites
# (hooks, provisional, user_states, rejections, read_api, db_webhooks, ordering, convergence, reconcile, fast_path, group_commit, users_sync, users_api, open_mode, hostile_input, console, token_claims, event_nats, outbox, event_push) again on SQLite (SUPAHOOK_TEST_BACKEND=sqlite),
# then the console's browser test (scripts/browser-test.sh) on the same PostgreSQL, then the
# example consumers' test (scripts/consumers-test.sh, at most 10 minutes).
#
# Which server, in this order:
#   1. TEST_DATABASE_URL, if set (it must be reachable);
#   2. postgres://postgres@127.0.0.1:5432/postgres, if reachable;
#   3. a private throwaway cluster in a temporary directory, on a free port
#      from 55432 up, stopped and removed when this script exits. PostgreSQL's
#      server binaries are installed with apt-get if none are found.
#
# tests/event_nats.rs needs a NATS server with JetStream: TEST_NATS_URL if set (it must
# be reachable), else nats://127.0.0.1:4222 if reachable, else a private `nats-server -js`
# on a free port, stopped when this script exits (scripts/lib/nats.sh).
#
# SUPAHOOK_TEST_PRIVATE_PG=1 skips 1 and 2 and always uses a private cluster.
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh -- --nocapture`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEFAULT_URL="postgres://postgres@127.0.0.1:5432/postgres"

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints the URL with any password replaced by ***.
redact() { sed -E 's#^([a-zA-Z][a-zA-Z0-9+.-]*://[^:@/]*):[^@/]*@#\1:***@#' <<<"$1"; }

# shellcheck source=scripts/lib/postgres.sh
. scripts/lib/postgres.sh
# shellcheck source=scripts/lib/nats.sh
. scripts/lib/nats.sh

stop_servers() {
    pg_cluster_stop
    nats_stop
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

start_private_cluster() {
    # Durability off: a test cluster is thrown away, and fsync only slows the suite.
    pg_cluster_start 55432 fsync=off synchronous_commit=off full_page_writes=off
    export TEST_DATABASE_URL="$PG_URL"
}

if [[ "${SUPAHOOK_TEST_PRIVATE_PG:-0}" == 1 ]]; then
    start_private_cluster
    which_pg="private cluster in $PG_TMP (SUPAHOOK_TEST_PRIVATE_PG=1)"
elif [[ -n "${TEST_DATABASE_URL:-}" ]]; then
    reachable "$TEST_DATABASE_URL" ||
        die "TEST_DATABASE_URL is set but $(redact "$TEST_DATABASE_URL") is not accepting connections"
    export TEST_DATABASE_URL
    which_pg="TEST_DATABASE_URL"
elif reachable "$DEFAULT_URL"; then
    export TEST_DATABASE_URL="$DEFAULT_URL"
    which_pg="local server"
else
    start_private_cluster
    which_pg="private cluster in $PG_TMP"
fi

log "using PostgreSQL at $(redact "$TEST_DATABASE_URL") ($which_pg)"
nats_up
log "using NATS at $(redact "$TEST_NATS_URL")"

started=$SECONDS
status=0
failed_step=""
cargo test --locked "$@" || { status=$?; failed_step="cargo test on PostgreSQL"; }
if [[ $status -eq 0 ]]; then
    log "running the behaviour suites again on SQLite"
    SUPAHOOK_TEST_BACKEND=sqlite cargo test --locked --test hooks --test provisional --test user_states --test rejections --test read_api --test db_webhooks --test ordering --test convergence --test reconcile --test fast_path --test group_commit --test users_sync --test users_api --test open_mode --test hostile_input --test console --test token_claims --test event_nats --test outbox --test event_push "$@" ||
        { status=$?; failed_step="the behaviour suites on SQLite"; }
fi
if [[ $status -eq 0 ]]; then
    log "running the console's browser test"
    scripts/browser-test.sh || { status=$?; failed_step="the browser test"; }
fi
if [[ $status -eq 0 ]]; then
    log "running the example consumers' test"
    timeout 600 scripts/consumers-test.sh || { status=$?; failed_step="the example consumers' test"; }
fi
if [[ $status -eq 0 ]]; then
    log "PASSED: every test passed on PostgreSQL and SQLite in $((SECONDS - started)) s"
else
    log "FAILED: $failed_step (exit $status) after $((SECONDS - started)) s; the failing tests are listed above"
fi
exit "$status"
