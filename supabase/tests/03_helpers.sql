-- The brief's SQL helpers: increment_user_requests, reset_monthly_requests, can_make_request,
-- get_user_quota (DESIGN §3). Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(44);

\set u1 'a0000003-0000-4000-8000-000000000001'
\set u2 'a0000003-0000-4000-8000-000000000002'
\set u3 'a0000003-0000-4000-8000-000000000003'
\set u4 'a0000003-0000-4000-8000-000000000004'
\set u1_claims '{"sub":"a0000003-0000-4000-8000-000000000001","role":"authenticated"}'
\set cands '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]'

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;
-- Minute-window assertions must not straddle a minute boundary: start in a fresh minute.
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

insert into auth.users (id, email) values
  (:'u1', 'pgtap-u1-03@example.test'),
  (:'u2', 'pgtap-u2-03@example.test'),
  (:'u3', 'pgtap-u3-03@example.test'),
  (:'u4', 'pgtap-u4-03@example.test');

-- ---------------------------------------------------------------------------------------------
-- increment_user_requests(p_user_id): counts one request against this month, returns the count.
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select is(public.increment_user_requests(:'u1'), 1, 'increment_user_requests returns 1 for a new user');
select is(public.increment_user_requests(:'u1'), 2, '... and 2 the next time');
reset role;
select is((select period_requests from public.request_counters where user_id = :'u1'), 2,
  'the stored monthly count is 2');

-- A counter left over from a past month counts from zero in the new month.
update public.request_counters
   set period_start = (date_trunc('month', clock_timestamp() at time zone 'utc') - interval '1 month')::date,
       period_requests = 57
 where user_id = :'u2';
select is(public.increment_user_requests(:'u2'), 1,
  'increment_user_requests on a counter of a past month starts the new month at 1');
select is((select period_start from public.request_counters where user_id = :'u2'),
  date_trunc('month', clock_timestamp() at time zone 'utc')::date, '... and moves it to the current month');
select throws_ok($$ select public.increment_user_requests('a0000003-0000-4000-8000-0000000000ff') $$,
  null, null, 'increment_user_requests raises for an unknown user');

-- ---------------------------------------------------------------------------------------------
-- reset_monthly_requests(): resets the counters of past periods only, returns how many.
do $$ begin perform public.reset_monthly_requests(); end $$;   -- tidy whatever else is in this database
update public.request_counters
   set period_start = (date_trunc('month', clock_timestamp() at time zone 'utc') - interval '1 month')::date,
       period_requests = 42
 where user_id = :'u1';
update public.request_counters
   set period_start = (date_trunc('month', clock_timestamp() at time zone 'utc') - interval '13 months')::date,
       period_requests = 7
 where user_id = :'u2';
update public.request_counters set period_requests = 9 where user_id = :'u3';

set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select is(public.reset_monthly_requests(), 2, 'reset_monthly_requests resets the two past periods and says so');
reset role;
select results_eq(
  $$ select user_id, period_start, period_requests from public.request_counters
     where user_id in ('a0000003-0000-4000-8000-000000000001', 'a0000003-0000-4000-8000-000000000002')
     order by user_id $$,
  $$ values ('a0000003-0000-4000-8000-000000000001'::uuid, date_trunc('month', clock_timestamp() at time zone 'utc')::date, 0),
            ('a0000003-0000-4000-8000-000000000002'::uuid, date_trunc('month', clock_timestamp() at time zone 'utc')::date, 0) $$,
  'past periods now start this month at zero');
select is((select period_requests from public.request_counters where user_id = :'u3'), 9,
  'a counter of the current month is left alone');
select is(public.reset_monthly_requests(), 0, 'a second run resets nothing');

-- ---------------------------------------------------------------------------------------------
-- can_make_request(p_user_id): quota and rate limit, read-only.
do $$ begin perform tests.wait_for_fresh_minute(); end $$;
update public.request_counters
   set minute_window = date_trunc('minute', now()), minute_count = 0, period_requests = 0
 where user_id in (:'u1', :'u2', :'u3', :'u4');

select is(public.can_make_request(:'u3'), true, 'can_make_request: true for a fresh free user');

update public.request_counters set period_requests = 99 where user_id = :'u3';
select is(public.can_make_request(:'u3'), true, 'true with 99 of 100 monthly requests used');
update public.request_counters set period_requests = 100 where user_id = :'u3';
select is(public.can_make_request(:'u3'), false, 'false once the monthly quota (100) is used up');
update public.request_counters
   set period_start = (date_trunc('month', clock_timestamp() at time zone 'utc') - interval '1 month')::date
 where user_id = :'u3';
select is(public.can_make_request(:'u3'), true, 'true again when the used-up quota belongs to a past month');

update public.request_counters set minute_window = date_trunc('minute', clock_timestamp()), minute_count = 19
 where user_id = :'u4';
select is(public.can_make_request(:'u4'), true, 'true with 19 of 20 requests used this minute');
update public.request_counters set minute_count = 20 where user_id = :'u4';
select is(public.can_make_request(:'u4'), false, 'false once the minute limit (20) is used up');
select is(tests.counters(:'u4'),
  (select row(date_trunc('minute', clock_timestamp()), 20, date_trunc('month', clock_timestamp() at time zone 'utc')::date, 0)::text),
  'can_make_request changed no counters');
