DROP INDEX outbox_events_recorded_at_idx;
DROP TABLE outbox_events;
