-- Conversations, members and messages under RLS: members read, the owner manages, nobody else
-- sees or changes anything. Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(33);

\set alice 'a0000005-0000-4000-8000-000000000001'
\set bob   'a0000005-0000-4000-8000-000000000002'
\set carol 'a0000005-0000-4000-8000-000000000003'
\set alice_claims '{"sub":"a0000005-0000-4000-8000-000000000001","role":"authenticated"}'
\set bob_claims   '{"sub":"a0000005-0000-4000-8000-000000000002","role":"authenticated"}'
\set carol_claims '{"sub":"a0000005-0000-4000-8000-000000000003","role":"authenticated"}'
\set bconv 'c0000005-0000-4000-8000-00000000000b'
\set aconv 'c0000005-0000-4000-8000-00000000000a'

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;
-- Runs a statement as the current role; the outcome (an error or zero rows) is then judged by
-- looking at the data as postgres.
create or replace function tests.attempt(p_sql text) returns text language plpgsql as $$
begin
  execute p_sql;
  return 'ran';
exception when others then
  return sqlstate;
end
$$;
create or replace function tests.visible(p_table regclass, p_where text) returns bigint language plpgsql as $$
declare
  n bigint;
begin
  execute format('select count(*) from %s where %s', p_table, p_where) into n;
  return n;
exception when insufficient_privilege then
  return 0;
end
$$;

insert into auth.users (id, email) values
  (:'alice', 'pgtap-alice-05@example.test'),
  (:'bob', 'pgtap-bob-05@example.test'),
  (:'carol', 'pgtap-carol-05@example.test');
-- Conversations are created by the chat pipeline (service role); a settled exchange in each.
insert into public.conversations (id, owner_id, title) values
  (:'bconv', :'bob', 'Bob''s plans'),
  (:'aconv', :'alice', 'Alice''s notes');
do $$
declare
  r uuid;
begin
  r := extensions.gen_random_uuid();
  perform public.admit_request('a0000005-0000-4000-8000-000000000002', r,
    '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]', false,
    'c0000005-0000-4000-8000-00000000000b', 'a secret plan');
  perform public.settle_request(r, 3, 4, 0.00042, 'pgtap', 5, 'complete', 'noted');
  r := extensions.gen_random_uuid();
  perform public.admit_request('a0000005-0000-4000-8000-000000000001', r,
    '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]', false,
    'c0000005-0000-4000-8000-00000000000a', 'a note');
  perform public.settle_request(r, 3, 4, 0.00042, 'pgtap', 5, 'complete', 'ok');
end
$$;

select is((select count(*) from public.conversation_members where conversation_id = :'bconv'), 1::bigint,
  'a new conversation has its owner as its only member');

-- ---------------------------------------------------------------------------------------------
-- Before sharing: A sees A's conversation, nothing of B's.
set local role authenticated;
set local request.jwt.claims = :'alice_claims';
select is(tests.visible('public.conversations', $$id = 'c0000005-0000-4000-8000-00000000000a'$$), 1::bigint,
  'A reads A''s conversation');
select is(tests.visible('public.messages', $$conversation_id = 'c0000005-0000-4000-8000-00000000000a'$$), 2::bigint,
  'A reads A''s conversation''s messages');
select is(tests.visible('public.conversations', $$id = 'c0000005-0000-4000-8000-00000000000b'$$), 0::bigint,
  'A cannot read B''s conversation');
select is(tests.visible('public.messages', $$conversation_id = 'c0000005-0000-4000-8000-00000000000b'$$), 0::bigint,
  'A cannot read B''s messages');
select is(tests.visible('public.conversation_members', $$conversation_id = 'c0000005-0000-4000-8000-00000000000b'$$),
  0::bigint, 'A cannot read B''s conversation''s members');
select is(tests.visible('public.messages', $$content = 'a secret plan'$$), 0::bigint,
  'A cannot find B''s message by its content either');

select from tests.attempt($$ delete from public.conversations where id = 'c0000005-0000-4000-8000-00000000000b' $$);
select from tests.attempt($$ update public.conversations set title = 'pwned' where id = 'c0000005-0000-4000-8000-00000000000b' $$);
select is(tests.attempt($$ insert into public.conversation_members (conversation_id, user_id)
                           values ('c0000005-0000-4000-8000-00000000000b', 'a0000005-0000-4000-8000-000000000001') $$),
  '42501', 'A cannot add themselves to B''s conversation');
reset role;
select is((select title from public.conversations where id = :'bconv'), 'Bob''s plans',
  'A could neither delete nor rename B''s conversation');

-- ---------------------------------------------------------------------------------------------
-- B shares the conversation with A (the API does this as the service role; here: postgres).
insert into public.conversation_members (conversation_id, user_id) values (:'bconv', :'alice');

set local role authenticated;
set local request.jwt.claims = :'alice_claims';
select is(tests.visible('public.conversations', $$id = 'c0000005-0000-4000-8000-00000000000b'$$), 1::bigint,
  'as a member, A reads B''s conversation');
select is(tests.visible('public.messages', $$conversation_id = 'c0000005-0000-4000-8000-00000000000b'$$), 2::bigint,
  'as a member, A reads its messages (the user''s and the assistant''s)');
