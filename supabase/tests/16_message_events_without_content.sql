-- A `message` event says which message was stored, never what it says (20261125001000): members
-- read the row by id under RLS, so a payload another member forges is not shown, and a removed
-- member still on the channel (until his token is next checked) learns no content. Both kinds
-- of stored message are checked: the user's at admission, the assistant's at settlement.
-- Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(5);

\set ida 'a0000016-0000-4000-8000-000000000001'
\set r1 'b0000016-0000-4000-8000-000000000001'
\set r2 'b0000016-0000-4000-8000-000000000002'
\set cands '[{"model":"pgtap-model-16","provider":"pgtap-provider-16","worstCaseCost":"0.001"}]'

insert into auth.users (id, email) values (:'ida', 'pgtap-ida-16@example.test');
create temporary table started as
  select (public.admit_request(:'ida', :'r1', :'cands', false, null, 'first words', 'A talk')
          ->> 'conversationId')::uuid as id;
-- What follows happens in later transactions in production (a conversation's own creating
-- transaction broadcasts nothing on its channel).
select set_config('nexus.created_conversation', '', true);
select public.admit_request(:'ida', :'r2', :'cands', false, started.id, 'a secret question', null) from started;
select public.settle_request(:'r2', 4, 6, 0.0000042, 'pgtap-16', 5, 'complete', 'a secret answer');

create temporary table events as
  select r.payload, m.id as message_id, m.conversation_id, m.user_id, m.role, m.created_at
  from realtime.messages r, started
  join public.messages m on m.conversation_id = started.id and m.request_id = :'r2'
  where r.topic = 'conversation:' || started.id and r.event = 'message'
    and r.payload ->> 'id' = m.id::text;

select results_eq($$ select role from events order by role $$, $$ values ('assistant'), ('user') $$,
  'each stored message (the question, the answer) is announced once, by its id');
select is((select count(*)::int from realtime.messages, started
           where topic = 'conversation:' || started.id and event = 'message'),
  2, 'and nothing else is announced');
select results_eq(
  $$ select distinct array(select jsonb_object_keys(payload) order by 1) from events $$,
  $$ values (array['conversationId', 'createdAt', 'id', 'role', 'userId']) $$,
  'a payload names the stored row only: id, conversation, author, role, time');
select ok((select bool_and(payload::text not like '%secret%') from events),
  'neither the question''s nor the answer''s text is in any payload');
select ok((select bool_and(payload = jsonb_build_object(
             'id', message_id, 'conversationId', conversation_id, 'userId', user_id, 'role', role,
             'createdAt', created_at)) from events),
  'each payload''s fields are the stored row''s');

select * from finish();
rollback;
