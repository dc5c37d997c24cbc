-- pgbench script for the `ceiling` row of bench/run.sh: the statements supahook
-- sends to PostgreSQL for one email sign-up (POST /hooks/before-user-created),
-- in order, one round trip each. Taken from the PostgreSQL statement log of the
-- real server (`bench/run.sh --capture-sql`, log_statement=all, one sign-up
-- replayed); run that again and bring this script in line after changing the
-- storage code. Left out: the `SELECT 1` supahook sends at each pool checkout,
-- which is not work the database must do for a sign-up.
--
-- Values are as supahook sends them, except that every run makes a new user id
-- and idempotency key from two random 64-bit halves, and times are now().
\set uid_hi random(1, 9223372036854775807)
\set uid_lo random(1, 9223372036854775807)
\set key_hi random(1, 9223372036854775807)
\set key_lo random(1, 9223372036854775807)
BEGIN;
INSERT INTO "webhook_events" ("idempotency_key", "hook", "webhook_id", "user_id", "outcome", "received_at") VALUES ((lpad(to_hex(:key_hi::bigint), 16, '0') || lpad(to_hex(:key_lo::bigint), 16, '0'))::uuid::text, 'before-user-created', 'msg_' || lpad(to_hex(:key_hi::bigint), 16, '0') || lpad(to_hex(:key_lo::bigint), 16, '0'), (lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid, 'pending', now()) ON CONFLICT DO NOTHING;
SELECT pg_advisory_xact_lock(1937076321, hashtext((lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid::text));
SELECT "users"."id", "users"."email", "users"."phone", "users"."first_name", "users"."last_name", "users"."avatar_url", "users"."auth_provider", "users"."providers", "users"."is_anonymous", "users"."email_confirmed_at", "users"."phone_confirmed_at", "users"."last_sign_in_at", "users"."user_metadata", "users"."app_metadata", "users"."is_onboarded", "users"."auth_created_at", "users"."source_updated_at", "users"."activity_updated_at", "users"."deleted_at", "users"."created_at", "users"."updated_at", "profiles"."user_id", "profiles"."display_name", "profiles"."avatar_url", "profiles"."created_at", "profiles"."updated_at" FROM ("users" LEFT OUTER JOIN "profiles" ON ("profiles"."user_id" = "users"."id")) WHERE ("users"."id" = (lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid) LIMIT 1;
SELECT "deleted_users"."deleted_at", "deleted_users"."removed" FROM "deleted_users" WHERE ("deleted_users"."id" = (lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid) LIMIT 1;
INSERT INTO "users" ("id", "email", "phone", "first_name", "last_name", "avatar_url", "auth_provider", "providers", "is_anonymous", "email_confirmed_at", "phone_confirmed_at", "last_sign_in_at", "user_metadata", "app_metadata", "is_onboarded", "auth_created_at", "source_updated_at", "activity_updated_at", "deleted_at", "created_at", "updated_at") VALUES ((lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid, 'ceiling-' || lpad(to_hex(:uid_hi::bigint), 16, '0') || '@example.com', DEFAULT, 'Ceiling', 'User', DEFAULT, 'email', '{email}', false, DEFAULT, DEFAULT, DEFAULT, '{"full_name": "Ceiling User"}', '{"provider": "email", "providers": ["email"]}', false, DEFAULT, now(), now(), DEFAULT, now(), now()) ON CONFLICT DO NOTHING;
INSERT INTO "profiles" ("user_id", "display_name", "avatar_url", "created_at", "updated_at") VALUES ((lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid, 'Ceiling User', DEFAULT, now(), now()) ON CONFLICT DO NOTHING;
UPDATE "webhook_events" SET "outcome" = 'created' WHERE ("webhook_events"."idempotency_key" = (lpad(to_hex(:key_hi::bigint), 16, '0') || lpad(to_hex(:key_lo::bigint), 16, '0'))::uuid::text);
COMMIT;
