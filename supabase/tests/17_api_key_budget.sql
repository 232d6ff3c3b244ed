-- API-key budgets with reservations (20261125001010_api_key_budget_reservations.sql): admission
-- through a key reserves the request's worst case and is refused unless spent + reserved + worst
-- case fits the monthly budget; every end of the request (settle, release, end_requests, the
-- sweeper) returns the reservation exactly once; a cache hit reserves nothing; the month starts
-- the spend again but not the reservations. Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(58);

\set kim   'a0000016-0000-4000-8000-000000000001'
\set kkey  'c0000016-0000-4000-8000-000000000001'
\set nkey  'c0000016-0000-4000-8000-000000000002'
\set khash '1616161616161616161616161616161616161616161616161616161616161616'
\set nhash '2626262626262626262626262626262626262626262626262626262626262626'
\set r1 'b0000016-0000-4000-8000-000000000001'
\set r2 'b0000016-0000-4000-8000-000000000002'
\set r3 'b0000016-0000-4000-8000-000000000003'
\set r4 'b0000016-0000-4000-8000-000000000004'
\set r5 'b0000016-0000-4000-8000-000000000005'
\set r6 'b0000016-0000-4000-8000-000000000006'
\set r7 'b0000016-0000-4000-8000-000000000007'
\set r8 'b0000016-0000-4000-8000-000000000008'
\set r9 'b0000016-0000-4000-8000-000000000009'
\set r10 'b0000016-0000-4000-8000-000000000010'
\set r11 'b0000016-0000-4000-8000-000000000011'
\set r12 'b0000016-0000-4000-8000-000000000012'
\set r13 'b0000016-0000-4000-8000-000000000013'
\set r14 'b0000016-0000-4000-8000-000000000014'
\set r15 'b0000016-0000-4000-8000-000000000015'

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;
create or replace function tests.cand(p_model text, p_cost text) returns jsonb language sql as $$
  select jsonb_build_object('model', p_model, 'provider', 'pgtap-16', 'worstCaseCost', p_cost)
$$;
-- Admission through the budgeted key with one candidate of the given worst case.
create or replace function tests.admit(p_request uuid, p_cost text, p_hash text default null) returns jsonb
language sql as $$
  select public.admit_key_request('1616161616161616161616161616161616161616161616161616161616161616', p_request,
                                  jsonb_build_array(tests.cand('pgtap-model-16', p_cost)), false, '[]', null, null,
                                  p_hash)
$$;
-- The key's money as "spent/reserved", in shortest exact form.
create or replace function tests.key_money(p_key uuid) returns text language sql as $$
  select trim_scale(period_spend) || '/' || trim_scale(reserved_spend) from public.api_keys where id = p_key
$$;
-- What a refusal may not change: the user's requests and counters, the key's money.
create or replace function tests.footprint() returns text language sql as $$
  select format('requests=%s counters=%s key=%s',
    (select count(*) from public.requests where user_id = 'a0000016-0000-4000-8000-000000000001'),
    (select row(minute_count, period_requests)::text from public.request_counters
      where user_id = 'a0000016-0000-4000-8000-000000000001'),
    tests.key_money('c0000016-0000-4000-8000-000000000001'))
$$;

insert into auth.users (id, email) values (:'kim', 'pgtap-kim-16@example.test');
-- no cost cap, quota or practical rate limit
do $$ begin perform public.set_user_tier('a0000016-0000-4000-8000-000000000001', 'enterprise'); end $$;
insert into public.api_keys (id, user_id, name, prefix, key_hash, monthly_budget) values
  (:'kkey', :'kim', 'budgeted', 'nx_pgtap16a', :'khash', 1.00),
  (:'nkey', :'kim', 'unlimited', 'nx_pgtap16b', :'nhash', null);

set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';

-- ---------------------------------------------------------------------------------------------
-- Reserve at admission, refuse what does not fit.
select is(tests.admit(:'r1', '0.4') ->> 'admitted', 'true', 'a $0.40 worst case fits a $1 budget');
select is(tests.key_money(:'kkey'), '0/0.4', '... and is reserved at once, before any spend');
select is((select trim_scale(reserved_cost)::text || ' ' || api_key_id from public.requests where id = :'r1'),
  '0.4 ' || :'kkey', '... and the request remembers what it holds of which key');
select is(tests.admit(:'r2', '0.4') ->> 'admitted', 'true', 'a second $0.40 fits next to it ($0.80 held)');
select tests.footprint() as before \gset
select is(tests.admit(:'r3', '0.3') ->> 'code', 'quota_exceeded',
  'a $0.30 worst case is refused while $0.80 is held, though nothing is spent yet');
select matches(tests.admit(:'r3', '0.3') ->> 'message',
  '^API key "budgeted" has \$0\.2 left of its monthly budget of \$1 \(\$0 spent, \$0\.8 held by requests in progress\): not enough for this request''s worst-case cost of \$0\.3$',
  '... saying what is left, spent and held, and the worst case');
