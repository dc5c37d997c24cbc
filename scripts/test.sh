#!/usr/bin/env bash
# Runs the test suite against a PostgreSQL server, then the behaviour suites
# (hooks, rejections, read_api, db_webhooks, ordering, users_sync, users_api) again on SQLite (SUPAHOOK_TEST_BACKEND=sqlite).
#
# Which server, in this order:
#   1. TEST_DATABASE_URL, if set (it must be reachable);
#   2. postgres://postgres@127.0.0.1:5432/postgres, if reachable;
#   3. a private throwaway cluster in a temporary directory, on a free port
#      from 55432 up, stopped and removed when this script exits. PostgreSQL's
#      server binaries are installed with apt-get if none are found.
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

# Prints the path of a PostgreSQL program: from the highest version under
# /usr/lib/postgresql, else from PATH. Fails if there is none.
pg_program() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/$1" ]]; then
        printf '%s\n' "$dir/$1"
    else
        command -v "$1"
    fi
}

# Succeeds if a PostgreSQL server accepts connections for the given URL.
reachable() {
    local prog
    if prog=$(pg_program pg_isready); then
        "$prog" -q -t 3 -d "$1"
    elif prog=$(pg_program psql); then
        PGCONNECT_TIMEOUT=3 "$prog" "$1" -qAtX -c 'select 1' >/dev/null 2>&1
    else
        log "neither pg_isready nor psql found; assuming $(redact "$1") is reachable"
    fi
}

install_postgres() {
    local sudo=()
    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null ||
            die "PostgreSQL server binaries (initdb, pg_ctl) not found and not root: install PostgreSQL (Debian: apt-get install postgresql) or set TEST_DATABASE_URL"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null ||
        die "PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL or set TEST_DATABASE_URL"
    log "PostgreSQL server binaries not found; installing Debian's postgresql package"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

# Set by start_private_cluster; read by cleanup.
PG_TMP=""
PG_CTL=""
PG_STARTED=0

# Runs a command as the cluster's owner: the postgres OS user when root.
as_owner() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    if [[ $PG_STARTED -eq 1 ]]; then
        as_owner "$PG_CTL" -D "$PG_TMP/data" stop -m fast -w -t 30 >/dev/null 2>&1 ||
            as_owner "$PG_CTL" -D "$PG_TMP/data" stop -m immediate -w -t 30 >/dev/null 2>&1 || true
    fi
    if [[ -n "$PG_TMP" ]]; then
        rm -rf "$PG_TMP" || true
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_private_cluster() {
    local initdb port
    if ! initdb=$(pg_program initdb) || ! PG_CTL=$(pg_program pg_ctl); then
        install_postgres
        initdb=$(pg_program initdb) || die "initdb still not found after installing postgresql"
        PG_CTL=$(pg_program pg_ctl) || die "pg_ctl still not found after installing postgresql"
    fi

    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP

    if [[ $EUID -eq 0 ]]; then
        command -v runuser >/dev/null || die "runuser not found (needed to run PostgreSQL as the postgres user)"
        if ! id -u postgres >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin postgres
        fi
        # Under /tmp so that the postgres user can reach it whatever TMPDIR is.
        PG_TMP=$(mktemp -d /tmp/supahook-pg.XXXXXX)
    else
        PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/supahook-pg.XXXXXX")
    fi
    mkdir "$PG_TMP/data" "$PG_TMP/sock"
    if [[ $EUID -eq 0 ]]; then
        chown -R postgres: "$PG_TMP"
    fi

    as_owner "$initdb" -D "$PG_TMP/data" --auth=trust -U postgres -E UTF8 --locale=C \
        >"$PG_TMP/initdb.log" 2>&1 || { cat "$PG_TMP/initdb.log" >&2; die "initdb failed"; }

    # Probe upward from 55432; retry on the next port if another process takes
    # the chosen one before the server binds it.
    for port in $(seq 55432 55531); do
        port_in_use "$port" && continue
        rm -f "$PG_TMP/postgres.log"
        if as_owner "$PG_CTL" -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" -w -t 60 start \
            -o "-p $port -k '$PG_TMP/sock' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            >/dev/null 2>&1; then
            PG_STARTED=1
            break
        fi
        # A failed start may still have left a server that is shutting down.
        as_owner "$PG_CTL" -D "$PG_TMP/data" stop -m immediate -w >/dev/null 2>&1 || true
        if ! grep -qiE 'address already in use|could not create any TCP/IP sockets' "$PG_TMP/postgres.log" 2>/dev/null; then
            cat "$PG_TMP/postgres.log" >&2 2>/dev/null || true
            die "could not start a private PostgreSQL cluster"
        fi
    done
    [[ $PG_STARTED -eq 1 ]] || die "no free port for a private PostgreSQL cluster in 55432-55531"

    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
    for _ in $(seq 1 60); do
        reachable "$TEST_DATABASE_URL" && return 0
        sleep 0.5
    done
    cat "$PG_TMP/postgres.log" >&2 2>/dev/null || true
    die "private PostgreSQL cluster on port $port did not become ready"
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

started=$SECONDS
status=0
failed_step=""
cargo test --locked "$@" || { status=$?; failed_step="cargo test on PostgreSQL"; }
if [[ $status -eq 0 ]]; then
    log "running the behaviour suites again on SQLite"
    SUPAHOOK_TEST_BACKEND=sqlite cargo test --locked --test hooks --test rejections --test read_api --test db_webhooks --test ordering --test convergence --test fast_path --test group_commit --test users_sync --test users_api "$@" ||
        { status=$?; failed_step="the behaviour suites on SQLite"; }
fi
if [[ $status -eq 0 ]]; then
    log "PASSED: every test passed on PostgreSQL and SQLite in $((SECONDS - started)) s"
else
    log "FAILED: $failed_step (exit $status) after $((SECONDS - started)) s; the failing tests are listed above"
fi
exit "$status"
