-- Every admitted request ends exactly once: settled (usage recorded, cost charged) or released
-- (nothing charged, counts restored). Money is exact. Self-contained: everything below is rolled
-- back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(50);

\set sam   'a0000006-0000-4000-8000-000000000001'
\set mia   'a0000006-0000-4000-8000-000000000002'
\set mia_claims '{"sub":"a0000006-0000-4000-8000-000000000002","role":"authenticated"}'
\set r1 'b0000006-0000-4000-8000-000000000001'
\set r2 'b0000006-0000-4000-8000-000000000002'
\set r3 'b0000006-0000-4000-8000-000000000003'
\set r4 'b0000006-0000-4000-8000-000000000004'
\set r5 'b0000006-0000-4000-8000-000000000005'
\set r6 'b0000006-0000-4000-8000-000000000006'
\set r7 'b0000006-0000-4000-8000-000000000007'
\set cands '[{"model":"pgtap-model","provider":"pgtap-provider","worstCaseCost":"0.001"}]'

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;
create or replace function tests.wait_for_fresh_minute() returns void language plpgsql as $$
begin
  if extract(second from clock_timestamp()) >= 50 then
    perform pg_sleep(60.5 - extract(second from clock_timestamp()));
  end if;
end
$$;
create or replace function tests.counters(p_user uuid) returns text language sql as $$
  select row(minute_window, minute_count, period_start, period_requests)::text
  from public.request_counters where user_id = p_user
$$;
create or replace function tests.activity(p_user uuid) returns bigint language sql as $$
  select count(*) from public.user_activity_log where user_id = p_user
$$;
create table tests.saved (k text primary key, v text);
grant all on tests.saved to service_role;
create or replace function tests.save(p_key text, p_value text) returns void language sql as $$
  insert into tests.saved values (p_key, p_value) on conflict (k) do update set v = excluded.v
$$;
create or replace function tests.saved(p_key text) returns text language sql as $$
  select v from tests.saved where k = p_key
$$;

insert into auth.users (id, email) values (:'sam', 'pgtap-sam-06@example.test'), (:'mia', 'pgtap-mia-06@example.test');
do $$ begin perform tests.wait_for_fresh_minute(); end $$;

-- The chat pipeline runs these as the service role.
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';

-- ---------------------------------------------------------------------------------------------
-- Settle: once.
select is((public.admit_request(:'sam', :'r1', :'cands', false, null, 'What is 2+2?', 'Maths')) ->> 'admitted', 'true',
  'r1 is admitted with a new conversation');
select tests.save('activity', tests.activity(:'sam')::text);
select tests.save('settle1', public.settle_request(:'r1', 10, 20, 0.000001234567, 'pgtap-v1', 123, 'complete', 'Four.')::text);

select is(tests.saved('settle1')::jsonb ->> 'settled', 'true', 'settle_request settles an admitted request');
select is((select count(*) from public.usage_records where request_id = :'r1'), 1::bigint,
  'settling inserts one usage record');
select is((select cost::text from public.usage_records where request_id = :'r1'), '0.000001234567',
  'the usage record holds the exact cost, digit for digit');
select is((select row(user_id, model, provider, input_tokens, output_tokens, price_version, status)::text
           from public.usage_records where request_id = :'r1'),
  row(:'sam'::uuid, 'pgtap-model', 'pgtap-provider', 10, 20, 'pgtap-v1', 'complete')::text,
  'the usage record names the user, the admitted model and provider, the tokens and the price version');
select is((select conversation_id from public.usage_records where request_id = :'r1'),
  (select conversation_id from public.requests where id = :'r1'),
  'the usage record is linked to the request''s conversation');
select is((select count(*) from public.messages where request_id = :'r1' and role = 'assistant'), 1::bigint,
  'settling stores one assistant message');
select is((select row(id, content, model, cost::text, input_tokens, output_tokens)::text
           from public.messages where request_id = :'r1' and role = 'assistant'),
  (select row((tests.saved('settle1')::jsonb ->> 'messageId')::uuid, 'Four.', 'pgtap-model', '0.000001234567', 10, 20)::text),
  'the assistant message (the returned messageId) carries the reply, the model and the exact cost');
select is(tests.activity(:'sam'), tests.saved('activity')::bigint + 1, 'settling writes one activity row');
select is((select count(*) from public.user_activity_log
           where user_id = :'sam' and details::text like '%' || :'r1' || '%'), 1::bigint,
  '... which names the request');
