-- Sharing by invitation (20261125001090): the same answer for any email, membership only by
-- accepting, from a confirmed address; owner or invitee withdraw; the API roles have no access.
-- Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(15);

\set olga 'a0000024-0000-4000-8000-000000000001'
\set ivan 'a0000024-0000-4000-8000-000000000002'
\set fake 'a0000024-0000-4000-8000-000000000003'
\set conv 'c0000024-0000-4000-8000-000000000001'

insert into auth.users (id, email, email_confirmed_at) values
  (:'olga', 'pgtap-olga-24@example.test', now()),
  (:'ivan', 'pgtap-ivan-24@example.test', now());
insert into public.conversations (id, owner_id, title) values (:'conv', :'olga', 'Budget');

select is(public.invite_to_conversation(:'ivan', :'conv', 'x@example.test'), '{"error": "not_found"}',
  'a stranger cannot invite (nor learn the conversation exists)');
create temporary table invited as
  select public.invite_to_conversation(:'olga', :'conv', 'PGTAP-Ivan-24@example.test') as i,
         public.invite_to_conversation(:'olga', :'conv', 'pgtap-nobody-24@example.test') as n;
select is((select array(select jsonb_object_keys(i)) from invited), (select array(select jsonb_object_keys(n)) from invited),
  'inviting an email with an account answers as inviting one without');
select is((select i ->> 'email' from invited), 'pgtap-ivan-24@example.test', 'emails are kept in lower case');
select is(public.invite_to_conversation(:'olga', :'conv', 'pgtap-olga-24@example.test'), '{"error": "already_member"}',
  'a member is not invited');

-- an account made with Ivan's address by someone else, never confirmed, cannot take his invitation
update auth.users set email = 'pgtap-ivan-24@example.test.invalid' where id = :'ivan';
insert into auth.users (id, email, email_confirmed_at) values (:'fake', 'pgtap-ivan-24@example.test', null);
select is(public.accept_invitation(:'fake', (select (i ->> 'id')::uuid from invited)), null,
  'an unconfirmed address accepts nothing');
select is((select count(*)::int from public.invitations_of(:'fake')), 0, 'nor sees the invitation');
delete from auth.users where id = :'fake';
update auth.users set email = 'pgtap-ivan-24@example.test' where id = :'ivan';

select is((select title from public.invitations_of(:'ivan')), 'Budget', 'Ivan sees the invitation and its title');
select is((select count(*)::int from public.conversation_invitations_of(:'ivan', :'conv')), 0,
  'only the owner lists a conversation''s invitations');
select is(public.accept_invitation(:'ivan', (select (i ->> 'id')::uuid from invited)), :'conv'::uuid,
  'Ivan accepts');
select is((select role from public.conversation_members where conversation_id = :'conv' and user_id = :'ivan'),
  'member', 'and is a member');

select is(public.withdraw_invitation(:'ivan', (select (n ->> 'id')::uuid from invited)), false,
  'a member cannot withdraw another''s invitation');
select is(public.withdraw_invitation(:'olga', (select (n ->> 'id')::uuid from invited)), true,
  'the owner cancels it');

-- at most 100 invitations wait in one conversation (renewing one of them is still fine)
select count(public.invite_to_conversation(:'olga', :'conv', format('pgtap-many-%s-24@example.test', n)))
from generate_series(1, 100) n;
select is(public.invite_to_conversation(:'olga', :'conv', 'pgtap-one-more-24@example.test') ->> 'error', 'too_many',
  'the 101st waiting invitation is refused');
select ok(public.invite_to_conversation(:'olga', :'conv', 'pgtap-many-7-24@example.test') ? 'id',
  'a waiting invitation is renewed all the same');

set local role authenticated;
select throws_ok($$ select * from public.conversation_invitations $$, '42501', null,
  'users read no invitation table (the service answers for them)');
reset role;

select * from finish();
rollback;
