#!/usr/bin/env python3
"""Writes pre-signed supahook requests for bench/run.sh, using the standard library only.

    requests.py KIND --secret 'v1,whsec_...' --host 127.0.0.1:8080 --count N
                [--threads T] [--users U] [--tag TAG] --out PREFIX

KIND is one of:
  signups    POST /hooks/before-user-created, every request a new email sign-up
  refreshes  POST /hooks/custom-access-token for the U seeded users, unchanged
             but for a newer `iat` and a new `metadata.uuid`
  refreshes-claims  the same, with `iat`s after any a refreshes row reaches, for the
             row served with the claims query (a second supahook process)
  reordered-refreshes
             the same, with each `iat` anywhere in the minute before writing:
             refreshes of one user from several sessions, arriving out of order
  updates    POST /hooks/auth-users, signed trigger-style UPDATEs of the U seeded
             users, each with a newer `changed_at` and a new `last_sign_in_at`
  seed       the U seeded users as custom-access-token bodies, a day old
  confirmed-signups
             POST /hooks/auth-users, signed trigger-style INSERTs of new confirmed
             users: sign-ups that record a user.created event each

For the HTTP kinds, request i goes to the file PREFIX.(i mod T): each wrk thread
reads its own file (bench/wrk.lua), so no request is sent twice. A file is a run
of records, each `<byte length>\\n<raw HTTP/1.1 request>`. Signatures follow
Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`, keyed with the base64
decoding of the part after `v1,whsec_`; the timestamp is the time of writing.

With --jsonl, the bodies are written unsigned, one JSON document per line, to the
file PREFIX, for `supahook replay` (seed always writes so).

The bodies are JSON templates filled in with %-formatting: a million requests
take seconds, not minutes.
"""
import argparse
import base64
import functools
import hashlib
import hmac
import json
import multiprocessing
import os
import time
import uuid
from datetime import datetime, timezone

# Seeded users were last issued a token a day ago, so that every refresh (one
# second newer per round over the users) stays in the past.
SEED_AGE = 86400
# The refreshes-claims row's tokens start this much after the seed, past any round the
# refreshes row reaches, so that they are newer than what it left in the mirror.
CLAIMS_ROUNDS_AFTER = SEED_AGE // 2
# Reordered refreshes were issued up to this many seconds before they were written.
REORDER_WINDOW = 60
DAY_US = 86400 * 1_000_000


def template(body):
    """JSON text with `%(name)s` holes; a `"%(name)d"` string becomes a bare number."""
    text = json.dumps(body, separators=(",", ":"))
    for name in ("iat", "exp", "n"):
        text = text.replace(f'"%({name})d"', f"%({name})d")
    return text


SIGNUP = template({
    "metadata": {"uuid": "%(call)s", "time": "%(now)s", "name": "before-user-created",
                 "ip_address": "203.0.113.42"},
    "user": {
        "id": "%(uid)s", "aud": "authenticated", "role": "",
        "email": "signup-%(tag)s-%(n)d@example.com", "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {"full_name": "Signup User %(n)d"},
        "identities": [], "created_at": "0001-01-01T00:00:00Z",
        "updated_at": "0001-01-01T00:00:00Z", "is_anonymous": False,
    },
})

# The mirrored fields (email, phone, metadata, is_anonymous) depend on the user alone.
ACCESS_TOKEN = template({
    "metadata": {"uuid": "%(call)s", "time": "%(now)s", "name": "customize-access-token",
                 "ip_address": "203.0.113.42"},
    "user_id": "%(uid)s",
    "claims": {
        "iss": "https://bench.supabase.co/auth/v1", "sub": "%(uid)s", "aud": "authenticated",
        "exp": "%(exp)d", "iat": "%(iat)d", "email": "seeded-%(n)d@example.com", "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {"email_verified": True, "full_name": "Seeded User %(n)d"},
        "role": "authenticated", "aal": "aal1",
        "amr": [{"method": "password", "timestamp": "%(iat)d"}],
        "session_id": "%(session)s", "is_anonymous": False,
    },
    "authentication_method": "token_refresh",
})


