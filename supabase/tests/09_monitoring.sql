-- Monitoring records (provider attempts, refusal tallies, breaker openings) are the service's own:
-- API roles neither see nor write them. The attempt log is written once per request, with the
-- request's end, and annotates its usage record; the metrics snapshot adds it all up.
-- Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(25);

\set ana 'a0000009-0000-4000-8000-000000000001'
\set r1 'b0000009-0000-4000-8000-000000000001'
\set r2 'b0000009-0000-4000-8000-000000000002'
\set r3 'b0000009-0000-4000-8000-000000000003'
\set cands '[{"model":"pgtap-model-9","provider":"pgtap-provider-9","worstCaseCost":"0.001"}]'
\set tried '[{"attempt":1,"provider":"pgtap-provider-9","model":"pgtap-model-9","outcome":"rate_limited","http_status":429,"latency_ms":12},{"attempt":2,"provider":"pgtap-provider-9","model":"pgtap-model-9","outcome":"ok","http_status":200,"latency_ms":30}]'
\set skipped '[{"attempt":1,"provider":"pgtap-provider-9","model":"pgtap-model-9","outcome":"circuit_open","http_status":null,"latency_ms":0}]'

insert into auth.users (id, email) values (:'ana', 'pgtap-ana-09@example.test');

-- ---------------------------------------------------------------------------------------------
-- Locked away from the API roles.
select ok((select bool_and(relrowsecurity) from pg_class
           where oid in ('public.provider_attempts'::regclass, 'public.refusal_tallies'::regclass,
                         'public.breaker_openings'::regclass)),
  'RLS is on for every monitoring table');
select ok(not (select bool_or(has_table_privilege(r, t, p))
               from unnest(array['anon', 'authenticated']) r,
                    unnest(array['public.provider_attempts', 'public.refusal_tallies', 'public.breaker_openings']) t,
                    unnest(array['select', 'insert', 'update', 'delete']) p),
  'anon and authenticated have no privilege on the monitoring tables');
select ok(not (select bool_or(has_function_privilege(r, f, 'execute'))
               from unnest(array['anon', 'authenticated']) r,
                    unnest(array['public.record_attempts(uuid, jsonb, text, jsonb)',
                                 'public.record_refusals(text, jsonb)',
                                 'public.record_breaker_opening(text)',
                                 'public.metrics_snapshot(integer[])']) f),
  'anon and authenticated cannot call the monitoring functions');
select ok((select bool_and(has_function_privilege('service_role', f, 'execute'))
           from unnest(array['public.record_attempts(uuid, jsonb, text, jsonb)',
                             'public.record_refusals(text, jsonb)',
                             'public.record_breaker_opening(text)',
                             'public.metrics_snapshot(integer[])']) f),
  'the service role can');

set local role authenticated;
set local request.jwt.claims = '{"sub":"a0000009-0000-4000-8000-000000000001","role":"authenticated"}';
select throws_ok($$ select count(*) from public.provider_attempts $$, '42501', null,
  'a user cannot read the attempt log');
select throws_ok($$ select public.record_refusals('chat', '[{"reason":"x","count":1}]') $$, '42501', null,
  'a user cannot write refusal tallies');
reset role;

-- ---------------------------------------------------------------------------------------------
-- The attempt log, written with the request's end.
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';

create temporary table before_snapshot as select public.metrics_snapshot(array[100, 250]) as m;

select is((public.admit_request(:'ana', :'r1', :'cands', false, null, null, null)) ->> 'admitted', 'true',
  'r1 is admitted');
select is(public.record_attempts(:'r1', :'tried', null,
            public.settle_request(:'r1', 10, 20, 0.00002, 'v9', 180, 'complete')), 2,
  'settling with its attempts writes both');
select is((select array_agg(outcome order by attempt) from public.provider_attempts where request_id = :'r1'),
  array['rate_limited', 'ok'], 'in order, with their outcomes');
select is((select row(retries, error_class)::text from public.usage_records where request_id = :'r1'),
  row(1, null::text)::text, 'the usage record counts one retry and no error class');
