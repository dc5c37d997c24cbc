#!/usr/bin/env bash
# Fuzzes the signature checks and every payload parser with cargo-fuzz (libFuzzer):
# builds the targets in fuzz/, runs each for SECONDS (default 600) one after another,
# then prints per target the executions, executions per second, crashes found and
# corpus size.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 60 auth_users
#
# Seed corpora are made from tests/fixtures. Corpora, crash inputs and logs stay in
# fuzz/corpus, fuzz/artifacts and fuzz/logs; none is committed. A crash input replays
# with `RUSTC_BOOTSTRAP=1 cargo fuzz run -a TARGET fuzz/artifacts/TARGET/crash-...`.
# Works on a stable toolchain: cargo-fuzz is installed when missing, and
# RUSTC_BOOTSTRAP=1 lets stable rustc take the sanitizer and coverage flags.
# SUPAHOOK_FUZZ_SANITIZER=none builds without AddressSanitizer.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'fuzz.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

seconds=${1:-600}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive whole number, not '$seconds'"
shift $(( $# > 0 ? 1 : 0 ))
sanitizer=${SUPAHOOK_FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

if (( $# > 0 )); then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# Seeds: the payload fixtures for every target, and for the signature targets the
# headers, secrets and bodies of the signing vectors.
seed() {
    local target
    for target in "${targets[@]}"; do
        mkdir -p "fuzz/corpus/$target"
        find tests/fixtures -name '*.json' ! -name signing-vectors.json \
            -exec cp {} "fuzz/corpus/$target/" \;
    done
    if ! command -v python3 >/dev/null; then
        log "python3 not found: the signature targets start from the payload fixtures alone"
        return
    fi
    python3 - fuzz/corpus <<'PY'
import json, pathlib, sys

corpus = pathlib.Path(sys.argv[1])
vectors = json.loads(pathlib.Path("tests/fixtures/signing-vectors.json").read_text())["vectors"]
claims = json.loads(pathlib.Path("tests/fixtures/custom-access-token.json").read_text())["claims"]

def write(target, name, data):
    folder = corpus / target
    if folder.is_dir():
        (folder / name).write_bytes(data.encode())

write("session_claims", "claims.json", json.dumps(claims))
for n, v in enumerate(vectors):
    h = v["headers"]
    write("signature_header", f"vector-{n}", h["webhook-signature"])
    write("signing_secrets", f"vector-{n}", "|".join(v["secrets"]))
    head = "".join(f"{k}: {h[k]}\n" for k in sorted(h)) + f"now: {v['verify_with_now']}\n"
    write("verify_delivery", f"vector-{n}", head + "\n" + v["body"])
    bearer = f"authorization: Bearer fuzz-bearer-token\nwebhook-id: {h['webhook-id']}\n"
    write("verify_delivery", f"bearer-{n}", bearer + "\n" + v["body"])
PY
}

seed
log "building ${#targets[@]} targets (sanitizer: $sanitizer)"
cargo fuzz build -a -s "$sanitizer"

mkdir -p fuzz/logs
results=()
for target in "${targets[@]}"; do
    mkdir -p "fuzz/artifacts/$target"
    before=$(find "fuzz/artifacts/$target" -type f | wc -l)
    log "running $target for $seconds s (log: fuzz/logs/$target.log)"
    # libFuzzer stops at the first crash; the rest of the targets still run.
    cargo fuzz run -a -s "$sanitizer" "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        >"fuzz/logs/$target.log" 2>&1 || true
    executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/logs/$target.log" | grep -o '[0-9]*$' || true)
    per_second=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "fuzz/logs/$target.log" | grep -o '[0-9]*$' || true)
    crashes=$(( $(find "fuzz/artifacts/$target" -type f | wc -l) - before ))
    corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
    results+=("$(printf '%-22s %12s %8s %8s %8s' "$target" "${executions:-?}" "${per_second:-?}" "$crashes" "$corpus")")
    (( crashes == 0 )) || log "$target: crash input in fuzz/artifacts/$target/ (see fuzz/logs/$target.log)"
done

printf '%-22s %12s %8s %8s %8s\n' target executions exec/s crashes corpus
printf '%s\n' "${results[@]}"
