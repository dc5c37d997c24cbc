ALTER TABLE users DROP COLUMN activity_updated_at;
