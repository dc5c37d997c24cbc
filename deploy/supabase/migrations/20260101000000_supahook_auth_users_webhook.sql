-- supahook: a signed webhook for changes to auth.users
--
-- Supabase "Database Webhooks" are unsigned. This migration installs an
-- AFTER INSERT/UPDATE/DELETE trigger on auth.users that sends the same payload a
-- Database Webhook would, minus password hashes and tokens, signed the Standard
-- Webhooks way (webhook-id, webhook-timestamp, webhook-signature), through pg_net.
--
-- Before (or after) applying it, store two Vault secrets:
--   select vault.create_secret('v1,whsec_<base64>', 'supahook_webhook_secret');
--   select vault.create_secret('https://supahook.example.com/hooks/auth-users', 'supahook_webhook_url');
-- Several secrets may be given, separated by '|', to rotate without downtime;
-- the request then carries one signature per secret, separated by a space.
--
-- Each payload carries "changed_at", the time of the change itself
-- (clock_timestamp() in the trigger), and supahook orders the events by it: a
-- direct SQL edit leaves auth.users.updated_at alone, but still happens after the
-- tokens issued before it. The same time is kept per user in
-- supahook.user_versions, so that `supahook reconcile` can repair a lost event.
--
-- The trigger never aborts the Auth transaction: when a secret is missing or the
-- request cannot be queued it raises a WARNING and the user change goes ahead.
-- pg_net sends each request once, after commit, and does not retry.
--
-- Safe to apply more than once, also as a role that holds ALL privileges on
-- auth.users without owning it (the "postgres" role on Supabase): nothing here
-- drops or alters the table or its trigger.

-- Extensions ----------------------------------------------------------------

create schema if not exists extensions;

-- pgcrypto provides hmac(). Supabase keeps it in schema "extensions", and the
-- functions below call extensions.hmac, so it has to live there.
do $$
declare
  crypto_schema name;
begin
  select n.nspname into crypto_schema
  from pg_catalog.pg_extension e
  join pg_catalog.pg_namespace n on n.oid = e.extnamespace
  where e.extname = 'pgcrypto';

  if crypto_schema is null then
    create extension pgcrypto with schema extensions;
  elsif crypto_schema <> 'extensions' then
    raise exception 'supahook: pgcrypto is installed in schema "%", but supahook expects it in schema "extensions"', crypto_schema
      using hint = 'Move it with: alter extension pgcrypto set schema extensions;';
  end if;
end
$$;

-- pg_net sends the requests. Its functions always live in schema "net". It is
-- only created where the server offers it, so the rest of this file can also be
-- applied to a plain PostgreSQL (for tests, with a stand-in net.http_post).
do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net with schema extensions;
  else
    raise notice 'supahook: extension pg_net is not available on this server; net.http_post must be provided some other way';
  end if;
end
$$;

-- Schema --------------------------------------------------------------------

create schema if not exists supahook;
comment on schema supahook is 'supahook: signed webhook from auth.users to the supahook service';
revoke all on schema supahook from public;

-- supahook.user_versions ----------------------------------------------------
-- The time of the last change to each user, written by the trigger in the same
-- transaction as the change, so a snapshot read by reconcile carries the version
-- of the row it reads.
create table if not exists supahook.user_versions (
  id         uuid primary key,
  changed_at timestamptz not null
);
comment on table supahook.user_versions is 'supahook: time of the last change to each auth.users row, for reconcile';
revoke all on table supahook.user_versions from public;

-- supahook.sign_webhook -----------------------------------------------------
-- Standard Webhooks v1 signature(s) for one message.
--   secrets: 'v1,whsec_<base64>', or several of them separated by '|'
--   returns: 'v1,<base64 HMAC-SHA256>' per secret, separated by a single space
-- The HMAC key is the base64-decoded part after 'v1,whsec_'. The signed content
-- is msg_id || '.' || ts || '.' || body, as UTF-8 bytes.
create or replace function supahook.sign_webhook(secrets text, msg_id text, ts bigint, body text)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  content    bytea;
  part       text;
  key_b64    text;
  n          integer := 0;
  signatures text[] := '{}';
