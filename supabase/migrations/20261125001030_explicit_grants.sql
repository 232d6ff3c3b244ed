-- Explicit grants: every privilege an API role holds is granted by a migration, none by a default.
--
-- Why: Supabase no longer grants new objects in `public` to the API roles (changelog, April 28,
-- 2026: "New tables in the public schema will no longer be exposed to the Data API
-- automatically"; the default for new projects since May 30, 2026, applied to all existing
-- projects since October 30, 2026). Until then every table, sequence and function a migration
-- created was granted to anon, authenticated and service_role by default privileges, and the
-- migrations before this one took back what users must not do and relied on those defaults for
-- the rest: on a project with the new defaults a signed-in user's own reads (conversations,
-- messages, members, account, usage: the Edge Functions run them as `authenticated`) failed
-- with 42501, and the service role could reach no table through the Data API.
--
-- What this grants is what the API roles held under the old defaults (recorded on the local
-- stack before the change; supabase/tests/19_explicit_grants.sql checks it), with no write
-- given back to anon or authenticated. The function grants were already explicit: each
-- migration revokes EXECUTE from public (Postgres grants it to PUBLIC on every new function, and
-- Supabase leaves that in place) and grants its callers. Only where the old defaults gave the
-- service role more than anything uses does this take it back, so a project created before and
-- one created after the change end with the same privileges: TRUNCATE, REFERENCES and TRIGGER
-- on tables and UPDATE (setval) on sequences, which no Data API request can use and nothing
-- of ours does, and EXECUTE on trigger functions, which Postgres never lets anyone call directly.
--
-- The rule from here on: every migration that creates a table, view, sequence or function in
-- `public` (or `private`) states its grants in the same migration: `grant` to each API role
-- what that role needs (service_role included: it gets nothing by default either), and for a
-- function also `revoke execute ... from public` unless everyone may call it. An RLS policy
-- for a role is not a grant: without the grant the role gets 42501, not the policy's rows.

-- ---------------------------------------------------------------------------------------------
-- authenticated: reads its own rows of these tables (RLS decides which rows; each table has a
-- policy `for select to authenticated`). An UPDATE or DELETE through RLS also needs SELECT on
-- the columns it filters on, so profiles (PATCH /account) and conversations (rename, delete)
-- need theirs too. Writes stay as granted before: update of four profile columns and of a
-- conversation's title, delete of a conversation (RLS: its owner); api_keys only by column
-- (never key_hash); idempotency_keys, response_cache and the operational tables not at all.
grant select on
  public.plans,
  public.profiles,
  public.subscriptions,
  public.user_activity_log,
  public.request_counters,
  public.conversations,
  public.conversation_members,
  public.messages,
  public.requests,
  public.usage_records,
  public.usage_totals,
  public.session_usage
  to authenticated;

-- anon: the plans are public (policy "plans are public"), and nothing else.
grant select on public.plans to anon;

-- ---------------------------------------------------------------------------------------------
-- service_role: the server's role (bypasses RLS): reads and writes every table, as through the
-- Data API, and draws from every sequence: every one public has now (a later one states its
-- own grant).
grant select, insert, update, delete on all tables in schema public to service_role;
grant usage, select on all sequences in schema public to service_role;

-- What the old defaults gave the service role beyond that, taken back where a project still
-- has it (one created before October 30, 2026).
revoke truncate, references, trigger on all tables in schema public from service_role;
revoke update on all sequences in schema public from service_role;
revoke execute on function
  public.touch_updated_at(),
  public.handle_new_user(),
  public.handle_user_email_change(),
  public.handle_new_conversation()
  from service_role;
