#!/usr/bin/env bash
# The example consumers (examples/consumers/node, examples/consumers/python) against
# requests signed by supahook itself (`supahook sign`): each receiver handles a signed
# event once, acknowledges a repeat of the same webhook-id without handling it again,
# and refuses a bad signature and a changed body.
#
# Installs their pinned dependencies in a temporary directory (npm ci from the lock file,
# pip into a venv), removed when the script exits. Needs node/npm, python3, openssl and
# curl; builds the supahook binary when it is missing. scripts/test.sh runs it last.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'consumers-test.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in node npm python3 openssl curl; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done

TMP=$(mktemp -d)
RECEIVER=""
cleanup() {
    if [[ -n "$RECEIVER" ]]; then kill "$RECEIVER" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

[[ -x target/debug/supahook ]] || cargo build --locked --quiet
SUPAHOOK="$PWD/target/debug/supahook"

log "installing the Node receiver's dependencies"
mkdir "$TMP/node"
cp examples/consumers/node/{package.json,package-lock.json,receiver.mjs} "$TMP/node/"
npm ci --prefix "$TMP/node" --no-audit --no-fund --loglevel=error
log "installing the Python receiver's dependencies"
python3 -m venv "$TMP/venv"
"$TMP/venv/bin/pip" install --quiet --disable-pip-version-check \
    -r examples/consumers/python/requirements.txt

SECRET="whsec_$(openssl rand -base64 24)"
OTHER_SECRET="whsec_$(openssl rand -base64 24)"
EVENT_ID="$(python3 -c 'import uuid; print(uuid.uuid4())')"
BODY="$TMP/event.json"
printf '{"id":"%s","type":"user.created","timestamp":"2026-01-15T10:00:00Z","user_id":"3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14","sequence":1,"data":{"user":{"id":"3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14","email":"ada@example.com"},"changed":[]}}' \
    "$EVENT_ID" >"$BODY"

# Prints the HTTP status and the answer of a POST of FILE to PORT, signed with SECRET
# under the event id (supahook's own Standard Webhooks signing).
post() {
    local port=$1 file=$2 secret=$3 signed=${4:-$2}
    local headers=()
    while IFS= read -r line; do headers+=(-H "$line"); done < <(
        env -i PATH="$PATH" "$SUPAHOOK" sign "$signed" --secret "v1,$secret" --id "$EVENT_ID"
    )
    curl -sS -o "$TMP/answer" -w '%{http_code}' "${headers[@]}" \
        -H 'content-type: application/json' --data-binary @"$file" "http://127.0.0.1:$port/"
    printf ' %s' "$(tr -d ' \n' <"$TMP/answer")"
}

# Asserts that `post` printed STATUS and, when given, that the answer holds TEXT.
expect() {
    local name=$1 what=$2 got=$3 status=$4 text=${5:-}
    [[ "$got" == "$status "* ]] || die "$name: $what: expected $status, got: $got"
    [[ -z "$text" || "$got" == *"$text"* ]] || die "$name: $what: expected $text in: $got"
}

handled() { [[ -f "$1" ]] && wc -l <"$1" || echo 0; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts the receiver NAME with COMMAND..., drives it, and stops it.
check() {
    local name=$1; shift
    local port processed="$TMP/$name.processed"
    port=$(free_port)
    WEBHOOK_SECRET="$SECRET" PORT="$port" PROCESSED_LOG="$processed" \
        DATABASE="$TMP/$name.sqlite3" "$@" >"$TMP/$name.out" 2>&1 &
    RECEIVER=$!
    for _ in $(seq 100); do
        grep -q listening "$TMP/$name.out" 2>/dev/null && break
        kill -0 "$RECEIVER" 2>/dev/null || die "$name: the receiver exited: $(cat "$TMP/$name.out")"
        sleep 0.1
    done
    grep -q listening "$TMP/$name.out" || die "$name: the receiver did not start"

    expect "$name" "a signed event" "$(post "$port" "$BODY" "$SECRET")" 200 '"duplicate":false'
    [[ $(handled "$processed") -eq 1 ]] || die "$name: the event was not handled once"
    expect "$name" "the same event again" "$(post "$port" "$BODY" "$SECRET")" 200 '"duplicate":true'
    [[ $(handled "$processed") -eq 1 ]] || die "$name: a repeat was handled again"
    expect "$name" "another secret's signature" "$(post "$port" "$BODY" "$OTHER_SECRET")" 401
    sed 's/user.created/user.deleted/' "$BODY" >"$TMP/changed.json"
    expect "$name" "a changed body" "$(post "$port" "$TMP/changed.json" "$SECRET" "$BODY")" 401
    [[ $(handled "$processed") -eq 1 ]] || die "$name: a refused request was handled"

    kill "$RECEIVER" && wait "$RECEIVER" 2>/dev/null || true
    RECEIVER=""
    log "$name: handled once, repeat acknowledged, bad signatures refused"
}

check node node "$TMP/node/receiver.mjs"
check python "$TMP/venv/bin/python" examples/consumers/python/receiver.py
log "PASSED"
