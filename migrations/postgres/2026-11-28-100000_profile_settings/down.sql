CREATE INDEX webhook_events_received_at_idx ON webhook_events (received_at);
DROP INDEX webhook_events_received_at_key_idx;
ALTER TABLE profiles DROP COLUMN settings;
