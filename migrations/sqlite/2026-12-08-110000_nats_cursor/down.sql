DROP TABLE nats_cursor;
