-- settle_request (20261125001070): an answer whose requester was removed from the conversation
-- while it ran is billed but not stored there; an answer (a cache hit's too) is never dated
-- before its own question. Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(6);

\set owner 'a0000022-0000-4000-8000-000000000001'
\set guest 'a0000022-0000-4000-8000-000000000002'
\set conv  'c0000022-0000-4000-8000-000000000001'
\set r1 'b0000022-0000-4000-8000-000000000001'
\set r2 'b0000022-0000-4000-8000-000000000002'
\set r3 'b0000022-0000-4000-8000-000000000003'
\set cands '[{"model":"pgtap-model-22","provider":"pgtap-provider-22","worstCaseCost":"0.001"}]'

insert into auth.users (id, email) values
  (:'owner', 'pgtap-owner-22@example.test'), (:'guest', 'pgtap-guest-22@example.test');
select public.set_user_tier(:'owner', 'enterprise');
select public.set_user_tier(:'guest', 'enterprise');
insert into public.conversations (id, owner_id, title) values (:'conv', :'owner', 'shared');
insert into public.conversation_members (conversation_id, user_id) values (:'conv', :'guest');

-- the guest asks; the owner removes him before the answer ends
select public.admit_request(:'guest', :'r1', :'cands', false, :'conv', 'a question', null);
delete from public.conversation_members where conversation_id = :'conv' and user_id = :'guest';
select is(public.settle_request(:'r1', 10, 20, 0.00002, 'v22', 180, 'complete', 'the answer') ->> 'messageId', null,
  'an answer ending after its requester was removed is not stored');
select is((select count(*)::int from public.messages where conversation_id = :'conv' and role = 'assistant'), 0,
  'the conversation holds no answer of his');
select is((select cost from public.usage_records where request_id = :'r1'), 0.00002::numeric,
  'he is billed for it all the same');

-- the owner asks the same question twice: the second is answered from the response cache, in
-- the same transaction as its admission (so its admission time, the transaction's start, is
-- before its question, which is stored after the counters' lock)
select public.admit_request(:'owner', :'r2', :'cands', false, :'conv', 'same question', null, '[]', null, null,
                            'hash-22');
select public.settle_request(:'r2', 10, 20, 0.00002, 'v22', 5, 'complete', 'an answer to keep', null, null, null,
                             'hash-22');
select is(public.admit_request(:'owner', :'r3', :'cands', false, :'conv', 'same question', null, '[]', null, null,
                               'hash-22') -> 'cached' ->> 'content', 'an answer to keep', 'the second is a cache hit');
select ok((select a.created_at > q.created_at from public.messages q, public.messages a
           where q.request_id = :'r3' and q.role = 'user' and a.request_id = :'r3' and a.role = 'assistant'),
  'the cached answer is dated after its question');
select is((select array_agg(role order by created_at, id) from public.messages where conversation_id = :'conv'),
  array['user', 'user', 'assistant', 'user', 'assistant'],
  'the history reads question, answer, question, answer (after the removed guest''s question)');

select * from finish();
rollback;
