# shellcheck shell=bash
# A NATS server with JetStream for tests/event_nats.rs. Sourced after lib/postgres.sh
# (it uses log, die, apt_install and port_in_use).
#
# nats_up: keeps TEST_NATS_URL when set (it must be reachable), else uses the server on
# 127.0.0.1:4222 when there is one, else starts a private `nats-server -js` on a free
# port from 54222 up, with its store in a temporary directory (Debian's nats-server is
# installed when missing). nats_stop stops and removes the private one.

NATS_TMP=""
NATS_PID=""

nats_reachable() {
    local where=${1#*://}
    where=${where##*@}
    (exec 3<>"/dev/tcp/${where%:*}/${where##*:}") 2>/dev/null
}

nats_up() {
    if [[ -n "${TEST_NATS_URL:-}" ]]; then
        nats_reachable "$TEST_NATS_URL" || die "TEST_NATS_URL is set but nothing answers at it"
        return
    fi
    if nats_reachable nats://127.0.0.1:4222; then
        export TEST_NATS_URL=nats://127.0.0.1:4222
        return
    fi
    command -v nats-server >/dev/null || apt_install "the NATS tests need a NATS server" nats-server
    local port=54222
    while port_in_use "$port"; do port=$((port + 1)); done
    NATS_TMP=$(mktemp -d)
    nats-server -a 127.0.0.1 -p "$port" -js -sd "$NATS_TMP/store" >"$NATS_TMP/log" 2>&1 &
    NATS_PID=$!
    for _ in $(seq 100); do
        nats_reachable "nats://127.0.0.1:$port" && break
        sleep 0.1
    done
    nats_reachable "nats://127.0.0.1:$port" || die "nats-server did not start: $(cat "$NATS_TMP/log")"
    export TEST_NATS_URL="nats://127.0.0.1:$port"
    log "started a private NATS server with JetStream on port $port"
}

nats_stop() {
    if [[ -n "$NATS_PID" ]]; then
        kill "$NATS_PID" 2>/dev/null || true
        wait "$NATS_PID" 2>/dev/null || true
        NATS_PID=""
    fi
    if [[ -n "$NATS_TMP" ]]; then
        rm -rf "$NATS_TMP" || true
        NATS_TMP=""
    fi
}
