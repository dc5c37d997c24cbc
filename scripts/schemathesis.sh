#!/usr/bin/env bash
# Checks the running API against its own spec with Schemathesis: every operation of
# /openapi.json, with generated valid and invalid requests, and every check
# (`st run --checks all`). Fails when any check fails.
#
# It installs Schemathesis from PyPI into a virtualenv in
# ${XDG_CACHE_HOME:-~/.cache}/supahook/ when it is missing (so it needs the network once),
# builds the release binary, and serves it on a free local port with the embedded
# SQLite in a temporary data directory, removed on exit. scripts/schemathesis_hooks.py
# signs the hook requests and adds the bearer tokens, so bodies reach the parsers.
#
# Extra arguments go to `st run`, e.g. `scripts/schemathesis.sh --max-examples 20`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/supahook/schemathesis-$SCHEMATHESIS_VERSION"

log() { printf 'schemathesis.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ ! -x "$VENV/bin/st" ]]; then
    log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

log "building the release binary"
cargo build --release --locked --quiet

DATA_DIR="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

random_base64() { python3 -c 'import base64, os, sys; print(base64.b64encode(os.urandom(int(sys.argv[1]))).decode())' "$1"; }
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# Known to the hooks file, which signs and authenticates with them.
export SUPAHOOK_HOOK_SECRETS="v1,whsec_$(random_base64 32)"
export SUPAHOOK_ADMIN_TOKEN="admin-$(random_base64 24)"
export SUPAHOOK_JWT_SECRET="jwt-$(random_base64 32)"
BASE_URL="http://127.0.0.1:$PORT"

# supahook with only the settings above: none from the caller's shell (DATABASE_URL, say).
supahook() {
    env -i PATH="$PATH" HOME="$HOME" RUST_LOG=warn \
        SUPAHOOK_DATA_DIR="$DATA_DIR" SUPAHOOK_LISTEN_ADDR="127.0.0.1:$PORT" \
        SUPAHOOK_HOOK_SECRETS="$SUPAHOOK_HOOK_SECRETS" SUPAHOOK_ADMIN_TOKEN="$SUPAHOOK_ADMIN_TOKEN" \
        SUPAHOOK_JWT_SECRET="$SUPAHOOK_JWT_SECRET" target/release/supahook "$@"
}

supahook serve >"$DATA_DIR/supahook.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 100); do
    supahook healthcheck --url "$BASE_URL" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA_DIR/supahook.log" >&2; die "supahook exited at start"; }
    sleep 0.1
done
supahook healthcheck --url "$BASE_URL" >/dev/null || die "supahook is not ready on $BASE_URL"
log "supahook is serving on $BASE_URL (data in $DATA_DIR)"

status=0
# Run from the data directory, where Schemathesis keeps its cache, so nothing is left behind.
HOOKS="$PWD/scripts/schemathesis_hooks.py"
(cd "$DATA_DIR" && SCHEMATHESIS_HOOKS="$HOOKS" "$VENV/bin/st" run "$BASE_URL/openapi.json" \
    --checks all "$@") || status=$?

if grep -q "panicked" "$DATA_DIR/supahook.log"; then
    log "supahook panicked during the run"
    status=1
fi
if [[ $status -ne 0 ]]; then
    log "the last lines supahook logged (RUST_LOG=warn):"
    tail -n 40 "$DATA_DIR/supahook.log" >&2
fi
exit "$status"
