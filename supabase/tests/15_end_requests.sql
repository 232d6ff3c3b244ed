-- public.end_requests (20261125000910_end_requests.sql): many requests' ends in one statement,
-- each applied as settle_request / release_request with record_attempts would; endings of
-- requests already ended change nothing; a malformed batch is refused whole. Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(11);

\set eve 'a0000015-0000-4000-8000-000000000001'
\set r1 'b0000015-0000-4000-8000-000000000001'
\set r2 'b0000015-0000-4000-8000-000000000002'
\set r3 'b0000015-0000-4000-8000-000000000003'
\set cands '[{"model":"pgtap-model-15","provider":"pgtap-provider-15","worstCaseCost":"0.001"}]'

insert into auth.users (id, email) values (:'eve', 'pgtap-eve-15@example.test');
select public.admit_request(:'eve', r::uuid, :'cands') from unnest(array[:'r1', :'r2', :'r3']) r;

select is(public.end_requests(jsonb_build_array(
  jsonb_build_object('kind', 'settle', 'requestId', :'r1', 'inputTokens', 7, 'outputTokens', 9,
                     'cost', '0.000012345678901234', 'priceVersion', 'pgtap-15', 'latencyMs', 3,
                     'status', 'complete', 'content', 'hi', 'messageId', null, 'model', 'pgtap-model-15',
                     'provider', 'pgtap-provider-15', 'cacheHash', null,
                     'attempts', '[{"attempt":1,"provider":"pgtap-provider-15","model":"pgtap-model-15","outcome":"rate_limited","http_status":429,"latency_ms":2},{"attempt":2,"provider":"pgtap-provider-15","model":"pgtap-model-15","outcome":"ok","http_status":200,"latency_ms":3}]'::jsonb,
                     'errorClass', 'rate_limited'),
  jsonb_build_object('kind', 'release', 'requestId', :'r2', 'reason', 'client_disconnected',
                     'attempts', '[]'::jsonb, 'errorClass', null))),
  2, 'a settlement and a release in one call end two requests');
select is((select status from public.requests where id = :'r1'), 'settled', 'r1 is settled');
select is((select status || ' ' || release_reason from public.requests where id = :'r2'),
  'released client_disconnected', 'r2 is released, with its reason');
select is((select cost::text from public.usage_records where request_id = :'r1'), '0.000012345678901234',
  'the cost is stored to the last digit');
select is((select retries || ' ' || error_class from public.usage_records where request_id = :'r1'),
  '1 rate_limited', 'its attempts are logged with it: one retry, the error class');
select is((select count(*)::int from public.provider_attempts where request_id = :'r1'), 2,
  'both provider calls are in the attempt log');

select is(public.end_requests(jsonb_build_array(
  jsonb_build_object('kind', 'release', 'requestId', :'r1', 'reason', 'no_output'),
  jsonb_build_object('kind', 'settle', 'requestId', :'r2', 'inputTokens', 1, 'outputTokens', 1, 'cost', '5',
                     'priceVersion', 'pgtap-15', 'latencyMs', 1, 'status', 'complete', 'content', 'late'))),
  0, 'ending requests that already ended ends nothing');
select is((select count(*)::int || ' ' || sum(cost)::text from public.usage_records where user_id = :'eve'),
  '1 0.000012345678901234', 'and records nothing more');

select throws_ok(format($$ select public.end_requests(jsonb_build_array(
  jsonb_build_object('kind', 'release', 'requestId', %L, 'reason', 'no_output'),
  jsonb_build_object('kind', 'refund', 'requestId', %L))) $$, :'r3', :'r3'),
  '22023', null, 'an unknown kind of ending refuses the whole batch');
select is((select status from public.requests where id = :'r3'), 'admitted', 'so nothing of it was applied');

select ok(not has_function_privilege('authenticated', 'public.end_requests(jsonb)', 'execute')
          and not has_function_privilege('anon', 'public.end_requests(jsonb)', 'execute')
          and has_function_privilege('service_role', 'public.end_requests(jsonb)', 'execute'),
  'only the service role may end requests');

select * from finish();
rollback;