select is(tests.admit(:'r3', '0.3') -> 'details',
  jsonb_build_object('keyId', :'kkey', 'monthlyBudget', '1', 'spent', '0', 'reserved', '0.8', 'worstCaseCost', '0.3'),
  '... with the exact amounts as decimal strings');
select ok((tests.admit(:'r3', '0.3') -> 'quota') is not null, '... and the user''s quota, as other refusals');
select is(tests.footprint(), :'before', 'a refusal changes no request, counter or money');
select is(tests.admit(:'r3', '0.2') ->> 'admitted', 'true', 'exactly what is left ($0.20) still fits');
select is(tests.key_money(:'kkey'), '0/1', 'the whole budget is now held');
select is(tests.admit(:'r4', '0.000000000000000001') ->> 'code', 'quota_exceeded',
  'not one atto-dollar more is admitted');

-- ---------------------------------------------------------------------------------------------
-- Every end returns the reservation once: settled (replaced by the actual cost) or released.
select is(public.settle_request(:'r1', 10, 20, 0.123456789, 'pgtap-16', 5, 'complete', 'hi') ->> 'settled', 'true',
  'r1 settles for $0.123456789');
select is(tests.key_money(:'kkey'), '0.123456789/0.6', '... its $0.40 reservation is replaced by its actual cost');
select is(public.settle_request(:'r1', 10, 20, 0.5, 'pgtap-16', 5, 'complete', 'again') ->> 'settled', 'false',
  'settling r1 twice does nothing');
select is(public.release_request(:'r1', 'late'), false, 'nor does releasing it afterwards');
select is(tests.key_money(:'kkey'), '0.123456789/0.6', '... the key''s money is unchanged');
select is(public.release_request(:'r2', 'no_output'), true, 'r2 is released');
select is(tests.key_money(:'kkey'), '0.123456789/0.2', '... its reservation is returned, nothing is spent');
select is(public.release_request(:'r2', 'no_output'), false, 'a second release of r2 does nothing');
select is(tests.key_money(:'kkey'), '0.123456789/0.2', '... and returns nothing twice');
select is(public.end_requests(jsonb_build_array(
  jsonb_build_object('kind', 'settle', 'requestId', :'r3', 'inputTokens', 1, 'outputTokens', 2, 'cost', '0.2',
                     'priceVersion', 'pgtap-16', 'latencyMs', 1, 'status', 'complete', 'content', 'x'),
  jsonb_build_object('kind', 'release', 'requestId', :'r2', 'reason', 'again'))), 1,
  'end_requests settles r3 (and r2 stays released)');
select is(tests.key_money(:'kkey'), '0.323456789/0', 'nothing is held once every request ended');
select is((select trim_scale(sum(cost))::text from public.usage_records where api_key_id = :'kkey'), '0.323456789',
  'the key''s spend is the sum of its usage records');

-- What is spent counts like what is held.
select is(tests.admit(:'r4', '0.676543212') ->> 'code', 'quota_exceeded', 'spent + worst case over budget: refused');
select is(tests.admit(:'r4', '0.676543211') ->> 'admitted', 'true', 'spent + worst case = budget: admitted');
select is(public.settle_request(:'r4', 1, 1, 0.676543211, 'pgtap-16', 1, 'complete', 'y') ->> 'settled', 'true',
  'r4 settles for its whole worst case');
select is(tests.admit(:'r5', '0.01') ->> 'message', 'API key "budgeted" has used its monthly budget of $1',
  'a key that spent its budget says so');

-- The sweeper returns the reservations of the requests it releases.
reset role;
update public.api_keys set period_spend = 0 where id = :'kkey';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select is(tests.admit(:'r5', '0.25') ->> 'admitted', 'true', 'r5 is admitted');
select is(tests.admit(:'r6', '0.25') ->> 'admitted', 'true', 'r6 is admitted');
reset role;
update public.requests set admitted_at = now() - interval '1 hour' where id = :'r5';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select is(public.release_stale_requests(interval '30 minutes'), 1, 'the sweeper releases the stale r5');
select is(tests.key_money(:'kkey'), '0/0.25', '... returning its reservation; r6''s stays');
select is((select status || ' ' || release_reason from public.requests where id = :'r5'), 'released stale',
  '... as a release with the reason "stale"');
reset role;
update public.requests set admitted_at = now() - interval '20 minutes' where id = :'r6';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select is(public.release_stale_requests(interval '10 minutes'), 1, 'with a shorter grace period r6 goes too');
select is(tests.key_money(:'kkey'), '0/0', '... and nothing is held');

-- ---------------------------------------------------------------------------------------------
-- A cache hit is settled inside admission: it holds nothing and carries its key.
select is(tests.admit(:'r7', '0.1', 'cache-16') ->> 'admitted', 'true', 'r7 is admitted with a cache hash');
select is(public.settle_request(:'r7', 3, 4, 0.05, 'pgtap-16', 1, 'complete', 'cached answer', null, null, null,
                                'cache-16') ->> 'settled', 'true', '... and settles, filling the cache');
