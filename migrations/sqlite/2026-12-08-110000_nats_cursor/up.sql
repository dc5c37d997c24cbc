-- How far the NATS publisher has published the outbox: per JetStream stream, the
-- position of the last event JetStream acknowledged.
CREATE TABLE nats_cursor (
    stream   TEXT PRIMARY KEY NOT NULL,
    position INTEGER NOT NULL
);
