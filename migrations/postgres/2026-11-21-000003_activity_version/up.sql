-- Token claims carry no confirmation, sign-in or delete times, so those columns
-- get their own version: a token issued after a row change must not make it stale.
ALTER TABLE users ADD COLUMN activity_updated_at timestamptz;
