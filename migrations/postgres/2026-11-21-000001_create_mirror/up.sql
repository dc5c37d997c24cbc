-- The mirror of Supabase Auth users, their application-owned profiles,
-- and the ledger that makes every delivery apply exactly once.

CREATE TABLE users (
    id                 uuid PRIMARY KEY,
    email              text,
    phone              text,
    first_name         text,
    last_name          text,
    avatar_url         text,
    auth_provider      text,
    providers          text[] NOT NULL DEFAULT '{}',
    is_anonymous       boolean NOT NULL DEFAULT false,
    email_confirmed_at timestamptz,
    phone_confirmed_at timestamptz,
    last_sign_in_at    timestamptz,
    user_metadata      jsonb NOT NULL DEFAULT '{}',
    app_metadata       jsonb NOT NULL DEFAULT '{}',
    -- Application-owned: supahook never writes it after the insert.
    is_onboarded       boolean NOT NULL DEFAULT false,
    auth_created_at    timestamptz,
    -- Source time of the newest event applied; older events are stale.
    source_updated_at  timestamptz NOT NULL,
    deleted_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX users_email_idx ON users (lower(email));

CREATE TABLE profiles (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    display_name text,
    avatar_url   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_events (
    idempotency_key text PRIMARY KEY,
    hook            text NOT NULL,
    webhook_id      text NOT NULL,
    user_id         uuid,
    outcome         text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_events_received_at_idx ON webhook_events (received_at);
CREATE INDEX webhook_events_user_id_idx ON webhook_events (user_id);
