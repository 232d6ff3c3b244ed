-- conversation_member_profiles(): members of a conversation see each other's name, avatar and
-- email (profiles themselves stay private to their owner); a non-member sees nobody; anon cannot
-- call it. Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(9);

insert into auth.users (id, email, raw_user_meta_data) values
  ('a0000012-0000-4000-8000-000000000001', 'owner12@example.test', '{"display_name":"Olga"}'),
  ('a0000012-0000-4000-8000-000000000002', 'member12@example.test', '{"display_name":"Max"}'),
  ('a0000012-0000-4000-8000-000000000003', 'stranger12@example.test', '{}');
update public.profiles set avatar_url = 'https://example.test/olga.png'
  where id = 'a0000012-0000-4000-8000-000000000001';
insert into public.conversations (id, owner_id, title)
  values ('c0000012-0000-4000-8000-000000000001', 'a0000012-0000-4000-8000-000000000001', 'names');
insert into public.conversation_members (conversation_id, user_id)
  values ('c0000012-0000-4000-8000-000000000001', 'a0000012-0000-4000-8000-000000000002');

-- As the member: the profiles table still shows only their own row ...
set local role authenticated;
set local request.jwt.claims = '{"sub":"a0000012-0000-4000-8000-000000000002","role":"authenticated"}';
select is((select count(*)::int from public.profiles
           where id in ('a0000012-0000-4000-8000-000000000001', 'a0000012-0000-4000-8000-000000000003')),
  0, 'another user''s profile stays unreadable');
-- ... but the conversation's members come with their names.
select results_eq(
  $$ select user_id::text, role, email, display_name, avatar_url
     from public.conversation_member_profiles('c0000012-0000-4000-8000-000000000001') $$,
  $$ values ('a0000012-0000-4000-8000-000000000001', 'owner', 'owner12@example.test', 'Olga',
             'https://example.test/olga.png'),
            ('a0000012-0000-4000-8000-000000000002', 'member', 'member12@example.test', 'Max', null) $$,
  'a member sees every member''s role, email, name and avatar, oldest first'
);
select is((select count(*)::int from public.conversation_member_profiles('c0000012-0000-4000-8000-000000000001')
           where added_at is null), 0, 'with when each joined');

-- As a stranger: nothing, whether the conversation exists or not.
set local request.jwt.claims = '{"sub":"a0000012-0000-4000-8000-000000000003","role":"authenticated"}';
select is_empty($$ select * from public.conversation_member_profiles('c0000012-0000-4000-8000-000000000001') $$,
  'a stranger sees no member of a conversation they are not in');
select is_empty($$ select * from public.conversation_member_profiles(extensions.gen_random_uuid()) $$,
  'nor of one that does not exist');
reset role;

-- A removed member loses the list at once.
delete from public.conversation_members
  where conversation_id = 'c0000012-0000-4000-8000-000000000001' and user_id = 'a0000012-0000-4000-8000-000000000002';
set local role authenticated;
set local request.jwt.claims = '{"sub":"a0000012-0000-4000-8000-000000000002","role":"authenticated"}';
select is_empty($$ select * from public.conversation_member_profiles('c0000012-0000-4000-8000-000000000001') $$,
  'a removed member sees nobody');
reset role;

-- Only what a co-member needs: no preferences, no default model.
select set_eq(
  $$ select unnest(proargnames[2:]) from pg_proc where oid = 'public.conversation_member_profiles(uuid)'::regprocedure $$,
  array['user_id', 'role', 'added_at', 'email', 'display_name', 'avatar_url'],
  'it returns the member''s id, role, join time, email, name and avatar, nothing else'
);
select ok(not has_function_privilege('anon', 'public.conversation_member_profiles(uuid)', 'execute'),
  'anon cannot call it');
select ok(has_function_privilege('authenticated', 'public.conversation_member_profiles(uuid)', 'execute'),
  'signed-in users can (it answers for their own conversations only)');

select * from finish();
rollback;
