-- The part of a Supabase database that this product relies on, for a plain PostgreSQL cluster.
-- On a real Supabase project all of this already exists; the local stack applies it before
-- `supabase db push`. It mirrors Supabase's names, types, owners and grants (notably: new
-- tables, sequences and functions in `public` are granted to no API role, so every migration
-- must grant what each role needs itself, exactly as on a hosted project; see below).
-- Idempotent: applied on every start, by the cluster's superuser (supabase_admin).
--
-- Roles as on a hosted project (supabase/postgres: migrations/db/init-scripts and
-- migrations/db/migrations, 10000000000000_demote-postgres.sql and later; supabase/realtime's
-- tenant migrations): supabase_admin is the only superuser; `postgres`, which the migrations,
-- the functions and the tests connect as, is NOSUPERUSER CREATEDB CREATEROLE REPLICATION
-- BYPASSRLS and owns the database (so the public schema); the auth schema's objects belong to
-- supabase_auth_admin and the realtime schema's to supabase_realtime_admin, with the privileges
-- hosted gives postgres on them (all on the auth tables, so triggers on auth.users; all on
-- realtime.messages) and no CREATE on either schema. What Supabase's supautils lets postgres do
-- besides (it is a C module, not available here) is stood in for below, marked "supautils".

do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  -- GoTrue's role (the Auth stand-in logs in as it); without CREATEROLE since 2026
  -- (20260821154147_revoke_createrole_from_auth_admin.sql).
  if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin;
  end if;
  alter role supabase_auth_admin noinherit nocreaterole login noreplication password 'postgres';
  -- Realtime's owner role, as Realtime's tenant migrations create it.
  if not exists (select from pg_roles where rolname = 'supabase_realtime_admin') then
    create role supabase_realtime_admin;
  end if;
  alter role supabase_realtime_admin noinherit nologin noreplication nobypassrls;
  -- postgres, as demote-postgres leaves it. A cluster whose postgres is a superuser (one made
  -- before the stack had these roles, or an external DATABASE_URL's) keeps it: the stack then
  -- runs as that superuser and warns (scripts/stack/database.ts).
  if not exists (select from pg_roles where rolname = 'postgres') then
    create role postgres;
  end if;
  if not (select rolsuper from pg_roles where rolname = 'postgres') then
    alter role postgres nosuperuser createdb createrole login replication bypassrls password 'postgres';
    alter role postgres set search_path to "$user", public, extensions;
  end if;
  -- The database belongs to postgres (supabase/postgres migrate.sh), so does the public schema
  -- (owned by pg_database_owner since PostgreSQL 15).
  execute format('alter database %I owner to postgres', current_database());
  execute format('grant create on database %I to supabase_auth_admin', current_database());
end
$$;

alter role supabase_auth_admin set search_path = auth;
alter role supabase_auth_admin set idle_in_transaction_session_timeout = 60000;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;
grant anon, authenticated, service_role to supabase_realtime_admin;
grant pg_monitor, pg_read_all_data, pg_signal_backend to postgres;
grant execute on function pg_catalog.pg_reload_conf() to postgres;
-- supautils.privileged_role_allowed_configs: settings only a superuser may change that postgres
-- may change on a hosted project (those of the core server; the extensions' ones need theirs).
grant set on parameter session_replication_role, track_io_timing, log_lock_waits, log_min_messages to postgres;

-- supautils: on a hosted project postgres may create, alter, comment and drop the policies of
-- auth's tables and realtime.messages, and drop their triggers (supautils.policy_grants and
-- supautils.drop_trigger_grants), without owning them. PostgreSQL lets only an owner do that,
-- so here postgres is a member of the owner roles (as it was on hosted projects until 2024 for
-- auth and July 2026 for realtime), and the event triggers at the end of this file refuse it
-- everything else that ownership would allow (altering, dropping or commenting those tables,
-- their columns, indexes and functions). Neither owner role has CREATE on its schema here
-- (nothing creates objects as them locally), so postgres gets no CREATE there through them.
grant supabase_auth_admin, supabase_realtime_admin to postgres;

create schema if not exists extensions;
create schema if not exists auth;
create schema if not exists realtime;
alter schema extensions owner to postgres;
alter schema auth owner to current_user;
alter schema realtime owner to current_user;

create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

grant usage on schema public, extensions to anon, authenticated, service_role;
grant usage on schema extensions to supabase_realtime_admin;
grant usage on schema auth, realtime to anon, authenticated, service_role;
-- auth: usage for postgres, no CREATE (20250421084701_revoke_admin_roles_from_postgres.sql)
grant usage on schema auth to postgres;
revoke create on schema auth from postgres;
revoke create on schema auth from supabase_auth_admin;
grant usage on schema auth to supabase_auth_admin, supabase_realtime_admin;
-- realtime: usage with grant option for postgres, no CREATE (Realtime's
-- 20260707120000_restrict_realtime_schema, supabase/postgres 20260506172403)
grant usage on schema realtime to postgres with grant option;
revoke create on schema realtime from postgres;
revoke create on schema realtime from supabase_realtime_admin;
grant usage on schema realtime to supabase_realtime_admin;

-- Supabase's default privileges for new entities, as on every hosted project since October 30,
-- 2026 (new projects since May 30, 2026; changelog of April 28, 2026, "New tables in the public
-- schema will no longer be exposed to the Data API automatically"): the Data API setting
-- "Default privileges for new entities" is off, so Supabase no longer runs
--   alter default privileges for role postgres in schema public grant ... to anon, authenticated, service_role
-- on tables, sequences or functions. A table or sequence our migrations create is therefore
-- reachable by no API role until a migration grants it. Functions keep what Postgres itself
-- gives every new function: EXECUTE to PUBLIC (Supabase does not revoke it; its docs say so:
-- "All functions access is PUBLIC by default"), so a function is callable by every role until
-- its migration revokes that from public, as ours do for all but the few meant for users.
-- Revoked rather than merely not granted, so a database created under the old defaults loses
-- them at its next start, as existing projects did on October 30 (objects already created keep
-- their grants there as here).
alter default privileges for role postgres in schema public
  revoke all on tables from anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  revoke all on sequences from anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  revoke all on functions from anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- auth: the tables GoTrue owns (the columns this product and the Auth stand-in use, same types)

create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique,
  phone_confirmed_at timestamptz,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  banned_until timestamptz,
  deleted_at timestamptz,
  is_sso_user boolean not null default false,
  is_anonymous boolean not null default false,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz
);
create unique index if not exists users_email_partial_key on auth.users (email) where is_sso_user = false;
-- Added with email confirmations (a database made before them lacks these columns).
alter table auth.users add column if not exists confirmation_token varchar(255);
alter table auth.users add column if not exists confirmation_sent_at timestamptz;

create table if not exists auth.identities (
  id uuid primary key default extensions.gen_random_uuid(),
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  unique (provider_id, provider)
);

create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  aal text,
  not_after timestamptz,
  refreshed_at timestamp,
  user_agent text,
  ip inet
);

