-- A tombstone now also remembers soft deletes, so it says which kind it is:
-- removed from auth.users (a DELETE) or soft-deleted there. Every tombstone
-- written before this migration came from a DELETE.
ALTER TABLE deleted_users ADD COLUMN removed boolean NOT NULL DEFAULT true;
