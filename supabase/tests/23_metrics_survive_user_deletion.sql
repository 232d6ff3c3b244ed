-- metrics_snapshot (20261125001080): deleting a user (whose rows go by cascade) leaves every
-- counter where it was: what his rows counted is kept in the retired totals. Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(8);

\set cy 'a0000023-0000-4000-8000-000000000001'
\set r1 'b0000023-0000-4000-8000-000000000001'
\set r2 'b0000023-0000-4000-8000-000000000002'
\set r3 'b0000023-0000-4000-8000-000000000003'
\set cands '[{"model":"pgtap-model-23","provider":"pgtap-provider-23","worstCaseCost":"0.001"}]'
\set tried '[{"attempt":1,"provider":"pgtap-provider-23","model":"pgtap-model-23","outcome":"rate_limited","http_status":429,"latency_ms":12},{"attempt":2,"provider":"pgtap-provider-23","model":"pgtap-model-23","outcome":"ok","http_status":200,"latency_ms":30}]'

insert into auth.users (id, email) values (:'cy', 'pgtap-cy-23@example.test');
select public.set_user_tier(:'cy', 'enterprise');

-- a complete answer after a retry, a released request, and one still in flight
select public.admit_request(:'cy', :'r1', :'cands');
select public.admit_request(:'cy', :'r2', :'cands');
select public.admit_request(:'cy', :'r3', :'cands');
select public.end_requests(jsonb_build_array(
  jsonb_build_object('kind', 'settle', 'requestId', :'r1', 'inputTokens', 10, 'outputTokens', 20,
                     'cost', '0.000123', 'priceVersion', 'v23', 'latencyMs', 180, 'status', 'complete',
                     'attempts', :'tried'::jsonb),
  jsonb_build_object('kind', 'release', 'requestId', :'r2', 'reason', 'no_output')));

-- this test's share of a snapshot (other rows may exist in the database)
create function pg_temp.ours(m jsonb) returns jsonb language sql as $$
  select jsonb_build_object(
    'requests', (select jsonb_agg(x order by x::text) from jsonb_array_elements(m -> 'requests') x
                 where x ->> 'model' = 'pgtap-model-23'),
    'attempts', (select jsonb_agg(x order by x::text) from jsonb_array_elements(m -> 'attempts') x
                 where x ->> 'provider' = 'pgtap-provider-23'),
    'cost', (select jsonb_agg(x) from jsonb_array_elements(m -> 'cost') x where x ->> 'model' = 'pgtap-model-23'))
$$;
create temporary table before as select public.metrics_snapshot(array[100, 250]) as m;
select is(pg_temp.ours((select m from before)) -> 'requests',
  '[{"count": 1, "model": "pgtap-model-23", "outcome": "complete", "provider": "pgtap-provider-23"},
    {"count": 1, "model": "pgtap-model-23", "outcome": "released", "provider": "pgtap-provider-23"}]'::jsonb,
  'the ended requests are counted');

delete from auth.users where id = :'cy';
select is((select count(*)::int from public.requests where user_id = :'cy'), 0, 'his rows are gone (cascade)');
create temporary table after as select public.metrics_snapshot(array[100, 250]) as m;

select is(pg_temp.ours((select m from after)), pg_temp.ours((select m from before)),
  'requests by outcome, provider attempts and cost are as before his deletion');
select is((select m -> 'latency' from after), (select m -> 'latency' from before), 'so is the latency histogram');
select is((select m -> 'tokens' from after), (select m -> 'tokens' from before), 'and the tokens');
select is((select m -> 'retries' from after), (select m -> 'retries' from before), 'and the retries');
select is((select m -> 'inFlight' from after) @> '[{"model": "pgtap-model-23"}]', false,
  'his request in flight is no longer in flight (a gauge may fall)');
select ok(not (select bool_or(has_table_privilege('authenticated', t, 'select'))
               from unnest(array['public.retired_request_totals', 'public.retired_latencies',
                                 'public.retired_attempt_totals']) t),
  'the retired totals are the service''s own');

select * from finish();
rollback;