def auth_users_row(updated, email="seeded-%(n)d@example.com"):
    """The columns the signed trigger sends (it leaves out the password hash and tokens)."""
    return {
        "id": "%(uid)s", "aud": "authenticated", "role": "authenticated",
        "email": email, "phone": None, "created_at": "%(created)s",
        "deleted_at": None, "invited_at": None, "updated_at": f"%({updated})s",
        "instance_id": "00000000-0000-0000-0000-000000000000", "is_sso_user": False,
        "banned_until": None, "confirmed_at": "%(created)s", "email_change": "",
        "is_anonymous": False, "phone_change": "", "is_super_admin": None,
        "last_sign_in_at": f"%({updated})s", "recovery_sent_at": None,
        "raw_app_meta_data": {"provider": "email", "providers": ["email"]},
        "email_confirmed_at": "%(created)s", "phone_confirmed_at": None,
        "raw_user_meta_data": {"email_verified": True, "full_name": "Seeded User %(n)d"},
        "confirmation_sent_at": "%(created)s", "email_change_sent_at": None,
        "phone_change_sent_at": None, "reauthentication_sent_at": None,
        "email_change_confirm_status": 0,
    }


# A sign-in as the trigger reports it: last_sign_in_at and updated_at move to changed_at.
UPDATE = template({
    "type": "UPDATE", "table": "users", "schema": "auth",
    "record": auth_users_row("changed"), "old_record": auth_users_row("previous"),
    "changed_at": "%(changed)s",
})

# A confirmed sign-up as the trigger reports it: a new user, created now.
INSERT = template({
    "type": "INSERT", "table": "users", "schema": "auth",
    "record": auth_users_row("created", "confirmed-%(tag)s-%(n)d@example.com"),
    "old_record": None, "changed_at": "%(created)s",
})


def user_id(tag, n):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"supahook-bench/{tag}/user/{n}"))


def session_id(tag, n):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"supahook-bench/{tag}/session/{n}"))


def random_uuids(count):
    """Version 4 UUIDs from os.urandom, formatted in bulk."""
    raw = os.urandom(16 * count).hex()
    out = []
    for k in range(0, 32 * count, 32):
        h = raw[k:k + 32]
        out.append(f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}")
    return out


@functools.lru_cache(maxsize=4)
def rfc3339_seconds(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def rfc3339(us):
    """Unix microseconds as RFC 3339 UTC text."""
    seconds, micros = divmod(us, 1_000_000)
    return f"{rfc3339_seconds(seconds)}.{micros:06d}Z"


class Bodies:
    """Body i of one kind, for a run started at `now_us` (Unix microseconds)."""

    def __init__(self, kind, tag, users, now_us):
        self.kind, self.tag, self.users, self.now_us = kind, tag, users, now_us
        self.seeded_at = now_us // 1_000_000 - SEED_AGE
        self.uids = [user_id(tag, n) for n in range(users)]
        self.sessions = [session_id(tag, n) for n in range(users)]
        self.now = rfc3339(now_us)
        self.created = rfc3339(now_us - 30 * DAY_US)
        self.seeded = rfc3339(now_us - DAY_US)

    def path(self):
        return {"signups": "/hooks/before-user-created", "updates": "/hooks/auth-users",
                "confirmed-signups": "/hooks/auth-users"}.get(
            self.kind, "/hooks/custom-access-token")

    def body(self, i, call, new_id):
        """`call` is the metadata.uuid; `new_id` the id of a new user (signups)."""
        n = i % self.users
        if self.kind == "signups":
            return SIGNUP % {"call": call, "now": self.now, "uid": new_id,
                             "tag": self.tag, "n": i}
        if self.kind == "confirmed-signups":
            return INSERT % {"uid": new_id, "n": i, "tag": self.tag, "created": self.now}
        if self.kind in ("seed", "refreshes", "refreshes-claims", "reordered-refreshes"):
            iat = {"seed": self.seeded_at,
                   "refreshes": self.seeded_at + 1 + i // self.users,
                   "refreshes-claims": self.seeded_at + CLAIMS_ROUNDS_AFTER + i // self.users,
                   # Spread over the window by a multiplicative hash of i: no order.
                   "reordered-refreshes": self.now_us // 1_000_000
                   - (i * 2654435761 >> 8) % REORDER_WINDOW}[self.kind]
            return ACCESS_TOKEN % {"call": call, "now": rfc3339(iat * 1_000_000), "uid": self.uids[n],
                                   "session": self.sessions[n], "n": n, "iat": iat, "exp": iat + 3600}
        # Each user's updates are one microsecond apart in changed_at, newer each round.
        changed = self.now_us + self.users + i
        previous = rfc3339(changed - self.users) if i >= self.users else self.seeded
        return UPDATE % {"uid": self.uids[n], "n": n, "created": self.created,
                         "changed": rfc3339(changed), "previous": previous}


def signed_request(key, host, path, body, msg_id, timestamp):
    payload = body.encode()
    signature = base64.b64encode(
        hmac.digest(key, f"{msg_id}.{timestamp}.".encode() + payload, hashlib.sha256)).decode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nwebhook-id: {msg_id}\r\n"
            f"webhook-timestamp: {timestamp}\r\nwebhook-signature: v1,{signature}\r\n\r\n")
    return head.encode() + payload