begin
  if secrets is null then
    raise exception 'supahook: no webhook secret given' using errcode = '22004';
  end if;
  if msg_id is null or ts is null or body is null then
    raise exception 'supahook: msg_id, ts and body must not be null' using errcode = '22004';
  end if;

  content := pg_catalog.convert_to(msg_id || '.' || ts::text || '.' || body, 'UTF8');

  foreach part in array pg_catalog.string_to_array(secrets, '|') loop
    n := n + 1;
    part := pg_catalog.btrim(part, E' \t\r\n');
    continue when part = '';

    -- The secret itself is never put into an error message.
    if pg_catalog.left(part, 9) <> 'v1,whsec_' then
      raise exception 'supahook: webhook secret #% is not of the form v1,whsec_<base64>', n
        using errcode = '22023';
    end if;
    key_b64 := pg_catalog.substr(part, 10);
    if key_b64 = ''
       or key_b64 !~ '^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$' then
      raise exception 'supahook: webhook secret #% is not of the form v1,whsec_<base64>: the part after whsec_ must be padded standard base64', n
        using errcode = '22023';
    end if;

    signatures := signatures || ('v1,' || pg_catalog.translate(
      pg_catalog.encode(
        extensions.hmac(content, pg_catalog.decode(key_b64, 'base64'), 'sha256'),
        'base64'),
      E'\r\n', ''));
  end loop;

  if pg_catalog.cardinality(signatures) = 0 then
    raise exception 'supahook: webhook secret is empty' using errcode = '22023';
  end if;

  return pg_catalog.array_to_string(signatures, ' ');
end
$$;

comment on function supahook.sign_webhook(text, text, bigint, text) is
  'Standard Webhooks v1 signatures (space-separated) of msg_id.ts.body for each |-separated v1,whsec_ secret';

-- supahook.auth_users_payload -----------------------------------------------
-- The Database Webhook payload for a change to auth.users:
--   {"type": op, "table": "users", "schema": "auth", "record": ..., "old_record": ...}
-- with record null on DELETE and old_record null on INSERT. Rows are to_jsonb(row)
-- without the password hash and the one-time tokens. Timestamps are rendered in
-- UTC ("+00:00") whatever the session's TimeZone is.
create or replace function supahook.auth_users_payload(op text, new_row auth.users, old_row auth.users)
returns jsonb
language plpgsql
stable
set search_path = ''
set timezone = 'UTC'
as $$
declare
  sensitive constant text[] := array[
    'encrypted_password',
    'confirmation_token',
    'recovery_token',
    'email_change_token_new',
    'email_change_token_current',
    'phone_change_token',
    'reauthentication_token'
  ];
begin
  if op is null or op not in ('INSERT', 'UPDATE', 'DELETE') then
    raise exception 'supahook: unknown operation %', coalesce(op, 'NULL') using errcode = '22023';
  end if;

  return pg_catalog.jsonb_build_object(
    'type', op,
    'table', 'users',
    'schema', 'auth',
    'record',
      case when op in ('INSERT', 'UPDATE') then pg_catalog.to_jsonb(new_row) - sensitive end,
    'old_record',
      case when op in ('UPDATE', 'DELETE') then pg_catalog.to_jsonb(old_row) - sensitive end
  );
end
$$;

comment on function supahook.auth_users_payload(text, auth.users, auth.users) is
  'Database Webhook payload for auth.users without encrypted_password and token columns';

-- supahook.auth_users_webhook -----------------------------------------------
-- Trigger function. Reads the secret and URL from Vault, builds and signs the
-- payload, and queues a POST with pg_net. Every failure becomes a WARNING: an
-- error here would abort the Auth transaction and break sign-ups.
create or replace function supahook.auth_users_webhook()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_secret    text;
  v_url       text;
  v_payload   jsonb;
  v_msg_id    text;
  v_timestamp bigint;
  v_signature text;
  v_user_id   uuid;
  v_changed   timestamptz;
