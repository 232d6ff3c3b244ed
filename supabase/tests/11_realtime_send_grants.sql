-- realtime.send() as Supabase defines it: SECURITY INVOKER, so a caller broadcasts only what RLS
-- on realtime.messages lets them insert on that topic (anon and strangers: nothing; a member: on
-- their conversation's channel, as a client broadcast could). The product's own broadcasts come
-- from SECURITY DEFINER triggers and still go out when a user's statement fires them.
-- Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
set local client_min_messages = error; -- refused sends raise warnings by design

select plan(12);

insert into auth.users (id, email, raw_user_meta_data) values
  ('b0000011-0000-4000-8000-000000000001', 'owner11@example.test', '{}'),
  ('b0000011-0000-4000-8000-000000000002', 'member11@example.test', '{}'),
  ('b0000011-0000-4000-8000-000000000003', 'stranger11@example.test', '{}');
insert into public.conversations (id, owner_id, title)
  values ('c0000011-0000-4000-8000-000000000001', 'b0000011-0000-4000-8000-000000000001', 'shared');
insert into public.conversation_members (conversation_id, user_id)
  values ('c0000011-0000-4000-8000-000000000001', 'b0000011-0000-4000-8000-000000000002');

-- Calls realtime.send as `p_role` (with `p_sub`'s claims) and says how many rows it stored.
create function pg_temp.send_as(p_role text, p_sub uuid, p_event text, p_topic text) returns int
language plpgsql as $$
declare
  n int;
begin
  perform set_config('role', p_role, true);
  perform set_config('request.jwt.claims',
    json_build_object('sub', p_sub, 'role', p_role)::text, true);
  perform realtime.send('{"forged":true}', p_event, p_topic, true);
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
  select count(*)::int into n from realtime.messages where event = p_event and topic = p_topic;
  return n;
end
$$;

select ok(not (select prosecdef from pg_proc where oid = 'realtime.send(jsonb, text, text, boolean)'::regprocedure),
  'realtime.send runs with the caller''s rights (SECURITY INVOKER, as on Supabase)');
select ok(has_function_privilege('authenticated', 'realtime.send(jsonb, text, text, boolean)', 'execute')
          and has_function_privilege('anon', 'realtime.send(jsonb, text, text, boolean)', 'execute'),
  'and, as on Supabase, anyone may call it: RLS decides what gets through');

select is(pg_temp.send_as('anon', null, 'anon-conv', 'conversation:c0000011-0000-4000-8000-000000000001'), 0,
  'anon cannot broadcast on a conversation channel');
select is(pg_temp.send_as('anon', null, 'anon-user', 'user:b0000011-0000-4000-8000-000000000001'), 0,
  'anon cannot broadcast on a user channel');
select is(pg_temp.send_as('anon', null, 'anon-public', 'anything-public'), 0,
  'anon cannot broadcast on any other topic');
select is(pg_temp.send_as('authenticated', 'b0000011-0000-4000-8000-000000000003', 'stranger-conv',
                          'conversation:c0000011-0000-4000-8000-000000000001'), 0,
  'a stranger cannot broadcast on a conversation they are not in');
select is(pg_temp.send_as('authenticated', 'b0000011-0000-4000-8000-000000000003', 'stranger-user',
                          'user:b0000011-0000-4000-8000-000000000001'), 0,
  'a user cannot broadcast on another user''s channel (a forged quota event)');
select is(pg_temp.send_as('authenticated', 'b0000011-0000-4000-8000-000000000001', 'own-user',
                          'user:b0000011-0000-4000-8000-000000000001'), 0,
  'nor on their own: user channels are receive-only');
select is(pg_temp.send_as('authenticated', 'b0000011-0000-4000-8000-000000000002', 'member-conv',
                          'conversation:c0000011-0000-4000-8000-000000000001'), 1,
  'a member may broadcast on their conversation''s channel, as a client broadcast may');
select is((select count(*)::int from realtime.messages where topic = 'user:b0000011-0000-4000-8000-000000000003'),
  0, 'nothing reached the stranger''s channel either');

-- The product's triggers still broadcast when a user's own statement fires them: the owner
-- deletes the conversation (as the user, under RLS), and the cascade tells the member.
set local role authenticated;
set local request.jwt.claims = '{"sub":"b0000011-0000-4000-8000-000000000001","role":"authenticated"}';
delete from public.conversations where id = 'c0000011-0000-4000-8000-000000000001';
reset role;
select is((select count(*)::int from realtime.messages
           where topic = 'user:b0000011-0000-4000-8000-000000000002' and event = 'conversation_removed'),
  1, 'a trigger fired by a user''s delete broadcasts to the removed member');

-- And those fired by the service (the chat pipeline's settlement) too.
insert into public.conversations (id, owner_id, title)
  values ('c0000011-0000-4000-8000-000000000002', 'b0000011-0000-4000-8000-000000000001', 'again');
-- as if created in an earlier transaction (messages of a conversation's creating one are not broadcast)
select set_config('nexus.created_conversation', '', true);
insert into public.requests (id, user_id, model, provider, conversation_id, minute_window, period_start, worst_case_cost)
  values ('d0000011-0000-4000-8000-000000000001', 'b0000011-0000-4000-8000-000000000001', 'gpt-4o-mini', 'openai',
          'c0000011-0000-4000-8000-000000000002', date_trunc('minute', now()), date_trunc('month', now())::date, 0.001);
set local role service_role;
select public.settle_request('d0000011-0000-4000-8000-000000000001', 10, 20, 0.0000135, 'pgtap', 5, 'complete', 'hi');
reset role;
select is((select count(*)::int from realtime.messages
           where topic in ('conversation:c0000011-0000-4000-8000-000000000002',
                           'user:b0000011-0000-4000-8000-000000000001')
             and event in ('message', 'quota')),
  2, 'settling as the service broadcasts the message and the quota');

select * from finish();
rollback;
