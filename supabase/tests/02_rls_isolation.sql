-- Row level security and grants, user A vs user B vs anon: each user reads only their own
-- account rows, nobody edits their tier, counters or bill, and the metering RPCs are reserved
-- to the service role. Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(82);

\set alice 'a0000002-0000-4000-8000-000000000001'
\set bob   'a0000002-0000-4000-8000-000000000002'
\set alice_claims '{"sub":"a0000002-0000-4000-8000-000000000001","role":"authenticated"}'
\set bob_claims   '{"sub":"a0000002-0000-4000-8000-000000000002","role":"authenticated"}'
\set cands '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]'

-- How many rows of a table the current role can see (0 when it may not read the table at all:
-- either way it reads none).
create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;
create or replace function tests.rows_visible(p_table regclass, p_where text default 'true')
returns bigint language plpgsql as $$
declare
  n bigint;
begin
  execute format('select count(*) from %s where %s', p_table, p_where) into n;
  return n;
exception when insufficient_privilege then
  return 0;
end
$$;

-- Two users, each with a conversation, a settled request (usage, messages, activity) and an
-- open one.
insert into auth.users (id, email, raw_user_meta_data) values
  (:'alice', 'pgtap-alice-02@example.test', '{"display_name":"Alice"}'),
  (:'bob', 'pgtap-bob-02@example.test', '{"display_name":"Bob"}');
do $$
declare
  u uuid;
  r uuid;
begin
  foreach u in array array['a0000002-0000-4000-8000-000000000001', 'a0000002-0000-4000-8000-000000000002']::uuid[]
  loop
    r := extensions.gen_random_uuid();
    perform public.admit_request(u, r, '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]',
                                 false, null, 'hello', 'pgtap');
    perform public.settle_request(r, 5, 7, 0.0005, 'pgtap', 10, 'complete', 'hi');
    perform public.admit_request(u, extensions.gen_random_uuid(),
                                 '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]');
  end loop;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- A reads only A's rows.
set local role authenticated;
set local request.jwt.claims = :'alice_claims';

select is(tests.rows_visible('public.profiles', $$id = 'a0000002-0000-4000-8000-000000000001'$$), 1::bigint,
  'A reads A''s profile');
select is(tests.rows_visible('public.profiles', $$id <> 'a0000002-0000-4000-8000-000000000001'$$), 0::bigint,
  'A reads no other profile');
select is(tests.rows_visible('public.subscriptions', $$user_id = 'a0000002-0000-4000-8000-000000000001'$$), 1::bigint,
  'A reads A''s subscription');
select is(tests.rows_visible('public.subscriptions', $$user_id <> 'a0000002-0000-4000-8000-000000000001'$$), 0::bigint,
  'A reads no other subscription');
select is(tests.rows_visible('public.request_counters', $$user_id = 'a0000002-0000-4000-8000-000000000001'$$), 1::bigint,
  'A reads A''s counters');
select is(tests.rows_visible('public.request_counters', $$user_id <> 'a0000002-0000-4000-8000-000000000001'$$), 0::bigint,
  'A reads no other counters');
select is(tests.rows_visible('public.usage_records', $$user_id = 'a0000002-0000-4000-8000-000000000001'$$), 1::bigint,
  'A reads A''s usage record');
select is(tests.rows_visible('public.usage_records', $$user_id <> 'a0000002-0000-4000-8000-000000000001'$$), 0::bigint,
  'A reads no other usage records');
select is(tests.rows_visible('public.requests', $$user_id = 'a0000002-0000-4000-8000-000000000001'$$), 2::bigint,
  'A reads A''s two requests');
select is(tests.rows_visible('public.requests', $$user_id <> 'a0000002-0000-4000-8000-000000000001'$$), 0::bigint,
  'A reads no other requests');
select ok(tests.rows_visible('public.user_activity_log', $$user_id = 'a0000002-0000-4000-8000-000000000001'$$) >= 2,
  'A reads A''s activity (signup and the chat)');
select is(tests.rows_visible('public.user_activity_log', $$user_id <> 'a0000002-0000-4000-8000-000000000001'$$), 0::bigint,
  'A reads no other activity');

-- ---------------------------------------------------------------------------------------------
-- B reads only B's rows.
set local request.jwt.claims = :'bob_claims';

select is(tests.rows_visible('public.profiles', $$id = 'a0000002-0000-4000-8000-000000000002'$$), 1::bigint,
  'B reads B''s profile');
