-- admit_request: the one atomic admission RPC (rate limit, monthly quota, cost cap, tier, model
-- choice, conversation). A refusal changes no counters and creates no requests, conversations or
-- messages. Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(70);

\set free  'a0000004-0000-4000-8000-000000000001'
\set quota 'a0000004-0000-4000-8000-000000000002'
\set free2 'a0000004-0000-4000-8000-000000000003'
\set pro   'a0000004-0000-4000-8000-000000000004'
\set ent   'a0000004-0000-4000-8000-000000000005'
\set dflt  'a0000004-0000-4000-8000-000000000006'
\set alice 'a0000004-0000-4000-8000-000000000007'
\set bob   'a0000004-0000-4000-8000-000000000008'
\set req21 'b0000004-0000-4000-8000-000000000021'
\set reqd  'b0000004-0000-4000-8000-0000000000dd'

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;
create or replace function tests.wait_for_fresh_minute() returns void language plpgsql as $$
begin
  if extract(second from clock_timestamp()) >= 50 then
    perform pg_sleep(60.5 - extract(second from clock_timestamp()));
  end if;
end
$$;
-- Everything an admission may touch for one user.
create or replace function tests.state(p_user uuid) returns text language sql as $$
  select format('counters=%s requests=%s conversations=%s messages=%s memberships=%s',
    (select row(minute_window, minute_count, period_start, period_requests)::text
       from public.request_counters where user_id = p_user),
    (select count(*) from public.requests where user_id = p_user),
    (select count(*) from public.conversations where owner_id = p_user),
    (select count(*) from public.messages where user_id = p_user),
    (select count(*) from public.conversation_members where user_id = p_user))
$$;
create table tests.saved (k text primary key, v text);
create or replace function tests.save(p_key text, p_user uuid) returns void language sql as $$
  insert into tests.saved values (p_key, tests.state(p_user)) on conflict (k) do update set v = excluded.v
$$;
create or replace function tests.saved(p_key text) returns text language sql as $$
  select v from tests.saved where k = p_key
$$;
create or replace function tests.cand(p_model text, p_cost text, p_tiers text[] default null) returns jsonb
language sql as $$
  select jsonb_build_object('model', p_model, 'provider', 'pgtap-' || p_model, 'worstCaseCost', p_cost)
      || case when p_tiers is null then '{}'::jsonb else jsonb_build_object('tiers', to_jsonb(p_tiers)) end
$$;
-- admit_request, but an error is an answer too (for inputs that may legitimately raise).
create or replace function tests.try_admit(p_user uuid, p_request uuid, p_candidates jsonb) returns jsonb
language plpgsql as $$
begin
  return public.admit_request(p_user, p_request, p_candidates);
exception when others then
  return jsonb_build_object('admitted', false, 'error', sqlstate);
end
$$;
create table tests.admissions (n integer primary key, r jsonb);
grant all on tests.saved, tests.admissions to service_role;

insert into auth.users (id, email) values
  (:'free', 'pgtap-free-04@example.test'), (:'quota', 'pgtap-quota-04@example.test'),
  (:'free2', 'pgtap-free2-04@example.test'), (:'pro', 'pgtap-pro-04@example.test'),
  (:'ent', 'pgtap-ent-04@example.test'), (:'dflt', 'pgtap-dflt-04@example.test'),
  (:'alice', 'pgtap-alice-04@example.test'), (:'bob', 'pgtap-bob-04@example.test');
do $$
begin
  perform public.set_user_tier('a0000004-0000-4000-8000-000000000004', 'pro');
  perform public.set_user_tier('a0000004-0000-4000-8000-000000000005', 'enterprise');
end
$$;

-- Admission is the service role's job (the chat function); run it as that role.
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';

