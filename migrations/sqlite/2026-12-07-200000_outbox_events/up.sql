-- Auth lifecycle events, each recorded in the transaction of the change that made it.
-- `position` is the order of the feed (never reused), `sequence` the order of one
-- user's events.
CREATE TABLE outbox_events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    recorded_at TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (user_id, sequence)
);
CREATE INDEX outbox_events_recorded_at_idx ON outbox_events (recorded_at);
