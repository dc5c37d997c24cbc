#!/usr/bin/env python3
"""Reads what bench/run.sh measured and writes bench/RESULTS.md (standard library only).

    report.py wrk ROW RSS_KB < wrk-output             one JSON line for the row
    report.py pgbench ROW LOG_PREFIX < pgbench-output  one JSON line for the row
    report.py write META_JSON ROWS_JSONL              RESULTS.md on standard output
    report.py summary ROW_JSON                        one line for the log
"""
import glob
import json
import math
import re
import sys

ORDER = ["signups", "confirmed-signups", "signups-recorded", "signups-events", "refreshes", "refreshes-claims", "reordered-refreshes", "updates", "ceiling", "http-ceiling"]
WHAT = {
    "signups": "POST /hooks/before-user-created, a new email sign-up each",
    "confirmed-signups": "POST /hooks/auth-users, a trigger INSERT of a new user each, events off",
    "signups-recorded": "the same, each user.created recorded in the outbox (the default)",
    "signups-events": "the same, each user.created also pushed as a signed webhook",
    "refreshes": "POST /hooks/custom-access-token, seeded users unchanged",
    "refreshes-claims": "the same with SUPAHOOK_TOKEN_CLAIMS_QUERY set, cache warm",
    "reordered-refreshes": "the same, each iat anywhere in the last minute",
    "updates": "POST /hooks/auth-users, trigger UPDATEs of seeded users",
    "ceiling": "pgbench: the SQL of one sign-up (bench/ceiling.sql)",
    "http-ceiling": "GET /health/live",
}
# The answers each hook row must get to measure what it says (Supahook-Outcome).
EXPECTED = {
    "signups": {"created"},
    "confirmed-signups": {"created"},
    "signups-recorded": {"created"},
    "signups-events": {"created"},
    "refreshes": {"unchanged"},
    "refreshes-claims": {"unchanged"},
    "reordered-refreshes": {"unchanged", "stale"},
    "updates": {"updated"},
}


def wrk_row(row, rss_kb):
    text = sys.stdin.read()
    match = re.search(r"^BENCH (.*)$", text, re.MULTILINE)
    if not match:
        sys.exit(f"report.py: no BENCH line in the wrk output of {row}:\n{text}")
    fields = dict(part.split("=", 1) for part in match.group(1).split())
    outcomes = {}
    for item in filter(None, fields["outcomes"].split(",")):
        name, count = item.rsplit(":", 1)
        outcomes[name] = int(count)
    requests = int(fields["requests"])
    return {
        "row": row,
        "requests": requests,
        "rps": requests / (int(fields["duration_us"]) / 1e6),
        "p50_us": int(fields["p50_us"]),
        "p99_us": int(fields["p99_us"]),
        "p999_us": int(fields["p999_us"]),
        "errors": int(fields["non2xx"]) + int(fields["socket_errors"]),
        "socket_errors": int(fields["socket_errors"]),
        "exhausted_threads": int(fields["exhausted_threads"]),
        "outcomes": outcomes,
        "unexpected": sorted(set(outcomes) - EXPECTED.get(row, set(outcomes))),
        "peak_rss_kb": int(rss_kb) if rss_kb.isdigit() else None,
    }