select is((select cost from public.messages where conversation_id = :'bconv' and role = 'assistant'), 0.00042::numeric,
  '... including the assistant message''s cost');
select is(tests.visible('public.conversation_members', $$conversation_id = 'c0000005-0000-4000-8000-00000000000b'$$),
  2::bigint, 'as a member, A reads its members (B and A)');
select is(tests.visible('public.conversations', 'true'), 2::bigint, 'A now reads exactly two conversations');
select is(tests.visible('public.usage_records', $$user_id = 'a0000005-0000-4000-8000-000000000002'$$), 0::bigint,
  'sharing a conversation does not share B''s usage records');
select is(tests.visible('public.requests', $$user_id = 'a0000005-0000-4000-8000-000000000002'$$), 0::bigint,
  '... nor B''s requests');

-- A member is not the owner.
select from tests.attempt($$ delete from public.conversations where id = 'c0000005-0000-4000-8000-00000000000b' $$);
select from tests.attempt($$ update public.conversations set title = 'pwned' where id = 'c0000005-0000-4000-8000-00000000000b' $$);
select from tests.attempt($$ delete from public.conversation_members
                        where conversation_id = 'c0000005-0000-4000-8000-00000000000b'
                          and user_id = 'a0000005-0000-4000-8000-000000000002' $$);
select is(tests.attempt($$ insert into public.conversation_members (conversation_id, user_id)
                           values ('c0000005-0000-4000-8000-00000000000b', 'a0000005-0000-4000-8000-000000000003') $$),
  '42501', 'a member cannot add someone else');
select is(tests.attempt($$ update public.conversation_members set role = 'owner'
                           where conversation_id = 'c0000005-0000-4000-8000-00000000000b'
                             and user_id = 'a0000005-0000-4000-8000-000000000001' $$),
  '42501', 'a member cannot promote themselves to owner');
select is(tests.attempt($$ insert into public.messages (conversation_id, user_id, role, content)
                           values ('c0000005-0000-4000-8000-00000000000b', 'a0000005-0000-4000-8000-000000000001',
                                   'user', 'hi') $$),
  '42501', 'a member cannot write messages directly');
select is(tests.attempt($$ delete from public.messages where conversation_id = 'c0000005-0000-4000-8000-00000000000b' $$),
  '42501', 'a member cannot delete messages');
select lives_ok($$ update public.conversations set title = 'Alice''s renamed notes'
                   where id = 'c0000005-0000-4000-8000-00000000000a' $$,
  'A can rename A''s own conversation');
reset role;
select is((select title from public.conversations where id = :'bconv'), 'Bob''s plans',
  'a member could neither delete nor rename B''s conversation');
select is((select count(*) from public.conversation_members where conversation_id = :'bconv'), 2::bigint,
  'the membership is as B left it');
select is((select count(*) from public.messages where conversation_id = :'bconv'), 2::bigint,
  'the messages are as they were');
select is((select title from public.conversations where id = :'aconv'), 'Alice''s renamed notes',
  'A''s rename of A''s conversation was stored');

-- C, a stranger, still sees nothing.
set local role authenticated;
set local request.jwt.claims = :'carol_claims';
select is(tests.visible('public.conversations', 'true') + tests.visible('public.messages', 'true')
          + tests.visible('public.conversation_members', 'true'), 0::bigint,
  'a user in no conversation reads no conversations, messages or members');

-- B, the owner, sees A as a member.
set local request.jwt.claims = :'bob_claims';
select is(tests.visible('public.conversation_members', $$conversation_id = 'c0000005-0000-4000-8000-00000000000b'
                                                         and user_id = 'a0000005-0000-4000-8000-000000000001'$$),
  1::bigint, 'B sees A among the members');
select is(tests.visible('public.conversations', $$id = 'c0000005-0000-4000-8000-00000000000a'$$), 0::bigint,
  'B does not read A''s own conversation');

-- ---------------------------------------------------------------------------------------------
-- B revokes A: A loses access at once.
reset role;
delete from public.conversation_members where conversation_id = :'bconv' and user_id = :'alice';
set local role authenticated;
set local request.jwt.claims = :'alice_claims';
select is(tests.visible('public.conversations', $$id = 'c0000005-0000-4000-8000-00000000000b'$$)
          + tests.visible('public.messages', $$conversation_id = 'c0000005-0000-4000-8000-00000000000b'$$)
          + tests.visible('public.conversation_members', $$conversation_id = 'c0000005-0000-4000-8000-00000000000b'$$),
  0::bigint, 'after revocation A reads nothing of B''s conversation');

-- The owner may delete their conversation; its messages and members go with it.
set local request.jwt.claims = :'bob_claims';
select lives_ok($$ delete from public.conversations where id = 'c0000005-0000-4000-8000-00000000000b' $$,
  'B can delete B''s own conversation');
reset role;
select is((select count(*) from public.conversations where id = :'bconv'), 0::bigint, 'B''s conversation is gone');
select is((select count(*) from public.messages where conversation_id = :'bconv')
        + (select count(*) from public.conversation_members where conversation_id = :'bconv'), 0::bigint,
  '... with its messages and members');
select is((select count(*) from public.usage_records where user_id = :'bob'), 1::bigint,
  '... but B''s usage record (the bill) stays');

select * from finish();
rollback;
