-- supahook: removes the signed webhook on auth.users installed by
-- migrations/20260101000000_supahook_auth_users_webhook.sql.
--
-- Run it as the role that applied that migration (postgres on Supabase), in one
-- transaction:
--   psql "$SUPABASE_DB_URL" -v ON_ERROR_STOP=1 -1 -f remove_auth_users_webhook.sql
-- or paste it into the SQL editor. Safe to run more than once.
--
-- It removes the trigger supahook_auth_users_webhook on auth.users, the functions
-- supahook.auth_users_webhook, supahook.auth_users_payload and supahook.sign_webhook,
-- the table supahook.user_versions, the Vault secrets supahook_webhook_secret and
-- supahook_webhook_url, and the schema supahook once nothing else is left in it.
-- It keeps pgcrypto and pg_net, which other things use, and everything else in
-- schema supahook: a supahook mirror kept in this database with
-- SUPAHOOK_DB_SCHEMA=supahook keeps its tables. auth.users itself is never altered
-- beyond the trigger.
--
-- Dropping a trigger takes ownership of auth.users (supabase_auth_admin's), unless
-- the server lets the TRIGGER privilege drop it as well (Supabase's supautils
-- does, through supautils.drop_trigger_grants). Where it is refused, the trigger
-- function is replaced by one that does nothing: the trigger stays but sends and
-- writes nothing, and a WARNING says so. Run this file again as the owner of
-- auth.users to remove the rest.
--
-- Without the trigger, nothing tells supahook about direct edits of auth.users;
-- the Auth Hooks and `supahook reconcile` go on working.

do $$
declare
  has_trigger boolean;
begin
  if pg_catalog.to_regclass('auth.users') is null then
    has_trigger := false;
  else
    select exists (
      select 1 from pg_catalog.pg_trigger
      where tgrelid = 'auth.users'::pg_catalog.regclass
        and tgname = 'supahook_auth_users_webhook'
        and not tgisinternal
    ) into has_trigger;
  end if;

  if has_trigger then
    begin
      drop trigger supahook_auth_users_webhook on auth.users;
      has_trigger := false;
    exception when insufficient_privilege then
      -- Keep the trigger, make it do nothing.
      create or replace function supahook.auth_users_webhook()
      returns trigger
      language plpgsql
      set search_path = ''
      as $body$
      begin
        return null;
      end
      $body$;
      comment on function supahook.auth_users_webhook() is
        'supahook: removed; does nothing. Drop the trigger supahook_auth_users_webhook on auth.users as its owner, then run remove_auth_users_webhook.sql again';
      raise warning 'supahook: not allowed to drop the trigger supahook_auth_users_webhook on auth.users (only its owner may); it now does nothing. Run this file again as the owner of auth.users to remove it.';
    end;
  end if;

  if not has_trigger then
    drop function if exists supahook.auth_users_webhook();
  end if;
end
$$;

do $$
begin
  if pg_catalog.to_regclass('auth.users') is not null then
    drop function if exists supahook.auth_users_payload(text, auth.users, auth.users);
  end if;
end
$$;
drop function if exists supahook.sign_webhook(text, text, bigint, text);
drop table if exists supahook.user_versions;

-- The Vault entries the trigger read (vault.secrets is Supabase Vault's table).
do $$
begin
  if pg_catalog.to_regclass('vault.secrets') is not null then
    delete from vault.secrets
    where name in ('supahook_webhook_secret', 'supahook_webhook_url');
  end if;
end
$$;

-- The schema, only when empty: a mirror's tables or anything else in it stay.
do $$
begin
  if exists (select 1 from pg_catalog.pg_namespace where nspname = 'supahook')
     and not exists (
       select 1 from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'supahook'
       union all
       select 1 from pg_catalog.pg_proc p
       join pg_catalog.pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'supahook'
       union all
       select 1 from pg_catalog.pg_type t
       join pg_catalog.pg_namespace n on n.oid = t.typnamespace
       where n.nspname = 'supahook'
     )
  then
    drop schema supahook;
  elsif exists (select 1 from pg_catalog.pg_namespace where nspname = 'supahook') then
    raise notice 'supahook: schema supahook kept: it holds other objects (a supahook mirror with SUPAHOOK_DB_SCHEMA=supahook, say)';
  end if;
end
$$;