# The kinds whose every request makes a new user.
NEW_USERS = ("signups", "confirmed-signups")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["signups", "refreshes", "refreshes-claims", "reordered-refreshes", "updates", "seed",
                                           "confirmed-signups"])
    parser.add_argument("--secret", help="v1,whsec_<base64>")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--users", type=int, default=1000, help="seeded users")
    parser.add_argument("--tag", default="run", help="makes user ids and emails unique per run")
    parser.add_argument("--jsonl", action="store_true", help="unsigned bodies, one per line")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.users < 1 or args.threads < 1:
        parser.error("--users and --threads must be at least 1")

    now_us = time.time_ns() // 1000
    bodies = Bodies(args.kind, args.tag, args.users, now_us)
    if args.kind == "seed" or args.jsonl:
        count = args.users if args.kind == "seed" else args.count
        calls = random_uuids(count)
        new_ids = random_uuids(count) if args.kind in NEW_USERS else [None] * count
        with open(args.out, "w") as out:
            for i in range(count):
                out.write(bodies.body(i, calls[i], new_ids[i]) + "\n")
        return

    if not args.secret or not args.secret.startswith("v1,whsec_"):
        parser.error("--secret must be of the form v1,whsec_<base64>")
    # One process per file: the files are independent, and the machine's cores are idle now.
    jobs = [(args, bodies, now_us, t) for t in range(args.threads)]
    with multiprocessing.Pool(min(args.threads, os.cpu_count() or 1)) as pool:
        pool.starmap(write_thread_file, jobs)


def write_thread_file(args, bodies, now_us, thread):
    """Writes requests thread, thread + T, thread + 2T, ... to PREFIX.thread."""
    key = base64.b64decode(args.secret[len("v1,whsec_"):])
    timestamp = now_us // 1_000_000
    path = bodies.path()
    indices = range(thread, args.count, args.threads)
    calls = random_uuids(len(indices))
    new_ids = random_uuids(len(indices)) if args.kind in NEW_USERS else [None] * len(indices)
    msg_ids = os.urandom(16 * len(indices)).hex()
    with open(f"{args.out}.{thread}", "wb") as out:
        for k, i in enumerate(indices):
            raw = signed_request(key, args.host, path, bodies.body(i, calls[k], new_ids[k]),
                                 "msg_" + msg_ids[32 * k:32 * k + 32], timestamp)
            out.write(b"%d\n" % len(raw))
            out.write(raw)


if __name__ == "__main__":
    main()
