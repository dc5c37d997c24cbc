# shellcheck shell=bash
# Private PostgreSQL clusters for scripts/test.sh and bench/run.sh: find or install
# the server binaries, start a throwaway cluster on a free port, stop and remove it.
#
# Source this file; the caller defines `log MESSAGE` and `die MESSAGE`.
# pg_cluster_start sets PG_TMP, PG_CTL, PG_PORT, PG_URL and PG_STARTED; the caller
# arranges for pg_cluster_stop to run on exit.

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
        log "neither pg_isready nor psql found; assuming the server is reachable"
    fi
}

# Installs Debian packages, with sudo when not root. $1 says what needs them.
apt_install() {
    local why=$1 sudo=()
    shift
    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null || die "$why: install $* (Debian: apt-get install $*)"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null || die "$why: install $*"
    log "$why; installing Debian's $* package"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

PG_TMP=""
PG_CTL=""
PG_PORT=""
PG_URL=""
PG_STARTED=0

# Runs a command as the cluster's owner: the postgres OS user when root.
as_owner() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# shellcheck disable=SC2317  # called from EXIT traps
pg_cluster_stop() {
    if [[ $PG_STARTED -eq 1 ]]; then
        as_owner "$PG_CTL" -D "$PG_TMP/data" stop -m fast -w -t 30 >/dev/null 2>&1 ||
            as_owner "$PG_CTL" -D "$PG_TMP/data" stop -m immediate -w -t 30 >/dev/null 2>&1 || true
        PG_STARTED=0
    fi
    if [[ -n "$PG_TMP" ]]; then
        rm -rf "$PG_TMP" || true
        PG_TMP=""
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pg_cluster_start FIRST_PORT [SERVER_OPTION...]
# Starts a cluster owned by the postgres OS user (when root) in a new temporary
# directory, on the first free port from FIRST_PORT up, with trust authentication
# for the user `postgres`. Each SERVER_OPTION is a `name=value` setting.
pg_cluster_start() {
    local first_port=$1 initdb port options="" setting
    shift
    for setting in "$@"; do options+=" -c $setting"; done
    if ! initdb=$(pg_program initdb) || ! PG_CTL=$(pg_program pg_ctl); then
        apt_install "PostgreSQL server binaries (initdb, pg_ctl) not found" postgresql
        initdb=$(pg_program initdb) || die "initdb still not found after installing postgresql"
        PG_CTL=$(pg_program pg_ctl) || die "pg_ctl still not found after installing postgresql"
    fi

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

    # Retry on the next port if another process takes the chosen one before the
    # server binds it.
    for port in $(seq "$first_port" $((first_port + 99))); do
        port_in_use "$port" && continue
        rm -f "$PG_TMP/postgres.log"
        if as_owner "$PG_CTL" -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" -w -t 60 start \
            -o "-p $port -k '$PG_TMP/sock' -c listen_addresses=127.0.0.1$options" \
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
    [[ $PG_STARTED -eq 1 ]] || die "no free port for a private PostgreSQL cluster in $first_port-$((first_port + 99))"

    PG_PORT=$port
    PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
    for _ in $(seq 1 60); do
        reachable "$PG_URL" && return 0
        sleep 0.5
    done
    cat "$PG_TMP/postgres.log" >&2 2>/dev/null || true
    die "private PostgreSQL cluster on port $port did not become ready"
}