select is(tests.admit(:'r8', '0.1', 'cache-16') -> 'cached' ->> 'content', 'cached answer',
  'the same request again is answered from the cache');
select is(tests.key_money(:'kkey'), '0.05/0', '... reserving nothing and costing nothing');
select is((select status || ' ' || coalesce(reserved_cost::text, 'none') from public.requests where id = :'r8'),
  'settled none', '... its request is settled and held nothing');
select is((select api_key_id from public.usage_records where request_id = :'r8'), :'kkey'::uuid,
  '... and its usage record carries the key');
select is(tests.admit(:'r9', '0.96', 'cache-16') ->> 'code', 'quota_exceeded',
  'a cache hit still needs its worst case to fit (the hit is known only inside admission)');

-- ---------------------------------------------------------------------------------------------
-- The model choice only sees what fits, and fallbacks never exceed the reservation.
select is(tests.admit(:'r9', '0.5') ->> 'admitted', 'true', 'r9 holds $0.50 (with $0.05 spent)');
select is(public.admit_key_request(:'khash', :'r10',
    jsonb_build_array(tests.cand('pgtap-big', '0.6'), tests.cand('pgtap-mid', '0.4'), tests.cand('pgtap-small', '0.1')),
    true) #>> '{model}', 'pgtap-mid',
  'a routed request through the key gets the best model whose worst case fits what is left ($0.45)');
select is(tests.key_money(:'kkey'), '0.05/0.9', '... and holds that model''s worst case');
select is(public.release_request(:'r10', 'done'), true, 'r10 is released');
select is(public.admit_key_request(:'khash', :'r11', jsonb_build_array(tests.cand('pgtap-mid', '0.3')), false,
    jsonb_build_array(tests.cand('pgtap-dear', '0.31'), tests.cand('pgtap-same', '0.3'), tests.cand('pgtap-cheap', '0.01')))
    -> 'fallbacks', '["pgtap-same", "pgtap-cheap"]'::jsonb,
  'a fallback whose worst case is over the reservation is dropped; the others stay, in order');
select is(public.admit_key_request(:'nhash', :'r12', jsonb_build_array(tests.cand('pgtap-mid', '0.3')), false,
    jsonb_build_array(tests.cand('pgtap-dear', '0.31'), tests.cand('pgtap-cheap', '0.01'))) -> 'fallbacks',
  '["pgtap-dear", "pgtap-cheap"]'::jsonb, 'a key without a budget keeps every fallback');
select is(tests.key_money(:'nkey'), '0/0.3', 'a key without a budget still shows what its requests hold');
select is(public.release_request(:'r12', 'done'), true, 'r12 is released');
select is(tests.key_money(:'nkey'), '0/0', '... and returns it');

-- ---------------------------------------------------------------------------------------------
-- The month boundary: spend starts again, reservations of requests in flight stay.
reset role;
update public.api_keys set period_start = (period_start - interval '1 month')::date, period_spend = 0.95
  where id = :'kkey';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
-- held: r9 $0.50 and r11 $0.30; last month's $0.95 no longer counts
select is(tests.admit(:'r13', '0.21') ->> 'code', 'quota_exceeded',
  'in a new month the requests still in flight hold their worst cases ($0.80 of $1)');
select is(tests.admit(:'r13', '0.2') ->> 'admitted', 'true', '... while last month''s spend no longer counts');
select is(public.settle_request(:'r9', 1, 1, 0.07, 'pgtap-16', 1, 'complete', 'z') ->> 'settled', 'true',
  'r9, admitted last month, settles this month');
select is(tests.key_money(:'kkey'), '0.07/0.5', '... its cost starts this month''s spend; its reservation is returned');

-- ---------------------------------------------------------------------------------------------
-- Revoked keys, and who may touch any of it.
reset role;
update public.api_keys set revoked_at = now() where id = :'nkey';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select is(public.admit_key_request(:'nhash', :'r14', jsonb_build_array(tests.cand('pgtap-mid', '0.3'))) ->> 'code',
  'unauthorized', 'a revoked key is refused');
reset role;
select ok(has_column_privilege('authenticated', 'public.api_keys', 'reserved_spend', 'select')
          and not has_column_privilege('authenticated', 'public.api_keys', 'reserved_spend', 'update')
          and not has_column_privilege('authenticated', 'public.requests', 'reserved_cost', 'update')
          and not has_table_privilege('anon', 'public.api_keys', 'select'),
  'a user reads a key''s reservation but can write no reservation or spend');
select is((select count(*)::int from public.api_keys k
           where reserved_spend <> coalesce((select sum(reserved_cost) from public.requests r
                                             where r.api_key_id = k.id and r.status = 'admitted'), 0)),
  0, 'every key holds exactly the sum of its requests in flight');

select * from finish();
rollback;
