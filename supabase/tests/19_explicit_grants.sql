-- Explicit grants (migration 20261125001030): Supabase no longer grants new objects in public to
-- the API roles, so every privilege they hold comes from a migration. What the product needs is
-- granted: a user's reads (RLS decides the rows), anon's plans, the membership helpers Realtime's
-- policies call, the service role's tables and RPCs; and no write beyond the few the product
-- grants. The catalog-wide checks catch a later migration that forgets a grant: a policy for a
-- role that holds no privilege to use it, a table or RPC the service role cannot reach.
-- Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(26);

\set alice 'a0000019-0000-4000-8000-000000000001'
\set bob   'a0000019-0000-4000-8000-000000000002'
\set conv  'c0000019-0000-4000-8000-000000000001'
\set alice_claims '{"sub":"a0000019-0000-4000-8000-000000000001","role":"authenticated"}'

-- ---------------------------------------------------------------------------------------------
-- The database is on Supabase's new defaults, so nothing below holds by default.
select is(
  (select count(*) from pg_default_acl d cross join aclexplode(d.defaclacl) a
   where d.defaclnamespace = 'public'::regnamespace
     and a.grantee in ('anon'::regrole, 'authenticated'::regrole, 'service_role'::regrole)),
  0::bigint,
  'no default privilege in public gives anon, authenticated or service_role anything');

-- ---------------------------------------------------------------------------------------------
-- authenticated
select is(
  array(select t::text from unnest(array['public.plans', 'public.profiles', 'public.subscriptions',
          'public.user_activity_log', 'public.request_counters', 'public.conversations',
          'public.conversation_members', 'public.messages', 'public.requests', 'public.usage_records',
          'public.usage_totals', 'public.session_usage']::regclass[]) t
        where not has_table_privilege('authenticated', t, 'select')),
  '{}'::text[],
  'authenticated may select from every table a user reads (its rows: RLS)');
select is(
  array(select a.attname::text from pg_attribute a
        where a.attrelid = 'public.api_keys'::regclass and a.attnum > 0 and not a.attisdropped
          and has_column_privilege('authenticated', a.attrelid, a.attnum, 'select')
        order by a.attname),
  array['created_at', 'id', 'last_used_at', 'monthly_budget', 'name', 'period_spend', 'period_start',
        'prefix', 'reserved_spend', 'revoked_at'],
  'authenticated reads its API keys by column: never key_hash');
select is(
  array(select format('%s.%s %s', c.relname, a.attname, p) from pg_class c
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        cross join unnest(array['insert', 'update']) p
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
          and has_column_privilege('authenticated', c.oid, a.attnum, p)
        order by 1),
  array['conversations.title update', 'profiles.avatar_url update', 'profiles.default_model update',
        'profiles.display_name update', 'profiles.smart_router update'],
  'authenticated writes only a conversation''s title and four profile columns (RLS: its own)');
select is(
  array(select c.relname::text from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
          and has_table_privilege('authenticated', c.oid, 'delete')),
  array['conversations'],
  'authenticated deletes only conversations (RLS: its own)');
select is(
  array(select t::text from unnest(array['public.idempotency_keys', 'public.response_cache',
          'public.provider_attempts', 'public.refusal_tallies', 'public.breaker_openings']::regclass[]) t
        where has_any_column_privilege('authenticated', t, 'select, insert, update, references')
           or has_any_column_privilege('anon', t, 'select, insert, update, references')
           or has_table_privilege('authenticated', t, 'delete') or has_table_privilege('anon', t, 'delete')),
  '{}'::text[],
  'the idempotency keys, the response cache and the operational tables stay closed to users and anon');
select is(
  array(select f::text from unnest(array['public.is_conversation_member(uuid)', 'public.topic_conversation(text)',
          'public.conversation_member_profiles(uuid)', 'public.can_make_request(uuid)',
          'public.get_user_quota(uuid)']::regprocedure[]) f
        where not has_function_privilege('authenticated', f, 'execute')),
  '{}'::text[],
  'authenticated may call the membership, topic, member-list and quota helpers (Realtime''s policies call the first two)');

-- ---------------------------------------------------------------------------------------------
-- anon
select ok(has_table_privilege('anon', 'public.plans', 'select'), 'anon may read the plans');
select is(
  array(select c.relname::text from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
          and c.oid <> 'public.plans'::regclass
          and has_any_column_privilege('anon', c.oid, 'select, insert, update, references')),
  '{}'::text[],
  'anon may use no other table of public (so reading one is a permission error, as it always was)');
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
          and has_function_privilege('anon', p.oid, 'execute')),
  '{}'::text[],
  'anon may call no function of public or private');

-- ---------------------------------------------------------------------------------------------
-- service_role
select is(
  array(select format('%s %s', c.relname, p) from pg_class c
        cross join unnest(array['select', 'insert', 'update', 'delete']) p
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
          and not has_table_privilege('service_role', c.oid, p)
        order by 1),
  '{}'::text[],
  'service_role may select, insert, update and delete on every table of public');