begin
  v_user_id := case when tg_op = 'DELETE' then old.id else new.id end;
  v_changed := pg_catalog.clock_timestamp();

  begin
    if tg_op = 'DELETE' then
      delete from supahook.user_versions where id = v_user_id;
    else
      insert into supahook.user_versions (id, changed_at) values (v_user_id, v_changed)
      on conflict (id) do update set changed_at = excluded.changed_at;
    end if;

    select s.decrypted_secret into v_secret
    from vault.decrypted_secrets as s
    where s.name = 'supahook_webhook_secret'
    limit 1;

    select s.decrypted_secret into v_url
    from vault.decrypted_secrets as s
    where s.name = 'supahook_webhook_url'
    limit 1;

    v_secret := pg_catalog.btrim(v_secret, E' \t\r\n');
    v_url := pg_catalog.btrim(v_url, E' \t\r\n');

    if v_secret is null or v_secret = '' then
      raise warning 'supahook: Vault secret "supahook_webhook_secret" is missing or empty; % of auth.users % not sent',
        tg_op, v_user_id;
      return null;
    end if;
    if v_url is null or v_url = '' then
      raise warning 'supahook: Vault secret "supahook_webhook_url" is missing or empty; % of auth.users % not sent',
        tg_op, v_user_id;
      return null;
    end if;

    -- Built once: the text that is signed is exactly the text pg_net sends,
    -- convert_to(v_payload::text, 'UTF8').
    v_payload := supahook.auth_users_payload(tg_op, new, old)
      || pg_catalog.jsonb_build_object('changed_at',
           pg_catalog.to_char(v_changed at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
    v_msg_id := pg_catalog.gen_random_uuid()::text;
    v_timestamp := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()))::bigint;
    v_signature := supahook.sign_webhook(v_secret, v_msg_id, v_timestamp, v_payload::text);

    perform net.http_post(
      url := v_url,
      body := v_payload,
      params := '{}'::jsonb,
      headers := pg_catalog.jsonb_build_object(
        'Content-Type', 'application/json',
        'webhook-id', v_msg_id,
        'webhook-timestamp', v_timestamp::text,
        'webhook-signature', v_signature
      ),
      timeout_milliseconds := 2000
    );
  exception when others then
    raise warning 'supahook: % of auth.users % not sent: % (SQLSTATE %)',
      tg_op, v_user_id, sqlerrm, sqlstate;
  end;

  return null;
end
$$;

comment on function supahook.auth_users_webhook() is
  'AFTER trigger on auth.users: queues a signed webhook to supahook via pg_net; never fails the transaction';

-- Privileges ----------------------------------------------------------------
-- Nothing here is for API roles. The trigger still fires for every role that
-- changes auth.users; it runs as the owner of supahook.auth_users_webhook.
revoke all on function supahook.sign_webhook(text, text, bigint, text) from public, anon, authenticated;
revoke all on function supahook.auth_users_payload(text, auth.users, auth.users) from public, anon, authenticated;
revoke all on function supahook.auth_users_webhook() from public, anon, authenticated;

-- Trigger -------------------------------------------------------------------

-- Created only when missing: dropping a trigger needs ownership of auth.users,
-- which the role applying this on Supabase does not have. The trigger calls the
-- function by name, so the function above is replaced in place.
do $$
begin
  if not exists (
    select 1 from pg_catalog.pg_trigger
    where tgrelid = 'auth.users'::pg_catalog.regclass
      and tgname = 'supahook_auth_users_webhook'
      and not tgisinternal
  ) then
    create trigger supahook_auth_users_webhook
      after insert or update or delete on auth.users
      for each row execute function supahook.auth_users_webhook();
  end if;
end
$$;
