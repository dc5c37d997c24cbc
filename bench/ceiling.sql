-- pgbench script for the `ceiling` row of bench/run.sh: the statements supahook
-- sends to PostgreSQL for one email sign-up (POST /hooks/before-user-created), in
-- the same order and the same two round trips: BEGIN, the user's lock and one
-- read in one pipeline; the writes and COMMIT in the other (src/storage/postgres/tx.rs
-- sends each step at once; each write takes its rows as arrays, one element here,
-- up to a batch's worth when deliveries share a transaction). The statements come
-- from the PostgreSQL statement log of the real server (`bench/run.sh
-- --capture-sql`: log_statement=all while one sign-up is replayed); run it again
-- and bring this script in line after changing the storage code.
--
-- Values are as supahook sends them, except that every transaction makes a new
-- user id and idempotency key from random 64-bit halves, and times are now().
-- Needs -M extended or -M prepared (pipelines); run.sh uses prepared, as supahook does.
\set uid_hi random(1, 9223372036854775807)
\set uid_lo random(1, 9223372036854775807)
\set key_hi random(1, 9223372036854775807)
\set key_lo random(1, 9223372036854775807)
\startpipeline
BEGIN;
SELECT pg_advisory_xact_lock(1937076321, hashtext(id::text)) FROM unnest((SELECT ARRAY[(lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid])) AS id;
SELECT u.*, p.*, d.*, w.idempotency_key FROM unnest((SELECT ARRAY[(lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid]), (SELECT ARRAY[(lpad(to_hex(:key_hi::bigint), 16, '0') || lpad(to_hex(:key_lo::bigint), 16, '0'))::uuid::text])) AS i(id, key) LEFT JOIN LATERAL (SELECT id, email, phone, first_name, last_name, avatar_url, auth_provider, providers, is_anonymous, email_confirmed_at, phone_confirmed_at, last_sign_in_at, user_metadata, app_metadata, is_onboarded, auth_created_at, source_updated_at, activity_updated_at, deleted_at, created_at, updated_at FROM users WHERE users.id = i.id OFFSET 0) AS u ON true LEFT JOIN LATERAL (SELECT user_id, display_name, avatar_url, created_at, updated_at FROM profiles WHERE profiles.user_id = i.id OFFSET 0) AS p ON true LEFT JOIN LATERAL (SELECT id, deleted_at, removed FROM deleted_users WHERE deleted_users.id = i.id OFFSET 0) AS d ON true LEFT JOIN LATERAL (SELECT idempotency_key FROM webhook_events WHERE webhook_events.idempotency_key = i.key OFFSET 0) AS w ON true;
\endpipeline
\startpipeline
INSERT INTO users (id, email, phone, first_name, last_name, avatar_url, auth_provider, providers, is_anonymous, email_confirmed_at, phone_confirmed_at, last_sign_in_at, user_metadata, app_metadata, is_onboarded, auth_created_at, source_updated_at, activity_updated_at, deleted_at, created_at, updated_at) SELECT id, email, phone, first_name, last_name, avatar_url, auth_provider, ARRAY(SELECT json_array_elements_text(providers::json)), is_anonymous, email_confirmed_at, phone_confirmed_at, last_sign_in_at, user_metadata, app_metadata, is_onboarded, auth_created_at, source_updated_at, activity_updated_at, deleted_at, created_at, updated_at FROM unnest(ARRAY[(lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid], ARRAY['ceiling-' || lpad(to_hex(:uid_hi::bigint), 16, '0') || '@example.com'], ARRAY[NULL::text], ARRAY['Ceiling'], ARRAY['User'], ARRAY[NULL::text], ARRAY['email'], ARRAY['["email"]'], ARRAY[false], ARRAY[NULL::timestamptz], ARRAY[NULL::timestamptz], ARRAY[NULL::timestamptz], ARRAY['{"full_name": "Ceiling User"}'::jsonb], ARRAY['{"provider": "email", "providers": ["email"]}'::jsonb], ARRAY[false], ARRAY[NULL::timestamptz], ARRAY[now()], ARRAY[now()], ARRAY[NULL::timestamptz], ARRAY[now()], ARRAY[now()]) AS u(id, email, phone, first_name, last_name, avatar_url, auth_provider, providers, is_anonymous, email_confirmed_at, phone_confirmed_at, last_sign_in_at, user_metadata, app_metadata, is_onboarded, auth_created_at, source_updated_at, activity_updated_at, deleted_at, created_at, updated_at);
INSERT INTO profiles (user_id, display_name, avatar_url, created_at, updated_at) SELECT * FROM unnest(ARRAY[(lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid], ARRAY['Ceiling User'], ARRAY[NULL::text], ARRAY[now()], ARRAY[now()]) ON CONFLICT DO NOTHING;
INSERT INTO webhook_events (idempotency_key, hook, webhook_id, user_id, outcome, received_at) SELECT * FROM unnest(ARRAY[(lpad(to_hex(:key_hi::bigint), 16, '0') || lpad(to_hex(:key_lo::bigint), 16, '0'))::uuid::text], ARRAY['before-user-created'], ARRAY['msg_' || lpad(to_hex(:key_hi::bigint), 16, '0') || lpad(to_hex(:key_lo::bigint), 16, '0')], ARRAY[(lpad(to_hex(:uid_hi::bigint), 16, '0') || lpad(to_hex(:uid_lo::bigint), 16, '0'))::uuid], ARRAY['created'], ARRAY[now()]) ON CONFLICT DO NOTHING;
COMMIT;
\endpipeline
