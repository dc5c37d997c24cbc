ALTER TABLE deleted_users DROP COLUMN removed;
