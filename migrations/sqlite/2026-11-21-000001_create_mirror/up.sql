-- The mirror of Supabase Auth users, their application-owned profiles,
-- and the ledger that makes every delivery apply exactly once.
--
-- SQLite flavour of migrations/postgres: uuids are hyphenated lower-case TEXT,
-- JSON is TEXT, and timestamps are TEXT in the one format supahook writes,
-- "YYYY-MM-DD HH:MM:SS[.ffffff]+00:00" (UTC), which orders correctly as text.
-- Timestamp columns have no default on purpose: SQLite's CURRENT_TIMESTAMP
-- writes another format, and mixing formats would break that ordering.

CREATE TABLE users (
    id                 TEXT PRIMARY KEY NOT NULL,
    email              TEXT,
    phone              TEXT,
    first_name         TEXT,
    last_name          TEXT,
    avatar_url         TEXT,
    auth_provider      TEXT,
    -- A JSON array of provider names.
    providers          TEXT NOT NULL DEFAULT '[]' CHECK (json_type(providers) = 'array'),
    is_anonymous       BOOLEAN NOT NULL DEFAULT false,
    email_confirmed_at TEXT,
    phone_confirmed_at TEXT,
    last_sign_in_at    TEXT,
    user_metadata      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(user_metadata)),
    app_metadata       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(app_metadata)),
    -- Application-owned: supahook never writes it after the insert.
    is_onboarded       BOOLEAN NOT NULL DEFAULT false,
    auth_created_at    TEXT,
    -- Source time of the newest event applied; older events are stale.
    source_updated_at  TEXT NOT NULL,
    deleted_at         TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);

CREATE INDEX users_email_idx ON users (lower(email));

-- The cascade needs PRAGMA foreign_keys = ON, which supahook sets on every connection.
CREATE TABLE profiles (
    user_id      TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    display_name TEXT,
    avatar_url   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE webhook_events (
    idempotency_key TEXT PRIMARY KEY NOT NULL,
    hook            TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    user_id         TEXT,
    outcome         TEXT NOT NULL,
    received_at     TEXT NOT NULL
);

CREATE INDEX webhook_events_received_at_idx ON webhook_events (received_at);
CREATE INDEX webhook_events_user_id_idx ON webhook_events (user_id);