create table if not exists auth.refresh_tokens (
  instance_id uuid,
  id bigserial primary key,
  token varchar(255) unique,
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);
create index if not exists refresh_tokens_session_id_revoked_idx on auth.refresh_tokens (session_id, revoked);

-- How each session began (GoTrue's AMR claims: password, otp, email/signup, ...), for the
-- access token's `amr`.
create table if not exists auth.mfa_amr_claims (
  session_id uuid not null references auth.sessions (id) on delete cascade,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  authentication_method text not null,
  id uuid primary key,
  unique (session_id, authentication_method)
);

-- The links of confirmation emails (GoTrue's one_time_tokens): a token hash per user and type.
do $$
begin
  create type auth.one_time_token_type as enum (
    'confirmation_token', 'reauthentication_token', 'recovery_token', 'email_change_token_new',
    'email_change_token_current', 'phone_change_token');
exception when duplicate_object then null;
end
$$;
create table if not exists auth.one_time_tokens (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  token_type auth.one_time_token_type not null,
  token_hash text not null check (char_length(token_hash) > 0),
  relates_to text not null,
  created_at timestamp without time zone not null default now(),
  updated_at timestamp without time zone not null default now()
);
create index if not exists one_time_tokens_token_hash_hash_idx on auth.one_time_tokens using hash (token_hash);
create index if not exists one_time_tokens_relates_to_hash_idx on auth.one_time_tokens using hash (relates_to);
create unique index if not exists one_time_tokens_user_id_token_type_key on auth.one_time_tokens (user_id, token_type);

-- PKCE: a sign-up whose client sent a code challenge gets an auth code when its link is followed
-- (GoTrue's flow_state).
do $$
begin
  create type auth.code_challenge_method as enum ('s256', 'plain');
exception when duplicate_object then null;
end
$$;
create table if not exists auth.flow_state (
  id uuid primary key,
  user_id uuid,
  auth_code text,
  code_challenge_method auth.code_challenge_method,
  code_challenge text,
  provider_type text not null,
  provider_access_token text,
  provider_refresh_token text,
  created_at timestamptz,
  updated_at timestamptz,
  authentication_method text not null,
  auth_code_issued_at timestamptz
);
create index if not exists idx_auth_code on auth.flow_state (auth_code);
create index if not exists idx_user_id_auth_method on auth.flow_state (user_id, authentication_method);
-- GoTrue's, for the Auth stand-in's lookups by user (identities of a user, logging a user out).
create index if not exists identities_user_id_idx on auth.identities (user_id);
create index if not exists sessions_user_id_idx on auth.sessions (user_id);

-- The helpers RLS policies call. Same definitions as Supabase's.
create or replace function auth.uid() returns uuid
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt() to anon, authenticated, service_role;

-- Owners and grants as on a hosted project: GoTrue's objects belong to supabase_auth_admin
-- (20211115181400_update-auth-permissions.sql, 20211124212715_update-auth-owner.sql) and postgres
-- holds all privileges on them without grant option (its default privileges there): it may read
-- and write auth's rows, reference auth.users from its tables and create triggers on them, but
-- not create, alter or drop anything in auth. Realtime may call auth's functions.
do $$
declare
  r record;
begin
  for r in select c.oid::regclass as rel from pg_class c
           where c.relnamespace = 'auth'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
  loop
    execute format('alter table %s owner to supabase_auth_admin', r.rel);
  end loop;
  for r in select p.oid::regprocedure as fn from pg_proc p
           where p.pronamespace = 'auth'::regnamespace and p.prokind = 'f'
  loop
    execute format('alter function %s owner to supabase_auth_admin', r.fn);
  end loop;
  for r in select t.oid::regtype as type from pg_type t
           where t.typnamespace = 'auth'::regnamespace and t.typtype in ('e', 'd')
  loop
    execute format('alter type %s owner to supabase_auth_admin', r.type);
  end loop;
end
$$;
grant all on all tables in schema auth to supabase_auth_admin, postgres;
grant all on all sequences in schema auth to supabase_auth_admin, postgres;
grant all on all routines in schema auth to postgres;
grant execute on all functions in schema auth to supabase_realtime_admin;

-- ---------------------------------------------------------------------------------------------
-- realtime: the table private-channel authorization and database broadcasts go through

create table if not exists realtime.messages (
  id uuid not null default extensions.gen_random_uuid(),
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp not null default now(),
  inserted_at timestamp not null default now(),
  primary key (id, inserted_at)
);
alter table realtime.messages enable row level security;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;

create or replace function realtime.topic() returns text
language sql stable as $$
  select nullif(current_setting('realtime.topic', true), '')::text
$$;
grant execute on function realtime.topic() to anon, authenticated, service_role;

-- As Supabase defines it (supabase/realtime, lib/realtime/tenants/repo/migrations/*send*): SECURITY
-- INVOKER, callable by every role (Realtime grants execute on its functions to anon,
-- authenticated and service_role). What a caller may broadcast is what RLS on realtime.messages
-- lets them insert, with realtime.topic() set to the topic as for a client's broadcast: members
-- on their conversation's channel, anon and strangers nowhere. The product's own broadcasts come
-- from SECURITY DEFINER triggers owned by postgres, whose BYPASSRLS lets them through. As Supabase's
-- current definition, a payload without an "id" gains the message's id (so clients see one in
-- every payload on hosted projects, and here too).
create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql security invoker set search_path = '' as $$
declare
  generated_id uuid := pg_catalog.gen_random_uuid();
begin
  begin
    perform set_config('realtime.topic', topic, true);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (generated_id,
            case when payload ? 'id' then payload else jsonb_set(payload, '{id}', to_jsonb(generated_id)) end,
            event, topic, private, 'broadcast');
  exception when others then
    -- As on Supabase: a failed broadcast must never fail the caller's transaction.
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;
grant execute on function realtime.send(jsonb, text, text, boolean) to anon, authenticated, service_role;

-- Owners and grants as on a hosted project: Realtime's objects belong to supabase_realtime_admin
-- (Realtime's 20260707120000_restrict_realtime_schema); postgres holds all privileges on them
-- (Realtime's migrations run as supabase_admin, whose default privileges in realtime grant all to
-- postgres: supabase/postgres 20211130151719_update-realtime-permissions.sql).
alter table realtime.messages owner to supabase_realtime_admin;
alter function realtime.topic() owner to supabase_realtime_admin;
alter function realtime.send(jsonb, text, text, boolean) owner to supabase_realtime_admin;
grant all on realtime.messages to supabase_realtime_admin, postgres;
grant all on function realtime.topic(), realtime.send(jsonb, text, text, boolean) to postgres;

-- Database broadcasts reach Realtime as on Supabase: Realtime reads the rows committed to
-- realtime.messages from logical replication (pgoutput, through this publication, on a temporary
-- slot; scripts/stack/realtime/db-listener.ts), so rolled-back rows (Realtime's authorization
-- probes) are never sent, payloads have no size limit, and writers pay nothing beyond their WAL.
-- Supabase's realtime.messages is partitioned by day; publishing through the root keeps rows
-- named realtime.messages should the table here ever be partitioned too. Only inserts are
-- broadcast, so only inserts are published.
do $$
begin
  if not exists (select from pg_publication where pubname = 'supabase_realtime_messages_publication') then
    create publication supabase_realtime_messages_publication;
  end if;
end
$$;
alter publication supabase_realtime_messages_publication set table realtime.messages;
alter publication supabase_realtime_messages_publication
  set (publish = 'insert', publish_via_partition_root = true);

-- Databases created before the stand-in read replication: their rows were NOTIFYed by a trigger.
drop trigger if exists local_stack_notify_message on realtime.messages;
drop function if exists realtime.local_stack_notify_message();

-- ---------------------------------------------------------------------------------------------
-- supautils: privileged extensions. On a hosted project postgres may create pg_cron (and every
-- extension of supautils.privileged_extensions): supautils runs the CREATE EXTENSION as
-- supabase_admin, in pg_catalog (supautils.extensions_parameter_overrides), then the after-create
-- script grants postgres its share (supabase/postgres: postgresql_extension_custom_scripts/pg_cron,
-- 20231020085357_revoke_writes_on_cron_job_from_postgres.sql,
-- 20260730000000_revoke_trigger_on_cron_tables_from_postgres.sql). Nothing in SQL can run a
-- non-superuser's CREATE EXTENSION as a superuser, so here the superuser creates pg_cron
-- beforehand (where it is installed and preloaded), with the same owner, schema and grants: the
-- state of a hosted project where it was enabled, in which the migrations' `create extension if
-- not exists pg_cron` does nothing. pgTAP needs no superuser (its control file says so): postgres
-- creates it in `extensions`, where it has CREATE as on a hosted project.
do $$
begin
  if exists (select from pg_available_extensions where name = 'pg_cron')
     and current_setting('shared_preload_libraries') like '%pg_cron%' then
    create extension if not exists pg_cron with schema pg_catalog;
    grant usage on schema cron to postgres with grant option;
    grant all on all functions in schema cron to postgres with grant option;
    execute format('alter default privileges for role %I in schema cron grant all on sequences to postgres with grant option', current_user);
    execute format('alter default privileges for role %I in schema cron grant all on tables to postgres with grant option', current_user);
    execute format('alter default privileges for role %I in schema cron grant all on functions to postgres with grant option', current_user);
    grant all privileges on all tables in schema cron to postgres with grant option;
    revoke all on table cron.job from postgres;
    grant select on table cron.job to postgres with grant option;
    revoke trigger on cron.job_run_details from postgres;
  end if;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- supautils: what postgres may do to auth's and realtime's objects. Through its membership in
-- their owner roles (above) PostgreSQL would let postgres do all an owner does; a hosted project
-- lets it create triggers on their tables (its TRIGGER privilege), and manage the policies and
-- drop the triggers of the tables supautils.policy_grants and supautils.drop_trigger_grants name
-- for it. These event triggers, owned by the superuser, refuse anything else any role but a
-- superuser or the owner role itself (logged in as such) does to an object of either schema, as
-- the hosted project would (42501); the tables named are those of Supabase's policy and drop
-- trigger grants that exist here or may. Objects dropped because something else was (a public table's
-- foreign key's triggers on auth.users) are not checked, as PostgreSQL checks no owner for them.
-- They live in a schema of the superuser's (postgres owns extensions, and a schema's owner may
-- drop what is in it, the triggers with it), and fire always: also in session_replication_role
-- replica, which postgres may set.
create schema if not exists local_stack;
alter schema local_stack owner to current_user;
revoke all on schema local_stack from public;
drop function if exists local_stack.granted_tables() cascade;
-- One guard for both events: what a DDL command created or altered (ddl_command_end), and what
-- it dropped (sql_drop), each as (object type, identity, its schema, the table it is on).
create or replace function local_stack.guard() returns event_trigger
language plpgsql set search_path = '' as $$
declare
  -- the tables whose policies postgres manages and whose triggers it drops (supautils'
  -- policy_grants and drop_trigger_grants: those that exist here or may)
  granted constant text[] := array['auth.audit_log_entries', 'auth.identities', 'auth.refresh_tokens',
                                   'auth.sessions', 'auth.users', 'realtime.messages', 'realtime.subscription'];
  o record;
begin
  if (select rolsuper from pg_catalog.pg_roles where rolname = current_user)
     or (current_user = session_user and current_user in ('supabase_auth_admin', 'supabase_realtime_admin')) then
    return;
  end if;
  for o in
    select object_type, object_identity, schema_name, tbl,
           -- a trigger created on any of their tables; a granted table's policies managed and
           -- its triggers dropped
           (object_type = 'trigger' and command_tag = 'CREATE TRIGGER')
             or (tbl = any (granted) and case when dropped then object_type in ('policy', 'trigger')
                                              else object_type = 'policy'
                                                   and command_tag in ('CREATE POLICY', 'ALTER POLICY', 'COMMENT')
                                         end) as allowed
    from (
      select cmd.object_type, cmd.object_identity, cmd.command_tag, false as dropped,
             coalesce(cmd.schema_name, n.nspname) as schema_name, c.oid::regclass::text as tbl
      from pg_catalog.pg_event_trigger_ddl_commands() cmd
      left join pg_catalog.pg_class c on c.oid = case cmd.object_type
        when 'policy' then (select polrelid from pg_catalog.pg_policy where oid = cmd.objid)
        when 'trigger' then (select tgrelid from pg_catalog.pg_trigger where oid = cmd.objid)
        when 'rule' then (select ev_class from pg_catalog.pg_rewrite where oid = cmd.objid) end
      left join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where tg_event = 'ddl_command_end' and not cmd.in_extension
      union all
      select d.object_type, d.object_identity, 'DROP', true,
             coalesce(d.schema_name, case when d.object_type in ('policy', 'trigger', 'rule') then d.address_names[1] end),
             format('%s.%s', d.address_names[1], d.address_names[2])
      from pg_catalog.pg_event_trigger_dropped_objects() d
      where tg_event = 'sql_drop' and d.original
    ) commands
    where schema_name in ('auth', 'realtime')
  loop
    continue when o.allowed;
    raise exception 'must be owner of % %', o.object_type, o.object_identity
      using errcode = '42501',
            hint = format('On a hosted Supabase project %I does not own the objects of schema %s: it may '
                          'create triggers on its tables, drop them, and manage the policies of auth''s '
                          'tables and realtime.messages (local stand-in: scripts/stack/supabase-base.sql).',
                          current_user, o.schema_name);
  end loop;
end
$$;

drop event trigger if exists local_stack_managed_ddl;
drop event trigger if exists local_stack_managed_drop;
drop function if exists extensions.local_stack_managed_ddl(), extensions.local_stack_managed_drop(),
                        local_stack.managed_ddl(), local_stack.managed_drop();
create event trigger local_stack_managed_ddl on ddl_command_end execute function local_stack.guard();
create event trigger local_stack_managed_drop on sql_drop execute function local_stack.guard();
alter event trigger local_stack_managed_ddl enable always;
alter event trigger local_stack_managed_drop enable always;