select is((select status from public.requests where id = :'r1'), 'settled', 'r1 is settled on the ledger');

select tests.save('activity', tests.activity(:'sam')::text);
select tests.save('counters', tests.counters(:'sam'));
select is(public.settle_request(:'r1', 999, 999, 5, 'pgtap-v2', 1, 'complete', 'Five?') ->> 'settled', 'false',
  'a second settle returns settled: false');
select is((select row(count(*), min(cost::text))::text from public.usage_records where request_id = :'r1'),
  '(1,0.000001234567)', '... and inserts no second usage record, nor changes the first');
select is((select count(*) from public.messages where request_id = :'r1' and role = 'assistant'), 1::bigint,
  '... nor a second assistant message');
select is(tests.activity(:'sam'), tests.saved('activity')::bigint, '... nor an activity row');

select is(public.release_request(:'r1', 'late failure'), false, 'release after settle is refused');
select is(tests.counters(:'sam'), tests.saved('counters'), '... and gives no counts back');
select is((select row(r.status, count(u.*))::text from public.requests r left join public.usage_records u on u.request_id = r.id
           where r.id = :'r1' group by r.status), '(settled,1)', '... and the request stays settled and charged');

-- ---------------------------------------------------------------------------------------------
-- Release: once, and it restores the counts.
select tests.save('counters', tests.counters(:'sam'));
select tests.save('counters_json', (select to_jsonb(c) from public.request_counters c where user_id = :'sam')::text);
select tests.save('quota', public.get_user_quota(:'sam')::text);
select is(public.admit_request(:'sam', :'r2', :'cands') ->> 'admitted', 'true', 'r2 is admitted');
select is((select (minute_count, period_requests)::text from public.request_counters where user_id = :'sam'),
  (select (minute_count + 1, period_requests + 1)::text
   from jsonb_populate_record(null::public.request_counters, tests.saved('counters_json')::jsonb)),
  'the admission took one count from the minute and one from the month');
select is(public.release_request(:'r2', 'provider_unavailable'), true, 'release_request releases an admitted request');
select is(tests.counters(:'sam'), tests.saved('counters'), 'the release restores the minute and month counts');
select is((public.get_user_quota(:'sam') -> 'minuteRemaining', public.get_user_quota(:'sam') -> 'monthRemaining')::text,
  (tests.saved('quota')::jsonb -> 'minuteRemaining', tests.saved('quota')::jsonb -> 'monthRemaining')::text,
  '... so the user has as much left as before');
select is((select status from public.requests where id = :'r2'), 'released', 'r2 is released on the ledger');
select is((select count(*) from public.usage_records where request_id = :'r2'), 0::bigint, 'nothing is charged for r2');
select is(public.release_request(:'r2', 'again'), false, 'a second release is refused');
select is(tests.counters(:'sam'), tests.saved('counters'), '... and gives nothing back twice');
select is(public.settle_request(:'r2', 1, 1, 0.5, 'pgtap-v1', 1, 'complete', 'late') ->> 'settled', 'false',
  'a settle after the release is refused');
select is((select count(*) from public.usage_records where request_id = :'r2'), 0::bigint, '... and charges nothing');
select is(public.release_request('b0000006-0000-4000-8000-0000000000ff', 'x'), false,
  'releasing an unknown request does nothing');
select is(public.settle_request('b0000006-0000-4000-8000-0000000000ff', 1, 1, 1, 'v', 1, 'complete') ->> 'settled',
  'false', 'settling an unknown request does nothing');

-- A released chat keeps the user's message (no data lost) and gets no assistant reply.
select tests.save('r3', public.admit_request(:'sam', :'r3', :'cands', false,
                                             (select conversation_id from public.requests where id = :'r1'),
                                             'Are you there?')::text);
select is(public.release_request(:'r3', 'provider_error'), true, 'r3 (with a user message) is released');
select is((select string_agg(role, ',') from public.messages where request_id = :'r3'), 'user',
  '... its user message is kept and no assistant message is stored');