-- ---------------------------------------------------------------------------------------------
-- Rate limit: a free user is admitted exactly 20 times in a minute, then rate_limited.
do $$ begin perform tests.wait_for_fresh_minute(); end $$;
insert into tests.admissions
select g, public.admit_request(:'free', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001')))
from generate_series(1, 20) g;

select is((select count(*) from tests.admissions where (r ->> 'admitted')::boolean), 20::bigint,
  'a free user is admitted 20 times in one minute');
select is((select count(*) from tests.admissions where r ->> 'model' = 'm-cheap' and r ->> 'provider' = 'pgtap-m-cheap'),
  20::bigint, 'each admission names the model and provider it admitted');
select is((select (r -> 'quota' ->> 'minuteRemaining')::int from tests.admissions where n = 1), 19,
  'the first admission''s quota shows 19 left this minute');
select is((select (r -> 'quota' ->> 'monthRemaining')::int from tests.admissions where n = 1), 99,
  '... and 99 left this month');
select is((select (r -> 'quota' ->> 'minuteRemaining')::int from tests.admissions where n = 20), 0,
  'the 20th admission''s quota shows 0 left this minute');
select is((select row(minute_count, period_requests)::text from public.request_counters where user_id = :'free'),
  '(20,20)', 'the counters hold 20 this minute and 20 this month');
select is((select count(*) from public.requests where user_id = :'free' and status = 'admitted'), 20::bigint,
  '20 admitted requests are on the ledger');

select tests.save('free', :'free');
insert into tests.admissions
values (21, public.admit_request(:'free', :'req21', jsonb_build_array(tests.cand('m-cheap', '0.001'))));
select is((select r ->> 'admitted' from tests.admissions where n = 21), 'false', 'the 21st request is refused');
select is((select r ->> 'code' from tests.admissions where n = 21), 'rate_limited', '... with rate_limited');
select ok((select (r ->> 'retryAfter')::int between 1 and 60 from tests.admissions where n = 21),
  '... and a retryAfter between 1 and 60 seconds');
select is(tests.state(:'free'), tests.saved('free'), 'the rate-limited refusal changed no counters or rows');
select is((select count(*) from public.requests where id = :'req21'), 0::bigint,
  'the refused request is not on the ledger');
select is((public.admit_request(:'free', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001')),
                                false, null, 'hello?', 'refused')) ->> 'code', 'rate_limited',
  'a rate-limited request with a message is refused too ...');
select is(tests.state(:'free'), tests.saved('free'), '... and creates no conversation or message');

-- ---------------------------------------------------------------------------------------------
-- Monthly quota.
reset role;
update public.request_counters set period_requests = 99 where user_id = :'quota';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select is((public.admit_request(:'quota', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001'))))
          ->> 'admitted', 'true', 'with 99 of 100 used, the 100th request of the month is admitted');
select tests.save('quota', :'quota');
insert into tests.admissions
values (100, public.admit_request(:'quota', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001')),
                                  false, null, 'one more?', 'over quota'));
select is((select r ->> 'admitted' from tests.admissions where n = 100), 'false', 'the 101st is refused');
select is((select r ->> 'code' from tests.admissions where n = 100), 'quota_exceeded', '... with quota_exceeded');
select is(tests.state(:'quota'), tests.saved('quota'),
  'the quota refusal changed no counters and created no request, conversation or message');

reset role;
update public.request_counters set period_requests = 100, minute_count = 0 where user_id = :'free2';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select tests.save('free2', :'free2');
select is((public.admit_request(:'free2', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001'))))
          ->> 'code', 'quota_exceeded', 'a user whose counters say 100 this month gets quota_exceeded');
select is(tests.state(:'free2'), tests.saved('free2'), '... and nothing changes');
reset role;
update public.request_counters set period_requests = 0 where user_id = :'free2';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';

-- ---------------------------------------------------------------------------------------------
-- Cost cap (worst case against the plan's max cost per request) and tiers.
select tests.save('free2', :'free2');
select is((public.admit_request(:'free2', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-big', '0.02'))))
          ->> 'code', 'model_not_allowed', 'free: a worst case of $0.02 is refused with model_not_allowed');
select is(tests.state(:'free2'), tests.saved('free2'), '... and nothing changes');
select is((public.admit_request(:'free2', extensions.gen_random_uuid(),
                                '[{"model":"m-big","provider":"pgtap","worstCaseCost":0.02}]'::jsonb)) ->> 'code',
  'model_not_allowed', '... also when worstCaseCost is a JSON number');
select is((public.admit_request(:'free2', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-big', '0.0100000001'))))
          ->> 'code', 'model_not_allowed', 'free: a worst case a hair over $0.01 is refused');
select is(tests.state(:'free2'), tests.saved('free2'), '... and nothing changes');
select is((public.admit_request(:'free2', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-edge', '0.01'))))
          ->> 'admitted', 'true', 'free: a worst case of exactly $0.01 is admitted');
select is((public.admit_request(:'pro', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-big', '0.02'))))
          ->> 'admitted', 'true', 'pro: a worst case of $0.02 is admitted');
select is((public.admit_request(:'pro', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-huge', '0.11'))))
          ->> 'code', 'model_not_allowed', 'pro: a worst case of $0.11 is refused');
select is((public.admit_request(:'ent', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-huge', '250'))))
          ->> 'admitted', 'true', 'enterprise: no cost cap');

select tests.save('free2', :'free2');
select is((public.admit_request(:'free2', extensions.gen_random_uuid(),
                                jsonb_build_array(tests.cand('m-team', '0.0001', array['team']))))
          ->> 'code', 'model_not_allowed', 'free: a model offered to the team tier only is refused');
select is(tests.state(:'free2'), tests.saved('free2'), '... and nothing changes');
select is((public.admit_request(:'pro', extensions.gen_random_uuid(),
                                jsonb_build_array(tests.cand('m-team', '0.0001', array['team', 'enterprise']))))
          ->> 'code', 'model_not_allowed', 'pro: a model for team and enterprise only is refused');
select is((public.admit_request(:'free2', extensions.gen_random_uuid(),
                                jsonb_build_array(tests.cand('m-free', '0.0001', array['free', 'pro']))))
          ->> 'admitted', 'true', 'free: a model that lists the free tier is admitted');

-- ---------------------------------------------------------------------------------------------
-- Model choice: routed candidates, best first; the first one the plan allows wins.
insert into tests.admissions
values (200, public.admit_request(:'free2', extensions.gen_random_uuid(),
          jsonb_build_array(tests.cand('r-expensive', '0.5'),
                            tests.cand('r-team-only', '0.0001', array['team', 'enterprise']),
                            tests.cand('r-first-ok', '0.004', array['free', 'pro', 'team', 'enterprise']),
                            tests.cand('r-second-ok', '0.0001')),
          true));
select is((select r ->> 'admitted' from tests.admissions where n = 200), 'true', 'routed: admitted');
select is((select r ->> 'model' from tests.admissions where n = 200), 'r-first-ok',
  'routed: the first candidate the plan allows is picked');
select is((select r ->> 'provider' from tests.admissions where n = 200), 'pgtap-r-first-ok',
  'routed: with its provider');
select is((select r ->> 'selection' from tests.admissions where n = 200), 'router', 'routed: selection is router');
select is((select model from public.requests where id = (select (r ->> 'requestId')::uuid from tests.admissions where n = 200)),
  'r-first-ok', 'routed: the ledger records the picked model');
select is((select worst_case_cost from public.requests
           where id = (select (r ->> 'requestId')::uuid from tests.admissions where n = 200)),
  0.004::numeric, 'routed: the ledger records the picked model''s worst case');

select tests.save('free2', :'free2');
select is((public.admit_request(:'free2', extensions.gen_random_uuid(),
          jsonb_build_array(tests.cand('r-expensive', '0.5'), tests.cand('r-team-only', '0.0001', array['team'])),
          true)) ->> 'code', 'model_not_allowed', 'routed: no allowed candidate means model_not_allowed');
select is(tests.state(:'free2'), tests.saved('free2'), '... and nothing changes');

-- Router off + a default model: the default is preferred among the candidates.
reset role;
update public.profiles set smart_router = false, default_model = 'r-second-ok' where id = :'dflt';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
insert into tests.admissions
values (300, public.admit_request(:'dflt', extensions.gen_random_uuid(),
          jsonb_build_array(tests.cand('r-first-ok', '0.004'), tests.cand('r-second-ok', '0.0001')), true));
select is((select r ->> 'model' from tests.admissions where n = 300), 'r-second-ok',
  'router off: the user''s default model is picked');
select is((select r ->> 'selection' from tests.admissions where n = 300), 'default_model',
  'router off: selection is default_model');
insert into tests.admissions
values (301, public.admit_request(:'dflt', extensions.gen_random_uuid(),
          jsonb_build_array(tests.cand('r-first-ok', '0.004')), false));
select is((select r ->> 'model' || '/' || (r ->> 'selection') from tests.admissions where n = 301), 'r-first-ok/explicit',
  'an explicit model is used as asked even with a default model set (selection explicit)');
reset role;
update public.profiles set smart_router = true where id = :'dflt';
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
insert into tests.admissions
values (302, public.admit_request(:'dflt', extensions.gen_random_uuid(),
          jsonb_build_array(tests.cand('r-first-ok', '0.004'), tests.cand('r-second-ok', '0.0001')), true));
select is((select r ->> 'model' || '/' || (r ->> 'selection') from tests.admissions where n = 302), 'r-first-ok/router',
  'router on: the router''s pick wins over the default model');

-- ---------------------------------------------------------------------------------------------
-- Conversations.
insert into tests.admissions
values (400, public.admit_request(:'alice', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001')),
                                  false, null, 'Hello there', 'Greetings'));
select is((select r ->> 'admitted' from tests.admissions where n = 400), 'true',
  'a first message without a conversation is admitted');
select isnt((select r ->> 'conversationId' from tests.admissions where n = 400), null,
  '... and returns a conversationId');
select is((select row(owner_id, title)::text from public.conversations
           where id = (select (r ->> 'conversationId')::uuid from tests.admissions where n = 400)),
  row(:'alice'::uuid, 'Greetings')::text, '... of a new conversation owned by the user, with the given title');
select is((select role from public.conversation_members
           where conversation_id = (select (r ->> 'conversationId')::uuid from tests.admissions where n = 400)
             and user_id = :'alice'), 'owner', '... of which the user is a member (the owner)');
select is((select row(m.id, m.role, m.content, m.user_id, m.request_id)::text from public.messages m
           where m.conversation_id = (select (r ->> 'conversationId')::uuid from tests.admissions where n = 400)),
  (select row((r ->> 'messageId')::uuid, 'user', 'Hello there', :'alice'::uuid, (r ->> 'requestId')::uuid)::text
   from tests.admissions where n = 400),
  '... holding the user''s message (the returned messageId), linked to the request');
select is((select conversation_id from public.requests
           where id = (select (r ->> 'requestId')::uuid from tests.admissions where n = 400)),
  (select (r ->> 'conversationId')::uuid from tests.admissions where n = 400),
  'the request is linked to the conversation');

insert into tests.admissions
values (401, public.admit_request(:'alice', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001')),
          false, (select (r ->> 'conversationId')::uuid from tests.admissions where n = 400), 'And again'));
select is((select r ->> 'conversationId' from tests.admissions where n = 401),
  (select r ->> 'conversationId' from tests.admissions where n = 400),
  'a message in an existing conversation stays in it');
select is((select count(*) from public.messages
           where conversation_id = (select (r ->> 'conversationId')::uuid from tests.admissions where n = 400)),
  2::bigint, '... which now holds two messages');

select tests.save('alice', :'alice');
insert into tests.admissions
values (402, public.admit_request(:'alice', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001'))));
select is((select r -> 'conversationId' from tests.admissions where n = 402), 'null'::jsonb,
  'a request without a message and a conversation creates no conversation');
select is((select count(*) from public.conversations where owner_id = :'alice'), 1::bigint,
  '... the user still owns one conversation');

-- B's conversation: A is not a member.
insert into tests.admissions
values (410, public.admit_request(:'bob', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001')),
                                  false, null, 'Bob''s secret', 'Bob'));
select tests.save('alice', :'alice');
select tests.save('bob', :'bob');
insert into tests.admissions
values (411, public.admit_request(:'alice', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001')),
          false, (select (r ->> 'conversationId')::uuid from tests.admissions where n = 410), 'let me in'));
select is((select r ->> 'admitted' from tests.admissions where n = 411), 'false',
  'a message into a conversation the user is not a member of is refused');
select is((select r ->> 'code' from tests.admissions where n = 411), 'not_found', '... with not_found');
select is(tests.state(:'alice'), tests.saved('alice'), '... and nothing of the user''s changed');
select is(tests.state(:'bob'), tests.saved('bob'), '... nor of the conversation owner''s');
select is((select count(*) from public.messages
           where conversation_id = (select (r ->> 'conversationId')::uuid from tests.admissions where n = 410)),
  1::bigint, '... and the conversation holds only its owner''s message');
select is((public.admit_request(:'alice', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001')),
          false, 'c0000004-0000-4000-8000-000000000000', 'anyone?')) ->> 'code', 'not_found',
  'a conversation that does not exist is not_found');
select is(tests.state(:'alice'), tests.saved('alice'), '... and nothing changes');

reset role;
insert into public.conversation_members (conversation_id, user_id)
select (r ->> 'conversationId')::uuid, :'alice' from tests.admissions where n = 410;
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
insert into tests.admissions
values (412, public.admit_request(:'alice', extensions.gen_random_uuid(), jsonb_build_array(tests.cand('m-cheap', '0.001')),
          false, (select (r ->> 'conversationId')::uuid from tests.admissions where n = 410), 'thanks for sharing'));
select is((select r ->> 'admitted' from tests.admissions where n = 412), 'true',
  'once B adds A as a member, A''s message into B''s conversation is admitted');
select is((select count(*) from public.messages
           where conversation_id = (select (r ->> 'conversationId')::uuid from tests.admissions where n = 410)
             and user_id = :'alice'), 1::bigint, '... and A''s message is in it');

-- ---------------------------------------------------------------------------------------------
-- A request id is admitted once: a retry with the same id must not count twice.
select is((public.admit_request(:'pro', :'reqd', jsonb_build_array(tests.cand('m-cheap', '0.001')))) ->> 'admitted',
  'true', 'a request id is admitted');
select tests.save('pro', :'pro');
select isnt((tests.try_admit(:'pro', :'reqd', jsonb_build_array(tests.cand('m-cheap', '0.001')))) ->> 'admitted',
  'true', 'the same request id is not admitted a second time');
select is(tests.state(:'pro'), tests.saved('pro'), '... and counts nothing twice');

-- Bad candidates are an error or a refusal, never an admission.
select tests.save('free2', :'free2');
select isnt((tests.try_admit(:'free2', extensions.gen_random_uuid(), '[]'::jsonb)) ->> 'admitted', 'true',
  'no candidates: not admitted');
select isnt((tests.try_admit(:'free2', extensions.gen_random_uuid(), '[{"model":"m-nocost","provider":"p"}]'::jsonb))
            ->> 'admitted', 'true', 'a candidate without a worst case cost is not admitted on a capped plan');
select is(tests.state(:'free2'), tests.saved('free2'), '... and neither changed anything');

reset role;
select * from finish();
rollback;
