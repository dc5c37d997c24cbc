-- Signed webhooks carrying the outbox's lifecycle events to the configured endpoints.
-- `push_endpoints`: per endpoint URL, its cursor over the outbox (events up to
-- `queued_through` were delivered, or wait in `push_deliveries`), until when a replica
-- holds its batch of new events, and whether it is disabled (it answered 410 Gone).
CREATE TABLE push_endpoints (
    url TEXT PRIMARY KEY,
    queued_through BIGINT NOT NULL,
    lease_until TEXT,
    disabled_at TEXT,
    disabled_reason TEXT
);
-- One row per event that was not delivered at its first attempt (or waited behind
-- one of its user's, or was queued again by `redeliver`): `pending` until it is
-- `delivered`, or `dead` once its retry window ran out. A pending event holds back
-- the user's later events for the same endpoint.
CREATE TABLE push_deliveries (
    url TEXT NOT NULL,
    position BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    queued_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (url, position)
);
CREATE INDEX push_deliveries_pending_idx ON push_deliveries (url, next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX push_deliveries_user_idx ON push_deliveries (url, user_id, position)
    WHERE state = 'pending';
-- Every attempt: the HTTP status (none when no answer came), how long it took and
-- what went wrong, in words that never hold a secret.
CREATE TABLE push_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    event_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    attempted_at TEXT NOT NULL,
    status INTEGER,
    latency_ms BIGINT NOT NULL,
    error TEXT
);
CREATE INDEX push_attempts_event_idx ON push_attempts (event_id);
CREATE INDEX push_attempts_attempted_at_idx ON push_attempts (attempted_at);