-- A release gives back only the counts it took: not those of a later minute or month.
select is(public.admit_request(:'sam', :'r4', :'cands') ->> 'admitted', 'true', 'r4 is admitted');
reset role;
update public.requests
   set minute_window = minute_window - interval '1 hour',
       period_start = (period_start - interval '1 month')::date
 where id = :'r4';                                            -- as if admitted last month
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select tests.save('counters', tests.counters(:'sam'));
select is(public.release_request(:'r4', 'stale'), true, 'r4, counted in a past minute and month, is released');
select is(tests.counters(:'sam'), tests.saved('counters'), '... without taking counts off the current minute or month');

-- Bad input changes nothing.
select is(public.admit_request(:'sam', :'r7', :'cands') ->> 'admitted', 'true', 'r7 is admitted');
select throws_ok($$ select public.settle_request('b0000006-0000-4000-8000-000000000007', 1, 1, -0.01, 'v', 1, 'complete') $$,
  null, null, 'a negative cost is an error');
select is((select status || '/' || (select count(*) from public.usage_records where request_id = :'r7')
           from public.requests where id = :'r7'), 'admitted/0', '... and r7 is still open and uncharged');

-- ---------------------------------------------------------------------------------------------
-- release_stale_requests: only requests still admitted after the grace period.
do $$ begin perform public.release_stale_requests(interval '0 seconds'); end $$;   -- nothing else open
select is(public.admit_request(:'sam', :'r5', :'cands') ->> 'admitted', 'true', 'r5 is admitted');
select is(public.admit_request(:'sam', :'r6', :'cands') ->> 'admitted', 'true', 'r6 is admitted');
reset role;
update public.requests set admitted_at = now() - interval '1 hour' where id in (:'r1', :'r2', :'r5');
update public.requests set admitted_at = now() - interval '20 minutes' where id = :'r6';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select tests.save('period', (select period_requests from public.request_counters where user_id = :'sam')::text);
select is(public.release_stale_requests(interval '30 minutes'), 1, 'release_stale_requests releases the one old open request');
select is((select array_agg(status order by id) from public.requests where id in (:'r1', :'r2', :'r5', :'r6')),
  array['settled', 'released', 'released', 'admitted'],
  '... r5, and leaves the settled, the released and the recent one alone');
select is((select period_requests from public.request_counters where user_id = :'sam'), tests.saved('period')::int - 1,
  '... giving its count back');
select is((select count(*) from public.usage_records where request_id = :'r1'), 1::bigint,
  '... and keeping r1''s charge');
select is(public.release_stale_requests(interval '10 minutes'), 1, 'with a shorter grace period the 20-minute-old r6 goes too');

-- ---------------------------------------------------------------------------------------------
-- Money: the sum of usage records is the exact decimal sum of what was settled.
do $$
declare
  v_costs numeric[] := array[0.1, 0.2, 0.000000000001, 1.23456789012345678901, 0.3333333333333333333333,
                             0.000001234567];
  v_cost numeric;
  v_id uuid;
  v_conv uuid;
begin
  foreach v_cost in array v_costs loop
    v_id := extensions.gen_random_uuid();
    v_conv := (public.admit_request('a0000006-0000-4000-8000-000000000002', v_id,
                 '[{"model":"pgtap-model","provider":"pgtap-provider","worstCaseCost":"0.001"}]', false, v_conv,
                 'q', 'money') ->> 'conversationId')::uuid;
    perform public.settle_request(v_id, 1, 1, v_cost, 'pgtap-v1', 1, 'complete', 'a');
  end loop;
end
$$;
reset role;
-- 0.1 + 0.2 + 0.000000000001 + 1.23456789012345678901 + 0.3333333333333333333333 + 0.000001234567
select set_eq($$ select cost::text from public.usage_records where user_id = 'a0000006-0000-4000-8000-000000000002' $$,
  array['0.1', '0.2', '0.000000000001', '1.23456789012345678901', '0.3333333333333333333333', '0.000001234567'],
  'each usage record holds its cost exactly as settled');
select is((select sum(cost) from public.usage_records where user_id = :'mia'), 1.8679024580247901223433,
  'the usage records sum to exactly 1.8679024580247901223433');
select is((select sum(cost) from public.messages where user_id = :'mia' and role = 'assistant'), 1.8679024580247901223433,
  'the assistant messages'' costs sum to the same');
set local role authenticated;
set local request.jwt.claims = :'mia_claims';
select is((select sum(cost)::text from public.usage_records), '1.8679024580247901223433',
  'the user, reading their own usage, is shown exactly that total');
reset role;

select * from finish();
rollback;
