-- The metering hot path (20261125000900_hot_path.sql): helpers that are called on every request
-- are either inlinable SQL or PL/pgSQL (never re-parsed per call), admission answers with the
-- same quota a fresh snapshot reads, and settle_request no longer builds an unused snapshot;
-- an answer is dated when it was produced, not when it was metered (20261125000920_answer_time.sql).
-- Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(10);

\set ada 'a0000014-0000-4000-8000-000000000001'
\set cands '[{"model":"pgtap-model-14","provider":"pgtap-provider-14","worstCaseCost":"0.001"}]'

-- A SQL function is inlined only without a SET clause and without SECURITY DEFINER; the others
-- on the hot path are PL/pgSQL, whose plans are kept for the session.
select is((select array_agg(p.oid::regproc::text order by 1) from pg_proc p join pg_language l on l.oid = p.prolang
           where l.lanname = 'sql' and (p.proconfig is not null or p.prosecdef)
             and p.oid::regproc::text in ('private.effective_plan', 'private.plan_allows', 'private.utc_month',
                                          'private.created_in_this_transaction', 'private.cost_totals',
                                          'private.quota_json', 'private.quota_snapshot')),
  null, 'no SQL helper on the hot path carries what keeps it from being inlined');
select is((select l.lanname::text from pg_proc p join pg_language l on l.oid = p.prolang
           where p.oid = 'private.effective_plan'::regproc),
  'plpgsql', 'effective_plan (a join, used as a value) is PL/pgSQL, so its plan is kept');

insert into auth.users (id, email) values (:'ada', 'pgtap-ada-14@example.test');
select is((private.effective_plan(:'ada')).tier, 'free', 'a new user''s plan in force is free');
select is((private.effective_plan('a0000014-0000-4000-8000-0000000000ff')).tier, null,
  'an unknown user has no plan (all fields null), as before');

create temporary table admitted as
  select public.admit_request(:'ada', gen_random_uuid(), :'cands', false, null, 'hello', 'Hi') as r;
select is((select r -> 'quota' from admitted), private.quota_snapshot(:'ada'),
  'admission answers with the quota a fresh snapshot reads after it');
select is((select (r -> 'quota' ->> 'minuteUsed')::int from admitted), 1, 'one request used this minute');

update public.request_counters set period_requests = 41 where user_id = :'ada';
create temporary table admitted2 as
  select public.admit_request(:'ada', gen_random_uuid(), :'cands', false, null, 'again', 'Hi') as r;
select is((select r -> 'quota' from admitted2), private.quota_snapshot(:'ada'),
  'and so does the next one, counted from the stored counters');
select is((select (r -> 'quota' ->> 'monthUsed')::int from admitted2), 42, 'the month''s count continues');

select is(public.settle_request((select (r ->> 'requestId')::uuid from admitted), 3, 4, 0.00001, 'pgtap-14', 5,
                                'complete', 'hi there') - 'messageId',
  '{"settled": true}'::jsonb, 'settling answers whether it settled (and the message id), nothing more');

-- (in this one long transaction the question is stored well after admission's now(): the
-- answer then follows its question, 20261125001070)
select is((select m.created_at - greatest(r.admitted_at + interval '0.005 seconds', q.created_at)
           from public.messages m join public.requests r on r.id = m.request_id
           join public.messages q on q.request_id = r.id and q.role = 'user'
           where m.request_id = (select (r ->> 'requestId')::uuid from admitted) and m.role = 'assistant'),
  interval '0.000001 seconds',
  'the answer is dated when it was produced (admission + latency) or just after its question, not when it was metered');

select * from finish();
rollback;
