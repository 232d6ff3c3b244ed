-- A budgeted API key and a user who turned the smart router off
-- (20261125001110_key_budget_and_default_model.sql): the key's budget refuses only when nothing
-- admission may pick from fits, the router's candidates and the user's default model; with the
-- router on, the default model's options play no part. Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(15);

\set uid   'a0000026-0000-4000-8000-000000000001'
\set kid   'c0000026-0000-4000-8000-000000000001'
\set khash '2727272727272727272727272727272727272727272727272727272727272727'
\set r1 'b0000026-0000-4000-8000-000000000001'
\set r2 'b0000026-0000-4000-8000-000000000002'
\set r3 'b0000026-0000-4000-8000-000000000003'
\set r4 'b0000026-0000-4000-8000-000000000004'
\set r5 'b0000026-0000-4000-8000-000000000005'
\set r6 'b0000026-0000-4000-8000-000000000006'

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;
create or replace function tests.cand26(p_model text, p_cost text) returns jsonb language sql as $$
  select jsonb_build_object('model', p_model, 'provider', 'pgtap-26', 'worstCaseCost', p_cost)
$$;
-- A routed request through the key: the router's candidates, and the options of a default model.
create or replace function tests.admit26(p_request uuid, p_candidates jsonb, p_defaults jsonb,
                                         p_routed boolean default true) returns jsonb
language sql as $$
  select public.admit_key_request('2727272727272727272727272727272727272727272727272727272727272727', p_request,
                                  p_candidates, p_routed, '[]', null, null, null, p_defaults)
$$;
-- What a refusal may not change: the user's requests and the key's money.
create or replace function tests.footprint26() returns text language sql as $$
  select format('requests=%s key=%s/%s',
    (select count(*) from public.requests where user_id = 'a0000026-0000-4000-8000-000000000001'),
    (select trim_scale(period_spend) from public.api_keys where id = 'c0000026-0000-4000-8000-000000000001'),
    (select trim_scale(reserved_spend) from public.api_keys where id = 'c0000026-0000-4000-8000-000000000001'))
$$;

insert into auth.users (id, email) values (:'uid', 'pgtap-26@example.test');
do $$ begin perform public.set_user_tier('a0000026-0000-4000-8000-000000000001', 'enterprise'); end $$;
update public.profiles set smart_router = false, default_model = 'pgtap-default' where id = :'uid';
insert into public.api_keys (id, user_id, name, prefix, key_hash, monthly_budget) values
  (:'kid', :'uid', 'budgeted', 'nx_pgtap26a', :'khash', 1.00);

set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';

-- ---------------------------------------------------------------------------------------------
-- Router off: the default model answers what the router found no model for.
select tests.admit26(:'r1', '[]',
         jsonb_build_array(tests.cand26('pgtap-cheap', '0.01'), tests.cand26('pgtap-default', '0.3'))) as admitted1 \gset
select is(:'admitted1'::jsonb ->> 'model', 'pgtap-default',
  'router off, no router candidate: the budgeted key is answered by the default model (was quota_exceeded)');
select is(:'admitted1'::jsonb ->> 'selection', 'default_model', '... as the default model');
select is((select trim_scale(reserved_cost)::text from public.requests where id = :'r1'), '0.3',
  '... and holds the default model''s worst case');
select is(public.release_request(:'r1', 'done'), true, 'r1 is released');

select is(tests.admit26(:'r2', jsonb_build_array(tests.cand26('pgtap-dear', '1.5')),
            jsonb_build_array(tests.cand26('pgtap-default', '0.3'))) ->> 'selection', 'default_model',
  'router off: the default model answers though the router''s candidate is over the budget');
select is(public.release_request(:'r2', 'done'), true, 'r2 is released');

select tests.footprint26() as before \gset
select is(tests.admit26(:'r3', '[]',
            jsonb_build_array(tests.cand26('pgtap-cheap', '0.01'), tests.cand26('pgtap-default', '1.2')))
            #>> '{details,worstCaseCost}', '1.2',
  'router off, default model over the budget: refused for the budget with the default model''s worst case '
  '(not the cheapest option''s: the user asked for his default)');
select is(tests.admit26(:'r3', '[]', jsonb_build_array(tests.cand26('pgtap-default', '1.2'))) ->> 'code',
  'quota_exceeded', '... as quota_exceeded');
select is(tests.footprint26(), :'before', '... changing nothing');

select is(tests.admit26(:'r4', jsonb_build_array(tests.cand26('pgtap-routed', '0.2')),
            jsonb_build_array(tests.cand26('pgtap-default', '1.2'))) ->> 'selection', 'router',
  'router off, default model over the budget, a router candidate fits: the candidate answers');
select is(public.release_request(:'r4', 'done'), true, 'r4 is released');

select is(tests.admit26(:'r5', jsonb_build_array(tests.cand26('pgtap-explicit', '1.5')),
            jsonb_build_array(tests.cand26('pgtap-default', '0.3')), false) ->> 'code', 'quota_exceeded',
  'a request naming its model is not answered by the default model: over the budget, refused');

select is(tests.admit26(:'r5', jsonb_build_array(tests.cand26('pgtap-dear', '1.5')),
            jsonb_build_array(tests.cand26('pgtap-default', '0.3') || '{"tiers": ["free"]}')) ->> 'code',
  'quota_exceeded',
  'router off, a default model the plan does not allow: the candidates over the budget are refused for it '
  '(not as a model the plan does not allow)');

-- ---------------------------------------------------------------------------------------------
-- Router on: the default model's options play no part.
reset role;
update public.profiles set smart_router = true where id = :'uid';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select is(tests.admit26(:'r6', '[]', jsonb_build_array(tests.cand26('pgtap-default', '0.3'))) ->> 'code',
  'model_not_allowed', 'router on and no candidate: no model (the router''s refusal), not the budget''s');
select is(tests.admit26(:'r6', jsonb_build_array(tests.cand26('pgtap-dear', '1.5')),
            jsonb_build_array(tests.cand26('pgtap-default', '0.3'))) ->> 'code', 'quota_exceeded',
  'router on and every candidate over the budget: refused for the budget, the default model not used');

select * from finish();
rollback;
