-- Application-owned settings of a user, a JSON object edited through
-- PATCH /v1/users/{id}/profile; supahook never writes it from a sync.
ALTER TABLE profiles ADD COLUMN settings TEXT NOT NULL DEFAULT '{}'
    CHECK (json_type(settings) = 'object');

-- The read API lists deliveries newest first.
CREATE INDEX webhook_events_received_at_key_idx ON webhook_events (received_at DESC, idempotency_key DESC);
DROP INDEX webhook_events_received_at_idx;
