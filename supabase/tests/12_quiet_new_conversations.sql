-- Broadcasts nobody can receive are not sent: a conversation's own creating transaction (the
-- admission that starts it) does not announce the owner's membership or the first message on
-- the conversation's channel — nobody can be subscribed yet — but still tells the owner's own
-- channel. Later messages and members are broadcast as before. Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(5);

\set zoe 'a0000012-0000-4000-8000-000000000001'
\set kai 'a0000012-0000-4000-8000-000000000002'
\set cands '[{"model":"pgtap-model-12","provider":"pgtap-provider-12","worstCaseCost":"0.001"}]'

insert into auth.users (id, email) values (:'zoe', 'pgtap-zoe-12@example.test'), (:'kai', 'pgtap-kai-12@example.test');
create temporary table started as
  select (public.admit_request(:'zoe', gen_random_uuid(), :'cands', false, null, 'first words', 'A talk')
          ->> 'conversationId')::uuid as id;

select is((select count(*)::int from realtime.messages, started
           where topic = 'conversation:' || started.id and event in ('message', 'member_added')),
  0, 'starting a conversation broadcasts nothing on its channel, which nobody can have joined');
select is((select count(*)::int from realtime.messages, started
           where topic = 'user:' || :'zoe' and event = 'conversation_added'
             and payload ->> 'conversationId' = started.id::text),
  1, 'the owner''s own channel still learns of the new conversation');
select is((select count(*)::int from public.messages, started where conversation_id = started.id), 1,
  'the first message is stored all the same');

-- What follows happens in later transactions in production.
select set_config('nexus.created_conversation', '', true);
insert into public.conversation_members (conversation_id, user_id) select id, :'kai' from started;
select is((select count(*)::int from realtime.messages, started
           where topic = 'conversation:' || started.id and event = 'member_added'),
  1, 'a member added later is announced on the conversation''s channel');
select public.admit_request(:'zoe', gen_random_uuid(), :'cands', false, started.id, 'second words', null) from started;
select is((select count(*)::int from realtime.messages, started
           where topic = 'conversation:' || started.id and event = 'message'),
  1, 'and so is a later message');

select * from finish();
rollback;
