-- The migrations and these tests run as on a hosted project: as `postgres`, which is no superuser,
-- beside auth's and realtime's objects, which belong to their services' roles. What postgres may
-- do to those (create triggers on auth.users, manage policies on realtime.messages) and may not
-- (create, alter or drop anything in those schemas; superuser-only acts) is what the product's
-- migrations can rely on. True on the local stack (scripts/stack/supabase-base.sql) and on a
-- hosted project alike. Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(19);

select is(current_user::text, 'postgres', 'the tests run as postgres');
select ok(not (select rolsuper from pg_roles where rolname = 'postgres'), 'postgres is no superuser');
select ok((select rolbypassrls and rolcreaterole and rolcreatedb from pg_roles where rolname = 'postgres'),
  'postgres has BYPASSRLS, CREATEROLE and CREATEDB, as demote-postgres leaves it');
select is((select relowner::regrole::text from pg_class where oid = 'auth.users'::regclass), 'supabase_auth_admin',
  'auth.users belongs to supabase_auth_admin');
select is((select relowner::regrole::text from pg_class where oid = 'realtime.messages'::regclass),
  'supabase_realtime_admin', 'realtime.messages belongs to supabase_realtime_admin');
select ok(not has_schema_privilege('postgres', 'auth', 'create') and not has_schema_privilege('postgres', 'realtime', 'create'),
  'postgres may create nothing in auth or realtime');
select is(
  array(select distinct p.proowner::regrole::text from pg_proc p
        where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace) order by 1),
  array['postgres'],
  'the product''s functions belong to postgres: SECURITY DEFINER ones run without superuser powers');

select throws_ok($$create table auth.nexus_probe (id int)$$, '42501', null, 'no table in auth');
select throws_ok($$create function realtime.nexus_probe() returns int language sql as 'select 1'$$, '42501', null,
  'no function in realtime');
select throws_ok($$alter table auth.users add column nexus_probe int$$, '42501', null, 'auth.users cannot be altered');
select throws_ok($$alter table realtime.messages disable row level security$$, '42501', null,
  'RLS on realtime.messages cannot be turned off');
select throws_ok($$drop function realtime.send(jsonb, text, text, boolean)$$, '42501', null,
  'realtime.send cannot be dropped');

-- The local stand-in's guard holds in replica mode too (postgres may set it), and cannot be dropped.
select throws_ok($$set local session_replication_role = replica; alter table auth.users add column nexus_probe int$$,
  '42501', null, 'auth.users cannot be altered in replica mode either');
reset session_replication_role;
select ok(not exists (select from pg_event_trigger where evtname like 'local_stack_%' and evtenabled <> 'A'),
  'the stand-in''s event triggers (if any) fire always');
select ok(not exists (select from pg_proc p join pg_event_trigger t on t.evtfoid = p.oid
                      where pg_has_role('postgres', p.proowner, 'usage')
                         or pg_has_role('postgres', (select nspowner from pg_namespace where oid = p.pronamespace), 'usage')),
  'postgres can drop no event trigger''s function (nor the schema holding it)');

select lives_ok($$create policy nexus_probe on realtime.messages for select to authenticated using (false);
                  drop policy nexus_probe on realtime.messages$$,
  'policies on realtime.messages may be created and dropped (supautils policy grants)');
select lives_ok($$create function public.nexus_probe() returns trigger language plpgsql as 'begin return new; end';
                  create trigger nexus_probe after insert on auth.users for each row execute function public.nexus_probe();
                  drop trigger nexus_probe on auth.users$$,
  'triggers on auth.users may be created and dropped');
select lives_ok($$select current_setting('shared_preload_libraries')$$,
  'the preloaded libraries may be read (pg_monitor), as the scheduled jobs'' migration does');
select throws_ok($$copy (select 1) to program 'true'$$, '42501', null, 'no program runs on the server');

select * from finish();
rollback;