select is(tests.rows_visible('public.profiles', $$id <> 'a0000002-0000-4000-8000-000000000002'$$), 0::bigint,
  'B reads no other profile');
select is(tests.rows_visible('public.subscriptions', $$user_id = 'a0000002-0000-4000-8000-000000000002'$$), 1::bigint,
  'B reads B''s subscription');
select is(tests.rows_visible('public.subscriptions', $$user_id <> 'a0000002-0000-4000-8000-000000000002'$$), 0::bigint,
  'B reads no other subscription');
select is(tests.rows_visible('public.request_counters', $$user_id = 'a0000002-0000-4000-8000-000000000002'$$), 1::bigint,
  'B reads B''s counters');
select is(tests.rows_visible('public.request_counters', $$user_id <> 'a0000002-0000-4000-8000-000000000002'$$), 0::bigint,
  'B reads no other counters');
select is(tests.rows_visible('public.usage_records', $$user_id = 'a0000002-0000-4000-8000-000000000002'$$), 1::bigint,
  'B reads B''s usage record');
select is(tests.rows_visible('public.usage_records', $$user_id <> 'a0000002-0000-4000-8000-000000000002'$$), 0::bigint,
  'B reads no other usage records');
select is(tests.rows_visible('public.requests', $$user_id = 'a0000002-0000-4000-8000-000000000002'$$), 2::bigint,
  'B reads B''s two requests');
select is(tests.rows_visible('public.requests', $$user_id <> 'a0000002-0000-4000-8000-000000000002'$$), 0::bigint,
  'B reads no other requests');
select ok(tests.rows_visible('public.user_activity_log', $$user_id = 'a0000002-0000-4000-8000-000000000002'$$) >= 2,
  'B reads B''s activity');
select is(tests.rows_visible('public.user_activity_log', $$user_id <> 'a0000002-0000-4000-8000-000000000002'$$), 0::bigint,
  'B reads no other activity');

-- ---------------------------------------------------------------------------------------------
-- anon reads none of the account, metering or conversation tables, but reads the plans.
reset role;
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';

select is(tests.rows_visible('public.profiles'), 0::bigint, 'anon reads no profiles');
select is(tests.rows_visible('public.subscriptions'), 0::bigint, 'anon reads no subscriptions');
select is(tests.rows_visible('public.request_counters'), 0::bigint, 'anon reads no counters');
select is(tests.rows_visible('public.usage_records'), 0::bigint, 'anon reads no usage records');
select is(tests.rows_visible('public.requests'), 0::bigint, 'anon reads no requests');
select is(tests.rows_visible('public.user_activity_log'), 0::bigint, 'anon reads no activity');
select is(tests.rows_visible('public.conversations') + tests.rows_visible('public.conversation_members')
          + tests.rows_visible('public.messages'), 0::bigint, 'anon reads no conversations, members or messages');
select is(tests.rows_visible('public.plans'), 4::bigint, 'anon reads the plans');

-- ---------------------------------------------------------------------------------------------
-- What A may and may not change.
reset role;
set local role authenticated;
set local request.jwt.claims = :'alice_claims';

select lives_ok(
  $$ update public.profiles set display_name = 'Alice L.', smart_router = false, default_model = 'pgtap-default'
     where id = 'a0000002-0000-4000-8000-000000000001' $$,
  'A can update A''s display_name, smart_router and default_model');
select lives_ok(
  $$ update public.profiles set display_name = 'hijacked' where id = 'a0000002-0000-4000-8000-000000000002' $$,
  'an update of B''s profile by A runs ...');
