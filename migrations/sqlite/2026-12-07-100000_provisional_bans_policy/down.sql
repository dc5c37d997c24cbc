DROP INDEX users_provisional_created_at_idx;
ALTER TABLE users DROP COLUMN policy_violation;
ALTER TABLE users DROP COLUMN is_sso_user;
ALTER TABLE users DROP COLUMN banned_until;
ALTER TABLE users DROP COLUMN provisional;