select is(public.record_attempts(:'r1', :'tried', null, null), 0, 'recording again adds nothing');
select is((select count(*) from public.provider_attempts where request_id = :'r1'), 2::bigint,
  'no duplicate attempt rows');

select is((public.admit_request(:'ana', :'r2', :'cands', false, null, null, null)) ->> 'admitted', 'true',
  'r2 is admitted');
select is(public.record_attempts(:'r2', :'skipped', 'circuit_open',
            to_jsonb(public.release_request(:'r2', 'provider_error'))), 1,
  'releasing with its attempts writes the skipped call');
select is((select row(status, release_reason)::text from public.requests where id = :'r2'),
  row('released', 'provider_error')::text, 'a released request keeps why');
select is(public.record_attempts('b0000009-0000-4000-8000-0000000000ff', :'tried', null, null), 0,
  'attempts of an unknown request are not recorded');
select is((public.admit_request(:'ana', :'r3', :'cands', false, null, null, null)) ->> 'admitted', 'true',
  'r3 is admitted');
select throws_ok($$ select public.record_attempts('b0000009-0000-4000-8000-000000000003'::uuid,
                     '[{"attempt":1,"provider":"p","model":"m","outcome":"bogus","latency_ms":1}]', null, null) $$,
  '23514', null, 'an unknown outcome is refused by the table');
select is(public.record_attempts(:'r3',
            '[{"attempt":1,"provider":"pgtap-provider-9b","model":"m","outcome":"time_limit","latency_ms":5}]',
            'time_limit', to_jsonb(public.release_request(:'r3', 'provider_error'))), 1,
  'a call cut short by the request''s own time limit is logged as time_limit (20261125001120)');

-- ---------------------------------------------------------------------------------------------
-- Tallies and the snapshot.
select public.record_refusals('pgtap-fn', '[{"reason":"rate_limited","count":3},{"reason":"zero","count":0}]');
select public.record_refusals('pgtap-fn', '[{"reason":"rate_limited","count":2}]');
select is((select sum(count) from public.refusal_tallies where function_name = 'pgtap-fn' and reason = 'rate_limited'),
  5::numeric, 'tallies of the same minute add up');
select is((select count(*) from public.refusal_tallies where function_name = 'pgtap-fn' and reason = 'zero'),
  0::bigint, 'zero counts are not stored');
select public.record_breaker_opening('pgtap-provider-9');

create temporary table after_snapshot as select public.metrics_snapshot(array[100, 250]) as m;
select is((select (r ->> 'count')::int from after_snapshot, jsonb_array_elements(m -> 'refusals') r
           where r ->> 'function' = 'pgtap-fn' and r ->> 'reason' = 'rate_limited'), 5,
  'the snapshot reports the refusals');
select is((select jsonb_agg(a order by a ->> 'outcome') from after_snapshot, jsonb_array_elements(m -> 'attempts') a
           where a ->> 'provider' = 'pgtap-provider-9'),
  '[{"count": 1, "outcome": "circuit_open", "provider": "pgtap-provider-9"},
    {"count": 1, "outcome": "ok", "provider": "pgtap-provider-9"},
    {"count": 1, "outcome": "rate_limited", "provider": "pgtap-provider-9"}]'::jsonb,
  'the snapshot reports attempts by provider and outcome');
select is((select (b ->> 'count')::int from after_snapshot, jsonb_array_elements(m -> 'breakerOpenings') b
           where b ->> 'provider' = 'pgtap-provider-9'), 1, 'and the breaker opening');
-- 180 ms is above the 100 ms bound and within 250: index 1 of the histogram grew by one
select is(coalesce((select (m -> 'latency' -> 'bucketCounts' ->> '1')::int from after_snapshot), 0)
          - coalesce((select (m -> 'latency' -> 'bucketCounts' ->> '1')::int from before_snapshot), 0), 1,
  'the settled request lands in the latency bucket of its bound');

select * from finish();
rollback;
