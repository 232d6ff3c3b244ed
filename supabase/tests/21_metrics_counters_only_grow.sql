-- metrics_snapshot (20261125001050): counters only ever grow (requests in flight are a gauge of
-- their own, not an outcome of the counter), and cache hits stay out of the latency histogram.
-- Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(5);

\set bo 'a0000021-0000-4000-8000-000000000001'
\set r1 'b0000021-0000-4000-8000-000000000001'
\set r2 'b0000021-0000-4000-8000-000000000002'
\set cands '[{"model":"pgtap-model-21","provider":"pgtap-provider-21","worstCaseCost":"0.001"}]'

insert into auth.users (id, email) values (:'bo', 'pgtap-bo-21@example.test');
select public.set_user_tier(:'bo', 'enterprise');

-- the requests of this test's model, by outcome, and those in flight
create function pg_temp.ours(p_snapshot jsonb, p_key text) returns jsonb language sql as $$
  select coalesce(jsonb_agg(x - 'provider' - 'model' order by x::text), '[]')
  from jsonb_array_elements(p_snapshot -> p_key) x where x ->> 'model' = 'pgtap-model-21'
$$;

select public.admit_request(:'bo', :'r1', :'cands');
select public.admit_request(:'bo', :'r2', :'cands');
create temporary table s1 as select public.metrics_snapshot(array[100, 250]) as m;
select is(pg_temp.ours((select m from s1), 'requests'), '[]', 'requests in flight are no outcome of the counter');
select is(pg_temp.ours((select m from s1), 'inFlight'), '[{"count": 2}]', 'they are the in-flight gauge');

select public.settle_request(:'r1', 10, 20, 0.00002, 'v21', 180, 'complete');
select public.settle_request(:'r2', 10, 0, 0, 'cache', 0, 'cached');
create temporary table s2 as select public.metrics_snapshot(array[100, 250]) as m;
select is(pg_temp.ours((select m from s2), 'requests'),
  '[{"count": 1, "outcome": "cached"}, {"count": 1, "outcome": "complete"}]', 'ended, they are counted');
select is(pg_temp.ours((select m from s2), 'inFlight'), '[]', 'and no longer in flight');
select is((select (s2.m -> 'latency' ->> 'count')::int - (s1.m -> 'latency' ->> 'count')::int from s1, s2), 1,
  'the cache hit (latency 0) is not in the latency histogram; the answered request is');

select * from finish();
rollback;
