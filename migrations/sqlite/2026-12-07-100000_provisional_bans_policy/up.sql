-- provisional: seen only in before-user-created, whose sign-up may still roll back;
-- cleared by the first source that shows Supabase kept the user. Rows mirrored
-- before this migration count as confirmed.
-- banned_until, is_sso_user: mirrored from auth.users.
-- policy_violation: the email is one the sign-up policy refuses, reached by a
-- path that never asks before-user-created (an admin, an email change).
ALTER TABLE users ADD COLUMN provisional BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN banned_until TEXT;
ALTER TABLE users ADD COLUMN is_sso_user BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN policy_violation BOOLEAN NOT NULL DEFAULT false;

-- serve looks for provisional users past their grace period every minute.
CREATE INDEX users_provisional_created_at_idx ON users (created_at) WHERE provisional;
