-- The running totals (usage_totals, session_usage) always equal the sums of the usage records
-- they summarize, across sessions and a new month; users read only their own.
-- Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(10);

\set eva 'a0000010-0000-4000-8000-000000000001'
\set leo 'a0000010-0000-4000-8000-000000000002'
\set s1 'c0000010-0000-4000-8000-000000000001'
\set s2 'c0000010-0000-4000-8000-000000000002'
\set cands '[{"model":"pgtap-model-10","provider":"pgtap-provider-10","worstCaseCost":"0.01"}]'

insert into auth.users (id, email) values (:'eva', 'pgtap-eva-10@example.test'), (:'leo', 'pgtap-leo-10@example.test');
select public.set_user_tier(:'eva', 'enterprise');

create function pg_temp.run(p_user uuid, p_session uuid, p_cost numeric) returns void language plpgsql as $$
declare
  v_id uuid := gen_random_uuid();
begin
  perform public.admit_request(p_user, v_id, '[{"model":"pgtap-model-10","provider":"pgtap-provider-10","worstCaseCost":"0.01"}]',
                               false, null, null, null, '[]', null, null, null, '[]', p_session);
  perform public.settle_request(v_id, 10, 20, p_cost, 'v10', 5, 'complete');
end
$$;

select pg_temp.run(:'eva', :'s1', 0.000001234567);
select pg_temp.run(:'eva', :'s1', 0.00002);
select pg_temp.run(:'eva', :'s2', 0.3);
select pg_temp.run(:'eva', null, 0.000000000001);

select is((select row(requests, total_cost::text)::text from public.usage_totals where user_id = :'eva'),
  (select row(count(*), sum(cost)::text)::text from public.usage_records where user_id = :'eva'),
  'the running total equals the sum of the usage records, digit for digit');
select is((select month_cost from public.usage_totals where user_id = :'eva'), 0.300021234568::numeric,
  'this month''s cost is every record of the month');
select is((select cost from public.session_usage where session_id = :'s1'), 0.000021234567::numeric,
  'a session''s cost is its requests''');
select is((select requests from public.session_usage where session_id = :'s2'), 1::bigint,
  'and its request count');
select is(public.account_summary(:'eva', :'s1') -> 'cost',
  jsonb_build_object('total', '0.300021234568', 'month', '0.300021234568', 'session', '0.000021234567',
                     'requests', 4),
  'GET /account''s costs come from the totals');

-- A new month: the month's cost starts again; the total goes on.
update public.usage_totals set month_start = (month_start - interval '1 month')::date where user_id = :'eva';
select is(public.account_summary(:'eva') -> 'cost' ->> 'month', '0', 'a month without usage yet costs 0');
select pg_temp.run(:'eva', :'s2', 0.5);
select is((select row(month_cost, total_cost)::text from public.usage_totals where user_id = :'eva'),
  row(0.5::numeric, 0.800021234568::numeric)::text, 'the first record of a month starts its cost');

select is((select count(*) from public.usage_totals where user_id = :'leo'), 0::bigint, 'no usage, no row');
select is(public.account_summary(:'leo') -> 'cost',
  jsonb_build_object('total', '0', 'month', '0', 'session', '0', 'requests', 0), 'and zero costs');

set local role authenticated;
set local request.jwt.claims = '{"sub":"a0000010-0000-4000-8000-000000000002","role":"authenticated"}';
select is((select count(*) from public.usage_totals) + (select count(*) from public.session_usage), 0::bigint,
  'another user''s totals are invisible');
reset role;

select * from finish();
rollback;
