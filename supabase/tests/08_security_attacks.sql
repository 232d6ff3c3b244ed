-- Attacks through the API roles, enumerated from the catalog so that a table, column grant or
-- function added later is attacked too: every function of the product's schemas is called as
-- anon and as a user (only the membership and topic helpers answer); anon reads nothing
-- anywhere but the plans; a user's write privileges are exactly the few the product grants;
-- user B can neither see nor change any row of user A (every table referencing a user or a
-- conversation); and nobody can insert a row anywhere, raise a tier, reset counters, mint a
-- key, join a conversation or poison a cache. Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(32);

\set alice 'a0000008-0000-4000-8000-000000000001'
\set bob   'a0000008-0000-4000-8000-000000000002'
\set alice_claims '{"sub":"a0000008-0000-4000-8000-000000000001","role":"authenticated"}'
\set bob_claims   '{"sub":"a0000008-0000-4000-8000-000000000002","role":"authenticated"}'

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

-- The schemas the product's migrations own (the platform's and extensions' are not ours).
create or replace function tests.product_functions() returns table (fn regprocedure, call text)
language sql stable as $$
  select p.oid::regprocedure,
         format('select %I.%I(%s)', n.nspname, p.proname,
                (select coalesce(string_agg(format('null::%s', format_type(t, null)), ', ' order by i), '')
                 from unnest(p.proargtypes::oid[]) with ordinality as a(t, i)))
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname not in ('pg_catalog', 'information_schema', 'auth', 'realtime', 'extensions', 'tests',
                          'storage', 'graphql', 'graphql_public', 'vault', 'supabase_migrations')
    and n.nspname not like 'pg\_%'
    and p.prokind = 'f'
    and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                    and d.deptype = 'e')
$$;

-- Calls every product function with NULL arguments as the current role; returns those that did
-- not refuse with insufficient_privilege (42501), with what they did instead.
create or replace function tests.callable_functions() returns text[] language plpgsql as $$
declare
  f record;
  answered text[] := '{}';
begin
  for f in select * from tests.product_functions() order by 1::text loop
    begin
      execute f.call;
      answered := answered || f.fn::text;
    exception when insufficient_privilege then
      null;
    when others then
      answered := answered || (f.fn::text || ' raised ' || sqlstate);
    end;
  end loop;
  return answered;
end
$$;

-- Columns of public tables that reference a user (auth.users) or a conversation.
create or replace function tests.referencing_columns()
returns table (tbl regclass, col name, target regclass) language sql stable as $$
  select c.conrelid::regclass, a.attname, c.confrelid::regclass
  from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
  where c.contype = 'f' and c.connamespace = 'public'::regnamespace and cardinality(c.conkey) = 1
    and c.confrelid in ('auth.users'::regclass, 'public.conversations'::regclass)
$$;

