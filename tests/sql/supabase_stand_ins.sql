-- Stand-ins that make a plain PostgreSQL 15 database look enough like a Supabase
-- database for deploy/supabase/migrations/*_supahook_auth_users_webhook.sql to
-- apply and run. Test use only: never apply this to a real Supabase project.
--
-- What is imitated:
--   * roles anon, authenticated, service_role and supabase_auth_admin (the owner of auth.users);
--   * schema extensions with pgcrypto in it (where Supabase keeps pgcrypto);
--   * auth.users with the columns, types, defaults and constraints of Supabase Auth;
--   * vault.secrets and the view vault.decrypted_secrets, unencrypted, plus vault.create_secret;
--   * net.http_post with pg_net's signature. Instead of sending anything it records
--     the request in net.captured_requests, with the body exactly as pg_net would
--     send it (convert_to(body::text, 'UTF8')), decoded back to text.
--
-- Safe to run more than once.

-- Roles ---------------------------------------------------------------------
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role', 'supabase_auth_admin'] loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      begin
        execute pg_catalog.format('create role %I nologin', r);
      exception when duplicate_object or unique_violation then
        null; -- created meanwhile by a concurrent test; roles are cluster-wide
      end;
    end if;
  end loop;
end
$$;

-- Schemas and pgcrypto ------------------------------------------------------
create schema if not exists extensions;
create schema if not exists auth authorization supabase_auth_admin;
create schema if not exists vault;
create schema if not exists net;

create extension if not exists pgcrypto with schema extensions;

-- auth.users ----------------------------------------------------------------
create table if not exists auth.users (
  instance_id                 uuid,
  id                          uuid not null,
  aud                         varchar(255),
  role                        varchar(255),
  email                       varchar(255),
  encrypted_password          varchar(255),
  email_confirmed_at          timestamptz,
  invited_at                  timestamptz,
  confirmation_token          varchar(255),
  confirmation_sent_at        timestamptz,
  recovery_token              varchar(255),
  recovery_sent_at            timestamptz,
  email_change_token_new      varchar(255),
  email_change                varchar(255),
  email_change_sent_at        timestamptz,
  last_sign_in_at             timestamptz,
  raw_app_meta_data           jsonb,
  raw_user_meta_data          jsonb,
  is_super_admin              boolean,
  created_at                  timestamptz,
  updated_at                  timestamptz,
  phone                       text default null,
  phone_confirmed_at          timestamptz,
  phone_change                text default '',
  phone_change_token          varchar(255) default '',
  phone_change_sent_at        timestamptz,
  confirmed_at                timestamptz
                              generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current  varchar(255) default '',
  email_change_confirm_status smallint default 0,
  banned_until                timestamptz,
  reauthentication_token      varchar(255) default '',
  reauthentication_sent_at    timestamptz,
  is_sso_user                 boolean not null default false,
  deleted_at                  timestamptz,
  is_anonymous                boolean not null default false,
  constraint users_pkey primary key (id),
  constraint users_phone_key unique (phone),
  constraint users_email_change_confirm_status_check
    check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2)
);

create unique index if not exists users_email_partial_key
  on auth.users (email) where (is_sso_user = false);
create index if not exists users_instance_id_idx on auth.users (instance_id);
create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower(email::text));
create index if not exists users_is_anonymous_idx on auth.users (is_anonymous);

alter table auth.users owner to supabase_auth_admin;

-- Vault ---------------------------------------------------------------------
-- On Supabase, vault.secrets holds the secrets encrypted and the view
-- vault.decrypted_secrets decrypts them; here both hold plain text.
create table if not exists vault.secrets (
  id     uuid primary key default pg_catalog.gen_random_uuid(),
  name   text unique,
  secret text not null
);
create or replace view vault.decrypted_secrets as
  select id, name, secret as decrypted_secret from vault.secrets;

-- Same call shape as Supabase's vault.create_secret, so setup instructions can be
-- tried out here unchanged.
create or replace function vault.create_secret(
  new_secret      text,
  new_name        text default null,
  new_description text default '',
  new_key_id      uuid default null
)
returns uuid
language plpgsql
set search_path = ''
as $$
begin
  insert into vault.decrypted_secrets (name, decrypted_secret) values (new_name, new_secret);
  return pg_catalog.gen_random_uuid();
end
$$;

-- pg_net --------------------------------------------------------------------
create table if not exists net.captured_requests (
  id      bigserial primary key,
  url     text,
  headers jsonb,
  body    text
);

-- Signature and defaults as in pg_net. Like pg_net, it adds Content-Type when the
-- headers lack it, insists that it is application/json, and rejects a null body.
create or replace function net.http_post(
  url                  text,
  body                 jsonb   default '{}'::jsonb,
  params               jsonb   default '{}'::jsonb,
  headers              jsonb   default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
)
returns bigint
language plpgsql
volatile
set search_path = ''
as $$
declare
  content_type text;
  request_id   bigint;
begin
  select h.value into content_type
  from pg_catalog.jsonb_each_text(coalesce(headers, '{}'::jsonb)) as h(key, value)
  where pg_catalog.lower(h.key) = 'content-type'
  limit 1;

  if content_type is null then
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  elsif content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;

  if body is null then
    raise exception 'body must not be null';
  end if;

  insert into net.captured_requests (url, headers, body)
  values (
    url,
    headers,
    pg_catalog.convert_from(pg_catalog.convert_to(body::text, 'UTF8'), 'UTF8')
  )
  returning id into request_id;

  return request_id;
end
$$;
