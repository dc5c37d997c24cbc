-- Signed webhooks carrying the outbox's lifecycle events to the configured endpoints.
-- `push_endpoints`: per endpoint URL, its cursor over the outbox (events up to
-- `queued_through` were delivered, or wait in `push_deliveries`), until when a replica
-- holds its batch of new events, and whether it is disabled (it answered 410 Gone).
CREATE TABLE push_endpoints (
    url text PRIMARY KEY,
    queued_through bigint NOT NULL,
    lease_until timestamptz,
    disabled_at timestamptz,
    disabled_reason text
);
-- One row per event that was not delivered at its first attempt (or waited behind
-- one of its user's, or was queued again by `redeliver`): `pending` until it is
-- `delivered`, or `dead` once its retry window ran out. A pending event holds back
-- the user's later events for the same endpoint.
CREATE TABLE push_deliveries (
    url text NOT NULL,
    position bigint NOT NULL,
    user_id uuid NOT NULL,
    state text NOT NULL,
    attempts integer NOT NULL,
    queued_at timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (url, position)
);
CREATE INDEX push_deliveries_pending_idx ON push_deliveries (url, next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX push_deliveries_user_idx ON push_deliveries (url, user_id, position)
    WHERE state = 'pending';
-- Every attempt: the HTTP status (none when no answer came), how long it took and
-- what went wrong, in words that never hold a secret.
CREATE TABLE push_attempts (
    id bigserial PRIMARY KEY,
    url text NOT NULL,
    event_id uuid NOT NULL,
    position bigint NOT NULL,
    attempted_at timestamptz NOT NULL,
    status integer,
    latency_ms bigint NOT NULL,
    error text
);
CREATE INDEX push_attempts_event_idx ON push_attempts (event_id);
CREATE INDEX push_attempts_attempted_at_idx ON push_attempts (attempted_at);
