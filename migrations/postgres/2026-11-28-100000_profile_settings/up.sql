-- Application-owned settings of a user, a JSON object edited through
-- PATCH /v1/users/{id}/profile; supahook never writes it from a sync.
ALTER TABLE profiles ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(settings) = 'object');

-- The read API pages users by id and lists deliveries newest first.
CREATE INDEX webhook_events_received_at_key_idx ON webhook_events (received_at DESC, idempotency_key DESC);
DROP INDEX webhook_events_received_at_idx;
