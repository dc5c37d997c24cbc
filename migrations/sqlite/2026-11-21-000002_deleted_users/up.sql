-- Users deleted upstream. A late event about one of them must never bring it
-- back, even when the row itself was removed (SUPAHOOK_ON_DELETE=hard).
CREATE TABLE deleted_users (
    id         TEXT PRIMARY KEY NOT NULL,
    deleted_at TEXT NOT NULL
);
