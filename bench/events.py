#!/usr/bin/env python3
"""Writes N custom-access-token hook bodies for N distinct users (JSONL) to stdout:
a sign-in burst, the hot path of a busy Supabase project."""
import json
import sys
import uuid

count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
base = 1768475700
for n in range(count):
    user = str(uuid.uuid5(uuid.NAMESPACE_URL, f"supahook-bench/user/{n}"))
    body = {
        "metadata": {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"supahook-bench/call/{n}")),
                     "time": "2026-01-15T11:15:00.204885316Z", "name": "customize-access-token",
                     "ip_address": "203.0.113.42"},
        "user_id": user,
        "claims": {"iss": "https://bench.supabase.co/auth/v1", "sub": user, "aud": "authenticated",
                   "exp": base + 3600 + n, "iat": base + n, "email": f"user{n}@example.com", "phone": "",
                   "app_metadata": {"provider": "email", "providers": ["email"]},
                   "user_metadata": {"full_name": f"Bench User{n}", "email_verified": True},
                   "role": "authenticated", "aal": "aal1",
                   "amr": [{"method": "password", "timestamp": base + n}],
                   "session_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"supahook-bench/session/{n}")),
                   "is_anonymous": False},
        "authentication_method": "password",
    }
    sys.stdout.write(json.dumps(body, separators=(",", ":")) + "\n")
