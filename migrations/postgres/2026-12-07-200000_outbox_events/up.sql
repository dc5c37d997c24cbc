-- Auth lifecycle events, each recorded in the transaction of the change that made it.
-- `position` is the order of the feed (assigned in commit order), `sequence` the
-- order of one user's events.
CREATE TABLE outbox_events (
    position bigserial PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    type text NOT NULL,
    user_id uuid NOT NULL,
    sequence bigint NOT NULL,
    recorded_at timestamptz NOT NULL,
    data jsonb NOT NULL,
    UNIQUE (user_id, sequence)
);
CREATE INDEX outbox_events_recorded_at_idx ON outbox_events (recorded_at);