select throws_ok(
  $$ update public.profiles set email = 'evil@example.test' where id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot change the profile''s email (Auth owns it)');
select throws_ok(
  $$ update public.subscriptions set tier = 'enterprise' where user_id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot change A''s tier');
select throws_ok(
  $$ update public.subscriptions set status = 'active', current_period_start = now()
     where user_id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot change A''s subscription status or period');
select throws_ok(
  $$ delete from public.subscriptions where user_id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot delete A''s subscription');
select throws_ok(
  $$ update public.request_counters set period_requests = 0, minute_count = 0
     where user_id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot reset A''s counters');
select throws_ok(
  $$ delete from public.request_counters where user_id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot delete A''s counters');
select throws_ok(
  $$ insert into public.usage_records (request_id, user_id, model, provider, input_tokens, output_tokens, cost,
                                       price_version, status)
     values (extensions.gen_random_uuid(), 'a0000002-0000-4000-8000-000000000001', 'm', 'p', 0, 0, 0, 'v',
             'complete') $$,
  '42501', null, 'A cannot insert a usage record');
select throws_ok(
  $$ update public.usage_records set cost = 0 where user_id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot rewrite A''s bill');
select throws_ok(
  $$ delete from public.usage_records where user_id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot delete A''s usage records');
select throws_ok(
  $$ insert into public.requests (id, user_id, model, provider, minute_window, period_start, worst_case_cost)
     values (extensions.gen_random_uuid(), 'a0000002-0000-4000-8000-000000000001', 'm', 'p', now(),
             current_date, 0) $$,
  '42501', null, 'A cannot insert a request');
select throws_ok(
  $$ update public.requests set status = 'released' where user_id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot change a request''s state');
select throws_ok(
  $$ insert into public.messages (conversation_id, user_id, role, content, model, cost)
     select conversation_id, 'a0000002-0000-4000-8000-000000000001', 'assistant', 'forged', 'm', 0
     from public.conversation_members where user_id = 'a0000002-0000-4000-8000-000000000001' limit 1 $$,
  '42501', null, 'A cannot insert a message, not even into A''s own conversation');
select throws_ok(
  $$ update public.messages set cost = 0 where user_id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot edit a message or its cost');
select throws_ok(
  $$ delete from public.user_activity_log where user_id = 'a0000002-0000-4000-8000-000000000001' $$,
  '42501', null, 'A cannot delete A''s activity log');
select throws_ok(
  $$ select private.quota_snapshot('a0000002-0000-4000-8000-000000000002') $$,
  '42501', null, 'A cannot reach the private schema''s helpers');

reset role;
select is(
  (select row(display_name, smart_router, default_model)::text from public.profiles where id = :'alice'),
  row('Alice L.', false, 'pgtap-default')::text,
  '... and A''s preferences were stored');
select is((select display_name from public.profiles where id = :'bob'), 'Bob',
  '... but B''s profile was not changed by A');
select is((select tier from public.subscriptions where user_id = :'alice'), 'free',
  'A is still on the free tier');
select is((select period_requests from public.request_counters where user_id = :'alice'), 2,
  'A''s counters are untouched');

-- ---------------------------------------------------------------------------------------------
-- set_user_tier: the service role alone.
select ok(not has_function_privilege('anon', 'public.set_user_tier(uuid, text)', 'execute'),
  'anon has no execute privilege on set_user_tier');
select ok(not has_function_privilege('authenticated', 'public.set_user_tier(uuid, text)', 'execute'),
  'authenticated has no execute privilege on set_user_tier');

set local role authenticated;
set local request.jwt.claims = :'alice_claims';
select throws_ok($$ select public.set_user_tier('a0000002-0000-4000-8000-000000000001', 'enterprise') $$,
  '42501', null, 'set_user_tier: permission denied for authenticated (even for themselves)');
reset role;
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';
select throws_ok($$ select public.set_user_tier('a0000002-0000-4000-8000-000000000001', 'enterprise') $$,
  '42501', null, 'set_user_tier: permission denied for anon');
reset role;
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select lives_ok($$ select public.set_user_tier('a0000002-0000-4000-8000-000000000002', 'team') $$,
  'set_user_tier is callable by the service role');
reset role;
select is(
  (select array_agg(tier order by user_id) from public.subscriptions where user_id in (:'alice', :'bob')),
  array['free', 'team'],
  'only the service role''s tier change took effect');

-- ---------------------------------------------------------------------------------------------
-- The metering RPCs belong to the service role: not executable by API users.
select ok(not has_function_privilege('authenticated', 'public.admit_request(uuid, uuid, jsonb, boolean, uuid, text, text, jsonb, text, text, text, jsonb, uuid)', 'execute')
      and not has_function_privilege('anon', 'public.admit_request(uuid, uuid, jsonb, boolean, uuid, text, text, jsonb, text, text, text, jsonb, uuid)', 'execute'),
  'admit_request is not executable by authenticated or anon');
select ok(not has_function_privilege('authenticated', 'public.settle_request(uuid, integer, integer, numeric, text, integer, text, text, uuid, text, text, text, integer)', 'execute')
      and not has_function_privilege('anon', 'public.settle_request(uuid, integer, integer, numeric, text, integer, text, text, uuid, text, text, text, integer)', 'execute'),
  'settle_request is not executable by authenticated or anon');
select ok(not has_function_privilege('authenticated', 'public.release_request(uuid, text)', 'execute')
      and not has_function_privilege('anon', 'public.release_request(uuid, text)', 'execute'),
  'release_request is not executable by authenticated or anon');
select ok(not has_function_privilege('authenticated', 'public.release_stale_requests(interval)', 'execute')
      and not has_function_privilege('anon', 'public.release_stale_requests(interval)', 'execute'),
  'release_stale_requests is not executable by authenticated or anon');
select ok(not has_function_privilege('authenticated', 'public.increment_user_requests(uuid)', 'execute')
      and not has_function_privilege('anon', 'public.increment_user_requests(uuid)', 'execute'),
  'increment_user_requests is not executable by authenticated or anon');
select ok(not has_function_privilege('authenticated', 'public.reset_monthly_requests()', 'execute')
      and not has_function_privilege('anon', 'public.reset_monthly_requests()', 'execute'),
  'reset_monthly_requests is not executable by authenticated or anon');

-- ... and calling them as those roles fails.
set local role authenticated;
set local request.jwt.claims = :'alice_claims';
select throws_ok(
  $$ select public.admit_request('a0000002-0000-4000-8000-000000000001', extensions.gen_random_uuid(),
       '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0"}]') $$,
  '42501', null, 'admit_request: permission denied for authenticated');
select throws_ok(
  $$ select public.settle_request(id, 1, 1, 0, 'v', 1, 'complete') from public.requests
     where user_id = 'a0000002-0000-4000-8000-000000000001' and status = 'admitted' $$,
  '42501', null, 'settle_request: permission denied for authenticated');
select throws_ok(
  $$ select public.release_request(id, 'x') from public.requests
     where user_id = 'a0000002-0000-4000-8000-000000000001' and status = 'settled' $$,
  '42501', null, 'release_request: permission denied for authenticated');
select throws_ok($$ select public.increment_user_requests('a0000002-0000-4000-8000-000000000002') $$,
  '42501', null, 'increment_user_requests: permission denied for authenticated');
select throws_ok($$ select public.reset_monthly_requests() $$,
  '42501', null, 'reset_monthly_requests: permission denied for authenticated');
select throws_ok($$ select public.release_stale_requests(interval '0 seconds') $$,
  '42501', null, 'release_stale_requests: permission denied for authenticated');
reset role;
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';
select throws_ok(
  $$ select public.admit_request('a0000002-0000-4000-8000-000000000001', extensions.gen_random_uuid(),
       '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0"}]') $$,
  '42501', null, 'admit_request: permission denied for anon');
select throws_ok($$ select public.reset_monthly_requests() $$,
  '42501', null, 'reset_monthly_requests: permission denied for anon');
reset role;
select is(
  (select array_agg(row(status, n)::text order by status)
   from (select status, count(*) n from public.requests where user_id in (:'alice', :'bob') group by status) s),
  array['(admitted,2)', '(settled,2)'],
  'none of those denied calls changed a request');

-- ---------------------------------------------------------------------------------------------
-- get_user_quota / can_make_request: for oneself, or for anyone as the service role.
set local role authenticated;
set local request.jwt.claims = :'alice_claims';
select is(public.get_user_quota(:'alice') ->> 'tier', 'free', 'get_user_quota works for oneself');
select is(public.can_make_request(:'alice'), true, 'can_make_request works for oneself');
select throws_ok($$ select public.get_user_quota('a0000002-0000-4000-8000-000000000002') $$,
  '42501', null, 'get_user_quota raises for another user');
select throws_ok($$ select public.can_make_request('a0000002-0000-4000-8000-000000000002') $$,
  '42501', null, 'can_make_request raises for another user');
reset role;
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';
select throws_ok($$ select public.get_user_quota('a0000002-0000-4000-8000-000000000001') $$,
  '42501', null, 'get_user_quota: permission denied for anon');
select throws_ok($$ select public.can_make_request('a0000002-0000-4000-8000-000000000001') $$,
  '42501', null, 'can_make_request: permission denied for anon');
reset role;
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select is(public.get_user_quota(:'bob') ->> 'tier', 'team', 'get_user_quota works for any user as the service role');
select is(public.can_make_request(:'bob'), true, 'can_make_request works for any user as the service role');
reset role;

select * from finish();
rollback;