update public.request_counters set minute_window = date_trunc('minute', clock_timestamp()) - interval '2 minutes'
 where user_id = :'u4';
select is(public.can_make_request(:'u4'), true, 'true again when the full minute window is over');

-- The minute limit reached through real admissions.
do $$
begin
  perform public.admit_request('a0000003-0000-4000-8000-000000000002', extensions.gen_random_uuid(),
                               '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]')
  from generate_series(1, 20);
end
$$;
select is(public.can_make_request(:'u2'), false, 'false after 20 admissions in the minute');

-- ---------------------------------------------------------------------------------------------
-- get_user_quota(p_user_id): shape and numbers.
update public.request_counters
   set minute_window = date_trunc('minute', clock_timestamp()), minute_count = 0,
       period_start = date_trunc('month', clock_timestamp() at time zone 'utc')::date, period_requests = 0
 where user_id = :'u1';

set local role authenticated;
set local request.jwt.claims = :'u1_claims';
select ok(public.get_user_quota(:'u1') ?& array['tier', 'requestsPerMinute', 'minuteRemaining', 'minuteResetAt',
                                                  'monthlyQuota', 'monthRemaining', 'maxCostPerRequest'],
  'get_user_quota has the tier, the limits, what remains and when the minute resets');
select is(public.get_user_quota(:'u1') ->> 'tier', 'free', 'tier: free');
select is((public.get_user_quota(:'u1') ->> 'requestsPerMinute')::int, 20, 'free: 20 requests per minute');
select is((public.get_user_quota(:'u1') ->> 'monthlyQuota')::int, 100, 'free: monthly quota 100');
select is((public.get_user_quota(:'u1') ->> 'maxCostPerRequest')::numeric, 0.01, 'free: max cost 0.01 per request');
select is((public.get_user_quota(:'u1') ->> 'minuteRemaining')::int, 20, 'a fresh user has 20 left this minute');
select is((public.get_user_quota(:'u1') ->> 'monthRemaining')::int, 100, 'a fresh user has 100 left this month');
select ok((public.get_user_quota(:'u1') ->> 'minuteResetAt')::numeric
            between extract(epoch from clock_timestamp()) and extract(epoch from clock_timestamp()) + 60,
  'the minute window resets within the next 60 seconds (epoch seconds)');
reset role;

do $$
begin
  perform public.admit_request('a0000003-0000-4000-8000-000000000001', extensions.gen_random_uuid(),
                               '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]')
  from generate_series(1, 3);
  perform public.increment_user_requests('a0000003-0000-4000-8000-000000000001') from generate_series(1, 7);
end
$$;
set local role authenticated;
set local request.jwt.claims = :'u1_claims';
select is((public.get_user_quota(:'u1') ->> 'minuteRemaining')::int, 17, 'after 3 admissions: 17 left this minute');
select is((public.get_user_quota(:'u1') ->> 'monthRemaining')::int, 90,
  'after 3 admissions and 7 increments: 90 left this month');
reset role;

update public.request_counters set period_requests = 150 where user_id = :'u1';
select is((public.get_user_quota(:'u1') ->> 'monthRemaining')::int, 0,
  'over the quota (e.g. after a downgrade) the remainder is 0, never negative');

set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select lives_ok($$ select public.set_user_tier('a0000003-0000-4000-8000-000000000001', 'pro') $$, 'upgrade to pro');
select is((public.get_user_quota(:'u1') ->> 'requestsPerMinute')::int, 100, 'pro: 100 requests per minute');
select is((public.get_user_quota(:'u1') ->> 'monthlyQuota')::int, 10000, 'pro: monthly quota 10,000');
select is((public.get_user_quota(:'u1') ->> 'monthRemaining')::int, 9850, 'pro: 9,850 left after 150');
select is((public.get_user_quota(:'u1') ->> 'maxCostPerRequest')::numeric, 0.10, 'pro: max cost 0.10 per request');

select lives_ok($$ select public.set_user_tier('a0000003-0000-4000-8000-000000000001', 'enterprise') $$,
  'upgrade to enterprise');
select is(public.get_user_quota(:'u1') ->> 'tier', 'enterprise', 'tier: enterprise');
select is((public.get_user_quota(:'u1') ->> 'requestsPerMinute')::int, 10000, 'enterprise: 10,000 requests per minute');
select is(public.get_user_quota(:'u1') -> 'monthlyQuota', 'null'::jsonb, 'enterprise: monthly quota is null (unlimited)');
select is(public.get_user_quota(:'u1') -> 'monthRemaining', 'null'::jsonb, 'enterprise: remaining is null (unlimited)');
select is(public.get_user_quota(:'u1') -> 'maxCostPerRequest', 'null'::jsonb, 'enterprise: max cost is null (unlimited)');
reset role;
update public.request_counters set period_requests = 1000000 where user_id = :'u1';
select is(public.can_make_request(:'u1'), true, 'enterprise: no monthly quota stops a request');
select throws_ok($$ select public.set_user_tier('a0000003-0000-4000-8000-000000000001', 'platinum') $$,
  null, null, 'set_user_tier refuses an unknown tier');
select is((select tier from public.subscriptions where user_id = :'u1'), 'enterprise', '... and keeps the tier');

select * from finish();
rollback;