-- The rows about a user (and the user's conversations) as "table.column count:md5", read as
-- postgres: equal fingerprints before and after mean nothing was inserted, changed or deleted.
create or replace function tests.fingerprint(p_user uuid) returns text language plpgsql as $$
declare
  r record;
  part text;
  result text := '';
begin
  for r in select * from tests.referencing_columns() order by 1::text, 2 loop
    execute format(
      'select count(*) || '':'' || md5(coalesce(string_agg(t::text, ''|'' order by t::text), '''')) from %s t
       where %I = any ($1)', r.tbl, r.col)
      into part
      using case when r.target = 'auth.users'::regclass then array[p_user]
                 else array(select id from public.conversations where owner_id = p_user) end;
    result := result || r.tbl::text || '.' || r.col || ' ' || part || E'\n';
  end loop;
  return result;
end
$$;

-- The rows about a user, table by table, as postgres sees them: how many, and a condition that
-- selects exactly them by primary key where the table has a one-column key (a role may be
-- denied the referencing column itself, e.g. api_keys.user_id, which would make a probe by
-- that column fail for the wrong reason), else by the referencing column.
create or replace function tests.aim(p_who text, p_user uuid) returns void language plpgsql as $$
declare
  r record;
  pk name;
  ids uuid[];
  keys text[];
begin
  for r in select * from tests.referencing_columns() order by 1::text, 2 loop
    ids := case when r.target = 'auth.users'::regclass then array[p_user]
                else array(select id from public.conversations where owner_id = p_user) end;
    select a.attname into pk from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
      where i.indrelid = r.tbl and i.indisprimary and i.indnatts = 1;
    pk := coalesce(pk, r.col);
    execute format('select array_agg(%I::text) from %s where %I = any ($1)', pk, r.tbl, r.col) into keys using ids;
    insert into aims values (p_who, r.tbl::text || '.' || r.col, r.tbl, coalesce(cardinality(keys), 0),
                             format('%I::text = any (%L::text[])', pk, coalesce(keys, '{}')));
  end loop;
end
$$;

-- As the current role: the tables where any row about the user is visible.
create or replace function tests.visible_rows_of(p_who text) returns text[] language plpgsql as $$
declare
  r record;
  n bigint;
  seen text[] := '{}';
begin
  for r in select * from aims where who = p_who order by ref loop
    begin
      execute format('select count(*) from %s where %s', r.tbl, r.condition) into n;
    exception when insufficient_privilege then
      n := 0;
    end;
    if n > 0 then
      seen := seen || r.ref;
    end if;
  end loop;
  return seen;
end
$$;

-- As the current role: delete, and update (every column the role may update, and the
-- referencing one, each set to itself), the rows about the user in every referencing table.
-- Returns what succeeded on at least one row, or failed otherwise than with 42501 (which
-- would show a privilege the role should not have).
create or replace function tests.write_rows_of(p_who text) returns text[] language plpgsql as $$
declare
  r record;
  c name;
  n bigint;
  hits text[] := '{}';
  stmts text[];
  stmt text;
begin
  for r in select * from aims where who = p_who order by ref loop
    stmts := array[format('delete from %s where %s', r.tbl, r.condition),
                   format('update %s set %I = %I where %s', r.tbl, split_part(r.ref, '.', 2),
                          split_part(r.ref, '.', 2), r.condition)];
    for c in select a.attname from pg_attribute a
             where a.attrelid = r.tbl and a.attnum > 0 and not a.attisdropped
               and has_column_privilege(r.tbl, a.attname, 'update') loop
      stmts := stmts || format('update %s set %I = %I where %s', r.tbl, c, c, r.condition);
    end loop;
    foreach stmt in array stmts loop
      begin
        execute stmt;
        get diagnostics n = row_count;
        if n > 0 then
          hits := hits || (r.ref || ': ' || left(stmt, 60) || '…: ' || n || ' rows');
        end if;
      exception when insufficient_privilege then
        null;
      when others then
        hits := hits || (r.ref || ': ' || left(stmt, 60) || '…: ' || sqlstate);
      end;
    end loop;
  end loop;
  return hits;
end
$$;

-- As the current role: `insert ... default values` into every table of public; returns those
-- that did not refuse with 42501 (a NOT NULL or check failure means the insert was allowed).
create or replace function tests.insertable_tables() returns text[] language plpgsql as $$
declare
  t regclass;
  hits text[] := '{}';
begin
  for t in select c.oid::regclass from pg_class c
           where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') order by 1::text loop
    begin
      execute format('insert into %s default values', t);
      hits := hits || t::text;
    exception when insufficient_privilege then
      null;
    when others then
      hits := hits || (t::text || ' ' || sqlstate);
    end;
  end loop;
  return hits;
end
$$;

-- As the current role: the tables and views of public in which any row is visible.
create or replace function tests.tables_with_visible_rows() returns text[] language plpgsql as $$
declare
  t regclass;
  n bigint;
  seen text[] := '{}';
begin
  for t in select c.oid::regclass from pg_class c
           where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm') order by 1::text loop
    begin
      execute format('select count(*) from %s', t) into n;
    exception when insufficient_privilege then
      n := 0;
    end;
    if n > 0 then
      seen := seen || t::text;
    end if;
  end loop;
  return seen;
end
$$;

grant execute on all functions in schema tests to anon, authenticated;

-- ---------------------------------------------------------------------------------------------
-- Two users with something in every table: a settled exchange in a conversation (messages,
-- usage, activity), an idempotent cached one (idempotency key, cache entry), an open request,
-- an API key, an invitation.
insert into auth.users (id, email) values
  (:'alice', 'pgtap-alice-08@example.test'),
  (:'bob', 'pgtap-bob-08@example.test');
do $$
declare
  u uuid;
  r uuid;
  c uuid;
  cands jsonb := '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]';
begin
  foreach u in array array['a0000008-0000-4000-8000-000000000001', 'a0000008-0000-4000-8000-000000000002']::uuid[]
  loop
    r := extensions.gen_random_uuid();
    c := (public.admit_request(u, r, cands, false, null, 'hello', 'pgtap-08') ->> 'conversationId')::uuid;
    perform public.settle_request(r, 5, 7, 0.0005, 'pgtap', 10, 'complete', 'hi');
    r := extensions.gen_random_uuid();
    perform public.admit_request(u, r, cands, false, c, 'again', null, '[]', 'idem-08', 'hash-08', 'cache-08',
                                 '[]', extensions.gen_random_uuid());  -- made with an Auth session
    perform public.settle_request(r, 5, 7, 0.0005, 'pgtap', 10, 'complete', 'hi again', null, null, null,
                                  'cache-08');
    perform public.admit_request(u, extensions.gen_random_uuid(), cands);
    insert into public.api_keys (user_id, name, prefix, key_hash)
      values (u, 'pgtap', 'nx_pgtap08', md5(u::text) || md5(u::text || 'x'));
    perform public.invite_to_conversation(u, c, 'pgtap-invitee-08@example.test');
  end loop;
end
$$;
create temporary table fingerprints as
  select 'alice'::text as who, tests.fingerprint(:'alice') as fp
  union all select 'bob', tests.fingerprint(:'bob');
grant select on fingerprints to anon, authenticated;
create temporary table alice_conversations as
  select array_agg(id) as ids from public.conversations where owner_id = :'alice';
grant select on alice_conversations to anon, authenticated;
create temporary table aims (who text, ref text, tbl regclass, rows_as_postgres bigint, condition text);
grant select on aims to anon, authenticated;
select tests.aim('alice', :'alice');

select cmp_ok((select count(*) from tests.product_functions()), '>=', 20::bigint,
  'the product''s functions are found (sanity check for the calls below)');
select is(array(select ref from aims where rows_as_postgres = 0 order by ref), '{}'::text[],
  'A has rows in every table that references a user or a conversation (so no probe below is vacuous)');

-- ---------------------------------------------------------------------------------------------
-- anon
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';

select is(tests.callable_functions(), '{}'::text[],
  'anon: every function of the product refuses with 42501 (called with NULL arguments)');
select is(tests.tables_with_visible_rows(), array['plans'],
  'anon reads no row of any table or view in public but the plans');
select is(tests.visible_rows_of('alice'), '{}'::text[],
  'anon reads no row about A in any table');
select is(tests.insertable_tables(), '{}'::text[], 'anon can insert into no table of public');
select is(tests.write_rows_of('alice'), '{}'::text[],
  'anon can update or delete no row about A');
select throws_ok(
  format($$ insert into realtime.messages (topic, extension, event, payload, private)
            values ('conversation:%s', 'broadcast', 'message', '{"content":"forged"}', true) $$,
         (select ids[1] from alice_conversations)),
  '42501', null, 'anon cannot broadcast a forged message to A''s conversation');
select is((select count(*) from realtime.messages), 0::bigint, 'anon reads no realtime message');

-- ---------------------------------------------------------------------------------------------
-- B, a signed-in user, against A.
reset role;
set local role authenticated;
set local request.jwt.claims = :'bob_claims';

select is((select array_agg(f order by f) from unnest(tests.callable_functions()) f),
  array['conversation_member_profiles(uuid)', 'is_conversation_member(uuid)', 'topic_conversation(text)'],
  'a user can call no function of the product but the membership, member-list and topic helpers (the quota helpers refuse NULL, i.e. anyone else)');
select is(public.is_conversation_member((select ids[1] from alice_conversations)), false,
  'the membership helper says nothing about A''s conversation to B');
select is_empty(format('select * from public.conversation_member_profiles(%L)', (select ids[1] from alice_conversations)),
  'the member list of A''s conversation is empty to B');
select is(tests.visible_rows_of('alice'), '{}'::text[],
  'B reads no row about A or A''s conversations in any table');
select is(tests.write_rows_of('alice'), '{}'::text[],
  'B updates or deletes no row about A or A''s conversations (every updatable column tried)');
select is(tests.insertable_tables(), '{}'::text[], 'a user can insert into no table of public');

select throws_ok(
  format($$ insert into public.conversation_members (conversation_id, user_id, role) values ('%s', '%s', 'owner') $$,
         (select ids[1] from alice_conversations), :'bob'),
  '42501', null, 'B cannot join A''s conversation');
select throws_ok(
  $$ insert into public.response_cache (user_id, model, request_hash, content, input_tokens, output_tokens, expires_at)
     values ('a0000008-0000-4000-8000-000000000001', 'pgtap-model', 'cache-08', 'poisoned', 0, 0, now() + interval '1 day') $$,
  '42501', null, 'B cannot poison A''s response cache');
select throws_ok(
  $$ update public.response_cache set content = 'poisoned' $$,
  '42501', null, 'B cannot rewrite any cached answer');
select throws_ok(
  $$ insert into public.api_keys (user_id, name, prefix, key_hash)
     values ('a0000008-0000-4000-8000-000000000002', 'minted', 'nx_minted', repeat('a', 64)) $$,
  '42501', null, 'B cannot mint an API key of a known hash');
select throws_ok($$ select key_hash from public.api_keys $$, '42501', null,
  'B cannot read the hashes of B''s own API keys');
select throws_ok(
  $$ insert into public.plans (tier, name, requests_per_minute, sort_order) values ('god', 'God', 1000000, 99) $$,
  '42501', null, 'B cannot create a plan of B''s own');
select throws_ok(
  $$ update public.api_keys set revoked_at = null, monthly_budget = null, period_spend = 0 $$,
  '42501', null, 'B cannot lift a key''s budget or revocation');
select throws_ok(
  $$ update public.api_keys set reserved_spend = 0 $$,
  '42501', null, 'B cannot free what B''s requests in flight hold of a key''s budget');

-- ---------------------------------------------------------------------------------------------
-- A against A's own bill and plan.
set local request.jwt.claims = :'alice_claims';
select ok(
  v @> array['api_keys.user_id', 'conversation_members.conversation_id', 'conversation_members.user_id',
             'conversations.owner_id', 'messages.conversation_id', 'messages.user_id', 'profiles.id',
             'request_counters.user_id', 'requests.conversation_id', 'requests.user_id', 'subscriptions.user_id',
             'usage_records.conversation_id', 'usage_records.user_id', 'user_activity_log.user_id']
  and not v && array['idempotency_keys.user_id', 'response_cache.user_id'],
  'A reads A''s own rows everywhere but in the server-side idempotency keys and cache (the probe sees rows)')
from (select tests.visible_rows_of('alice') as v) x;
-- The write probe can see a write: A's own attempt reaches A's conversation and preferences.
savepoint own_writes;
select is(
  (select array_agg(distinct split_part(hit, ':', 1) || case when hit ~ ' rows$' then '' else ' failed' end)
   from unnest(h) hit),
  array['conversations.owner_id', 'profiles.id'],
  'A''s own writes reach A''s conversation (rename, delete) and A''s profile preferences, and nothing else')
from (select tests.write_rows_of('alice') as h) x;
rollback to savepoint own_writes;
select is(
  (select array_agg(format('%s.%s', c.relname, a.attname) order by c.relname, a.attname) from pg_attribute a
   join pg_class c on c.oid = a.attrelid
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and a.attnum > 0
     and not a.attisdropped and has_column_privilege(c.oid, a.attname, 'update')),
  array['conversations.title', 'profiles.avatar_url', 'profiles.default_model', 'profiles.display_name',
        'profiles.smart_router'],
  'the columns a user may update are exactly the conversation title and the four profile preferences');
select is(
  (select array_agg(c.relname::text order by c.relname) from pg_class c
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and has_table_privilege(c.oid, 'delete')),
  array['conversations'],
  'the only rows a user may delete are conversations (RLS: their own)');

reset role;
select is(tests.fingerprint(:'alice'), (select fp from fingerprints where who = 'alice'),
  'after all of it, no row about A or A''s conversations was inserted, changed or deleted');
select is(tests.fingerprint(:'bob'), (select fp from fingerprints where who = 'bob'),
  '... nor about B');

-- ---------------------------------------------------------------------------------------------
-- What no API role reaches at all.
select is_empty(
  $$ select c.oid::regclass::text from pg_class c
     where c.relnamespace = 'auth'::regnamespace and c.relkind in ('r', 'p', 'v')
       and (has_table_privilege('anon', c.oid, 'select, insert, update, delete')
            or has_table_privilege('authenticated', c.oid, 'select, insert, update, delete')
            or has_any_column_privilege('anon', c.oid, 'select')
            or has_any_column_privilege('authenticated', c.oid, 'select')) $$,
  'anon and users read and write no table of auth (users, sessions, refresh tokens, password hashes)');
select is_empty(
  $$ select c.oid::regclass::text from pg_class c
     where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace) and c.relkind = 'S'
       and (has_sequence_privilege('anon', c.oid, 'usage, select, update')
            or has_sequence_privilege('authenticated', c.oid, 'usage, select, update')) $$,
  'anon and users use no sequence of the product');
select ok(not has_schema_privilege('anon', 'private', 'usage') and not has_schema_privilege('authenticated', 'private', 'usage'),
  'the private schema is closed to anon and users');

select * from finish();
rollback;
