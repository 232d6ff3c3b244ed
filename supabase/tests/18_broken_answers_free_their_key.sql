-- An Idempotency-Key replays complete answers; a settlement with a broken one (partial, error,
-- cancelled) frees the key, so the client's retry is a new request. Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(7);

\set ann 'a0000018-0000-4000-8000-000000000001'
\set cands '[{"model":"pgtap-model-18","provider":"pgtap-provider-18","worstCaseCost":"0.001"}]'

insert into auth.users (id, email) values (:'ann', 'pgtap-ann-18@example.test');
select public.set_user_tier(:'ann', 'enterprise');

select is((public.admit_request(:'ann', 'b0000018-0000-4000-8000-000000000001', :'cands', false, null, null,
           null, '[]', 'complete-key', 'h') ->> 'admitted')::boolean, true, 'admitted under a key');
select public.end_requests(jsonb_build_array(jsonb_build_object(
  'kind', 'settle', 'requestId', 'b0000018-0000-4000-8000-000000000001', 'inputTokens', 5, 'outputTokens', 3,
  'cost', '0.00001', 'priceVersion', 'pgtap-18', 'latencyMs', 2, 'status', 'complete', 'content', 'whole',
  'messageId', null, 'model', 'pgtap-model-18', 'provider', 'pgtap-provider-18', 'cacheHash', null,
  'attempts', '[]'::jsonb, 'errorClass', null)));
select is(public.admit_request(:'ann', gen_random_uuid(), :'cands', false, null, null, null, '[]',
          'complete-key', 'h') ->> 'code', 'replay', 'a complete answer is replayed under its key');

-- partial, error and cancelled answers free their keys
select public.admit_request(:'ann', ('b0000018-0000-4000-8000-00000000000' || i)::uuid, :'cands', false, null,
                            null, null, '[]', 'broken-' || i, 'h')
from generate_series(2, 4) i;
select public.end_requests(jsonb_build_array(jsonb_build_object(
  'kind', 'settle', 'requestId', 'b0000018-0000-4000-8000-00000000000' || i, 'inputTokens', 5,
  'outputTokens', 3, 'cost', '0.00001', 'priceVersion', 'pgtap-18', 'latencyMs', 2,
  'status', (array['partial', 'error', 'cancelled'])[i - 1], 'content', 'half an ans', 'messageId', null,
  'model', 'pgtap-model-18', 'provider', 'pgtap-provider-18', 'cacheHash', null, 'attempts', '[]'::jsonb,
  'errorClass', null)))
from generate_series(2, 4) i;

select is((select count(*)::int from public.idempotency_keys where user_id = :'ann' and key like 'broken-%'), 0,
  'the broken answers'' keys are free');
select is((select array_agg(s order by s) from (
  select (public.admit_request(:'ann', gen_random_uuid(), :'cands', false, null, null, null, '[]',
                               'broken-' || i, 'h') ->> 'admitted') as s
  from generate_series(2, 4) i) t), array['true', 'true', 'true'],
  'a retry under each is a new request, admitted');
select is((select count(*)::int from public.usage_records where user_id = :'ann' and status <> 'complete'), 3,
  'the broken answers stay charged for what they produced');
select is((select count(*)::int from public.idempotency_keys where user_id = :'ann' and key = 'complete-key'), 1,
  'the complete answer''s key is kept');
select is((select count(*)::int from public.idempotency_keys where user_id = :'ann' and key like 'broken-%'), 3,
  'and the retries hold the keys now');

select * from finish();
rollback;
