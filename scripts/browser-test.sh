#!/usr/bin/env bash
# The console's browser test (browser/console.test.mjs): Debian's chromium driven by
# playwright-core, against the real binary and a PostgreSQL database it creates and
# drops. Installs what it needs: chromium and psql from Debian, playwright-core from
# browser/package-lock.json (it downloads no browser).
#
# PostgreSQL: TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
# scripts/test.sh runs it last, with the server it found or started.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'browser-test.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=scripts/lib/postgres.sh
. scripts/lib/postgres.sh

[[ -x /usr/bin/chromium ]] || apt_install "the browser test needs a browser" chromium
command -v psql >/dev/null || apt_install "the browser test runs SQL" postgresql-client
command -v npm >/dev/null || apt_install "the browser test needs Node.js" nodejs npm
if [[ ! -d browser/node_modules/playwright-core ]]; then
    npm ci --prefix browser --no-audit --no-fund --loglevel=error
fi

# The binary as `cargo test` builds it (the same features, so nothing is rebuilt after
# scripts/test.sh).
cargo test --locked --no-run --test console >/dev/null 2>&1 || cargo test --locked --no-run --test console
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export SUPAHOOK_BIN="$PWD/target/debug/supahook"
node --test --test-concurrency=1 browser/console.test.mjs