select is(
  array(select c.relname::text from pg_class c
        where c.relnamespace = 'public'::regnamespace
          -- (a CASE: has_sequence_privilege raises on anything but a sequence, whatever the order)
          and case when c.relkind = 'S' then not has_sequence_privilege('service_role', c.oid, 'usage') end),
  '{}'::text[],
  'service_role may draw from every sequence of public');
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace = 'public'::regnamespace and p.prorettype <> 'trigger'::regtype
          and not has_function_privilege('service_role', p.oid, 'execute')),
  '{}'::text[],
  'service_role may call every function of public (RPCs; trigger functions are no one''s to call)');
select is(
  array(select c.relname::text from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
          and has_table_privilege('service_role', c.oid, 'truncate, references, trigger')),
  '{}'::text[],
  'service_role holds no TRUNCATE, REFERENCES or TRIGGER (the old defaults'' extras, no Data API use)');

-- ---------------------------------------------------------------------------------------------
-- Every RLS policy in our schemas is usable by the roles it names: a policy without the grant
-- answers 42501 instead of its rows (what the old defaults hid).
select is(
  array(select format('%s.%s "%s" %s', pol.schemaname, pol.tablename, pol.policyname, r)
        from pg_policies pol cross join unnest(pol.roles) r
        where pol.schemaname in ('public', 'private') and r <> 'public'
          and not case pol.cmd
            when 'SELECT' then has_any_column_privilege(r, format('%I.%I', pol.schemaname, pol.tablename), 'select')
            when 'INSERT' then has_any_column_privilege(r, format('%I.%I', pol.schemaname, pol.tablename), 'insert')
            when 'UPDATE' then has_any_column_privilege(r, format('%I.%I', pol.schemaname, pol.tablename), 'update')
            when 'DELETE' then has_table_privilege(r, format('%I.%I', pol.schemaname, pol.tablename), 'delete')
            else has_any_column_privilege(r, format('%I.%I', pol.schemaname, pol.tablename), 'select')
          end
        order by 1),
  '{}'::text[],
  'every role an RLS policy names holds the privilege the policy is for');

-- ---------------------------------------------------------------------------------------------
-- What the Edge Functions run as the user (asUser), as they run it: each works and sees the
-- user's rows.
insert into auth.users (id, email) values
  (:'alice', 'pgtap-alice-19@example.test'), (:'bob', 'pgtap-bob-19@example.test');
insert into public.conversations (id, owner_id, title) values (:'conv', :'alice', 'grants');
insert into public.conversation_members (conversation_id, user_id) values (:'conv', :'bob');
do $$
declare
  r uuid := extensions.gen_random_uuid();
begin
  perform public.admit_request('a0000019-0000-4000-8000-000000000001', r,
    '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]', false,
    'c0000019-0000-4000-8000-000000000001', 'hello');
  perform public.settle_request(r, 3, 4, 0.00042, 'pgtap', 5, 'complete', 'hi');
end
$$;
-- A Realtime authorization probe row (Realtime inserts it as itself, then reads it as the user).
insert into realtime.messages (id, topic, extension)
  values ('d0000019-0000-4000-8000-000000000001', 'conversation:c0000019-0000-4000-8000-000000000001', 'broadcast');

set local role authenticated;
set local request.jwt.claims = :'alice_claims';

select is(
  (select count(*) from public.conversations c
   join public.conversation_members m on m.conversation_id = c.id and m.user_id = :'alice'),
  1::bigint, 'GET /conversations: the user''s conversation, with their membership');
select is(
  (select count(*) from public.conversation_members x where x.conversation_id = :'conv'),
  2::bigint, '... and its member count');
select is(
  (select array_agg(role::text order by role) from public.messages where conversation_id = :'conv'),
  array['assistant', 'user'], 'GET /conversations/:id/messages: its messages');
select is(
  (select count(*) from public.conversation_member_profiles(:'conv')),
  2::bigint, 'GET /conversations/:id/members: its members, through conversation_member_profiles');
select lives_ok(
  $$ update public.conversations set title = 'renamed' where id = 'c0000019-0000-4000-8000-000000000001'
     returning id, title, owner_id, created_at, updated_at $$,
  'PATCH /conversations/:id: the owner renames it');
select lives_ok(
  $$ update public.profiles set display_name = 'Alice G.', smart_router = false
     where id = 'a0000019-0000-4000-8000-000000000001' $$,
  'PATCH /account: the user edits their profile');
select is(
  (select count(*) from public.usage_records),
  1::bigint, 'GET /account/usage: the user''s usage records (theirs only: RLS)');
select lives_ok(
  $$ select id, name, prefix, monthly_budget::text, period_start, period_spend::text, reserved_spend::text,
            created_at, last_used_at, revoked_at
     from public.api_keys where revoked_at is null $$,
  'GET /account/keys: the user''s keys, by the granted columns');
select lives_ok(
  $$ select set_config('realtime.topic', 'conversation:c0000019-0000-4000-8000-000000000001', true) $$,
  'Realtime: the channel''s topic is set for its authorization probe');
select is(
  (select count(*) from realtime.messages where id = 'd0000019-0000-4000-8000-000000000001'),
  1::bigint, 'Realtime: a member may join the conversation''s channel (its policies call our helpers)');
reset role;

select is((select display_name from public.profiles where id = :'alice'), 'Alice G.',
  'the profile edit took effect');

select * from finish();
rollback;
