-- The part of a Supabase database that this product relies on, for a plain PostgreSQL cluster.
-- On a real Supabase project all of this already exists; the local stack applies it before
-- `supabase db push`. It mirrors Supabase's names, types and default grants (notably: new
-- tables, sequences and functions in `public` are granted to no API role, so every migration
-- must grant what each role needs itself, exactly as on a hosted project; see below).
-- Idempotent: applied on every start.

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
  if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin login noinherit createrole;
  end if;
  if not exists (select from pg_roles where rolname = 'supabase_realtime_admin') then
    create role supabase_realtime_admin nologin noinherit bypassrls;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;

create schema if not exists extensions;
create schema if not exists auth;
create schema if not exists realtime;

create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

grant usage on schema public, extensions to anon, authenticated, service_role;
grant usage on schema auth, realtime to anon, authenticated, service_role;
grant all on schema auth to supabase_auth_admin;

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

grant all on all tables in schema auth to supabase_auth_admin;
grant all on all sequences in schema auth to supabase_auth_admin;

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
-- from SECURITY DEFINER triggers owned by postgres, which RLS does not restrict. As Supabase's
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
