-- The console shows how long ago each endpoint last received a delivery: the
-- newest row of one hook, found without reading the whole ledger.
CREATE INDEX webhook_events_hook_received_at_idx ON webhook_events (hook, received_at DESC);
