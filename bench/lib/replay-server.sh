# Shared by the replay-driven benchmarks (bench/replay.sh, bench/token-path.sh); sourced
# with `port` set. Reads EVENTS, CONCURRENCY and RUNS from the caller's arguments,
# builds the release binary, writes EVENTS sign-ins to $work/events.jsonl, and
# defines start/stop for one `supahook serve` on that port.
set -euo pipefail

events=${1:-5000}
concurrency=${2:-16}
runs=${3:-3}
admin_url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export PGOPTIONS="-c client_min_messages=warning"
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