def percentile(sorted_values, p):
    """Nearest-rank percentile, as wrk reports them."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def pgbench_row(row, log_prefix):
    text = sys.stdin.read()
    tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", text, re.MULTILINE)
    done = re.search(r"^number of transactions actually processed: (\d+)", text, re.MULTILINE)
    if not tps or not done:
        sys.exit(f"report.py: pgbench did not finish {row}:\n{text}")
    failed = re.search(r"^number of failed transactions: (\d+)", text, re.MULTILINE)
    aborted = len(re.findall(r"^pgbench: error: client \d+ .*aborted", text, re.MULTILINE))
    latencies = []
    # Per-transaction log lines: client_id transaction_no time_us script_no epoch epoch_us.
    for path in glob.glob(f"{log_prefix}.*"):
        with open(path) as log:
            for line in log:
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]))
    latencies.sort()
    return {
        "row": row,
        "requests": int(done.group(1)),
        "rps": float(tps.group(1)),
        "p50_us": percentile(latencies, 50),
        "p99_us": percentile(latencies, 99),
        "p999_us": percentile(latencies, 99.9),
        "errors": (int(failed.group(1)) if failed else 0) + aborted,
        "socket_errors": 0,
        "exhausted_threads": 0,
        "outcomes": {},
        "peak_rss_kb": None,
    }


def ms(us):
    return f"{us / 1000:.2f} ms" if us < 10_000 else f"{us / 1000:.1f} ms"


def mb(kb):
    return "-" if kb is None else f"{kb / 1024:.1f} MB"


def write(meta_path, rows_path):
    with open(meta_path) as f:
        meta = json.load(f)
    rows = {}
    with open(rows_path) as f:
        for line in f:
            row = json.loads(line)
            rows[row["row"]] = row
    out = [
        "# supahook benchmark results",
        "",
        "Written by `bench/run.sh`; `bench/README.md` says what each row measures.",
        "",
        f"- date: {meta['date']}",
        f"- machine: {meta['cores']} cores, {meta['cpu']}, {meta['memory']} memory; "
        f"load average {meta['loadavg']}",
        f"- PostgreSQL: {meta['postgres']} (private cluster, fsync=on, synchronous_commit=on)",
        f"- supahook: {meta['supahook']}",
        f"- load: {meta['load']}",
        f"- command: `{meta['command']}`",
        "",
        "| row | what | req/s | p50 | p99 | p99.9 | errors | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ORDER:
        r = rows.get(name)
        if r is None:
            continue
        void = " (void: ran out of requests)" if r["exhausted_threads"] else ""
        if r.get("unexpected"):
            void += f" (void: answered {', '.join(r['unexpected'])})"
        out.append(
            f"| {name}{void} | {WHAT[name]} | {r['rps']:,.0f} | {ms(r['p50_us'])} | {ms(r['p99_us'])} "
            f"| {ms(r['p999_us'])} | {r['errors']:,} | {mb(r['peak_rss_kb'])} |"
        )
    out.append("")
    out.append(f"Idle RSS of supahook before any load: {mb(meta['idle_rss_kb'])}.")
    out.append("")

    def ratio(a, b):
        if a in rows and b in rows and rows[b]["rps"] > 0:
            return f"{rows[a]['rps'] / rows[b]['rps']:.2f}x"
        return "n/a"

    out.append(f"- signups / ceiling: **{ratio('signups', 'ceiling')}**")
    out.append(f"- signups with events pushed / events off: **{ratio('signups-events', 'confirmed-signups')}**")
    out.append(f"- signups with events recorded / events off: **{ratio('signups-recorded', 'confirmed-signups')}**")
    out.append(f"- refreshes / HTTP ceiling: **{ratio('refreshes', 'http-ceiling')}**")
    out.append(f"- refreshes with claims / refreshes: **{ratio('refreshes-claims', 'refreshes')}**")
    out.append(f"- reordered refreshes / refreshes: **{ratio('reordered-refreshes', 'refreshes')}**")
    out.append("")
    out.append("Answers by `Supahook-Outcome` header (or HTTP status when there is none):")
    out.append("")
    for name in ORDER:
        r = rows.get(name)
        if r and r["outcomes"]:
            tally = ", ".join(f"{k} {v:,}" for k, v in sorted(r["outcomes"].items()))
            out.append(f"- {name}: {tally}")
    out.append("")
    out.append(f"Sign-up check: {meta['signup_check']}")
    out.append("")
    print("\n".join(out))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "wrk":
        print(json.dumps(wrk_row(sys.argv[2], sys.argv[3])))
    elif len(sys.argv) == 4 and sys.argv[1] == "pgbench":
        print(json.dumps(pgbench_row(sys.argv[2], sys.argv[3])))
    elif len(sys.argv) == 3 and sys.argv[1] == "summary":
        r = json.loads(sys.argv[2])
        print(f"{r['row']}: {r['rps']:,.0f} req/s, p50 {ms(r['p50_us'])}, p99 {ms(r['p99_us'])}, "
              f"errors {r['errors']}, outcomes {r['outcomes']}")
    elif len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
