-- Where `supahook reconcile --incremental` starts: per source database, the time
-- from which every change of auth.users is known to be mirrored (the start of the
-- last complete run, by the source's clock).
CREATE TABLE reconcile_marks (
    source        text PRIMARY KEY,
    changed_since timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL
);
