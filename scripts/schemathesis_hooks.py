"""Schemathesis hooks for supahook (used by scripts/schemathesis.sh).

Generated requests would stop at the signature check or the bearer token, so these
hooks make them valid there and let the bodies reach the parsers:

- every request to /hooks/... is signed per Standard Webhooks with the first secret
  of SUPAHOOK_HOOK_SECRETS, over exactly the bytes sent;
- bodies meant to be valid are first made to follow the rules a JSON schema does not
  state: no NUL character anywhere, and the hook payload rules that span fields (see
  `_follow_cross_field_rules`);
- the read and edit API (/v1/...) gets `Authorization: Bearer $SUPAHOOK_ADMIN_TOKEN`;
- the frontend sync endpoint gets a fresh HS256 access token signed with
  SUPAHOOK_JWT_SECRET, for a new user each time.

The bearer tokens are applied as Schemathesis auth, so its `ignored_auth` check can
still take them away and expect a 401.
"""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid

import requests
import schemathesis

HOOK_PATH_PREFIX = "/hooks/"
SYNC_PATH = "/api/auth/users/sync"


def _hook_signing_key() -> bytes:
    """The bytes of the first configured secret (`v1,whsec_<base64>`)."""
    first = os.environ["SUPAHOOK_HOOK_SECRETS"].split("|")[0].strip()
    encoded = first.removeprefix("v1,").removeprefix("whsec_")
    return base64.b64decode(encoded)


HOOK_SIGNING_KEY = _hook_signing_key()


class StandardWebhooksSignature(requests.auth.AuthBase):
    """Adds webhook-id, webhook-timestamp and webhook-signature for the prepared body."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        webhook_id = f"msg_{uuid.uuid4().hex}"
        timestamp = str(int(time.time()))
        signed = f"{webhook_id}.{timestamp}.".encode() + body
        digest = hmac.new(HOOK_SIGNING_KEY, signed, hashlib.sha256).digest()
        request.headers["webhook-id"] = webhook_id
        request.headers["webhook-timestamp"] = timestamp
        request.headers["webhook-signature"] = "v1," + base64.b64encode(digest).decode()
        return request


# The name each Auth Hook endpoint requires in `metadata.name`.
HOOK_NAMES = {
    "/hooks/custom-access-token": "customize-access-token",
    "/hooks/before-user-created": "before-user-created",
    "/hooks/after-user-created": "after-user-created",
}


def _now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _follow_cross_field_rules(path: str, body: dict) -> None:
    """Makes a schema-valid hook body follow the rules that span fields, which the
    schema states only in descriptions: `metadata.name` names the endpoint's hook, an
    INSERT or UPDATE carries `record` and a DELETE `old_record`, both rows are the same
    user, and each row has a version (`changed_at`, else its `updated_at` or
    `created_at`)."""
    metadata = body.get("metadata")
    if path in HOOK_NAMES and isinstance(metadata, dict) and metadata.get("name") is not None:
        metadata["name"] = HOOK_NAMES[path]
    if path != "/hooks/auth-users":
        return
    needed = "old_record" if body.get("type") == "DELETE" else "record"
    if not isinstance(body.get(needed), dict):
        body[needed] = {"id": str(uuid.uuid4())}
    record, old_record = body.get("record"), body.get("old_record")
    if isinstance(record, dict) and isinstance(old_record, dict):
        old_record["id"] = record.get("id")
    if body.get("changed_at") is None:
        for key in ("record", "old_record"):
            row = body.get(key)
            if isinstance(row, dict) and row.get("updated_at") is None and row.get("created_at") is None:
                row["updated_at"] = _now_rfc3339()


def _without_nul(value):
    """The value with every NUL character taken out of its strings and keys."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.operation.path
    # Only requests meant to be valid are adjusted: an invalid one stays as generated.
    positive = case.meta is None or case.meta.generation.mode.is_positive
    if positive and isinstance(case.body, (dict, list)):
        # The API refuses a NUL anywhere in a body (the spec's description says so),
        # which a schema cannot state for free-form JSON such as `user_metadata`.
        case.body = _without_nul(case.body)
        if path.startswith(HOOK_PATH_PREFIX) and isinstance(case.body, dict):
            _follow_cross_field_rules(path, case.body)
    if path.startswith(HOOK_PATH_PREFIX):
        # Signing the prepared request, rather than the case, covers the body exactly
        # as serialized, whatever the generated content type.
        kwargs["auth"] = StandardWebhooksSignature()


def _bearer(case, token: str) -> None:
    case.headers = case.headers or {}
    case.headers["Authorization"] = f"Bearer {token}"


@schemathesis.auth(refresh_interval=None).apply_to(path_regex="^/v1/")
class AdminToken:
    def get(self, case, context):
        return os.environ["SUPAHOOK_ADMIN_TOKEN"]

    def set(self, case, data, context):
        _bearer(case, data)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(claims: dict, secret: str) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


@schemathesis.auth(refresh_interval=None).apply_to(path=SYNC_PATH)
class SupabaseSession:
    def get(self, case, context):
        now = int(time.time())
        user_id = str(uuid.uuid4())
        claims = {
            "sub": user_id,
            "aud": "authenticated",
            "exp": now + 3600,
            "iat": now,
            "email": f"{user_id}@example.com",
            "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {},
            "role": "authenticated",
            "aal": "aal1",
            "session_id": str(uuid.uuid4()),
            "is_anonymous": False,
        }
        return _hs256(claims, os.environ["SUPAHOOK_JWT_SECRET"])

    def set(self, case, data, context):
        _bearer(case, data)
