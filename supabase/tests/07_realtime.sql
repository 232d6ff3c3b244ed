-- Realtime authorization as Supabase Realtime checks it: with realtime.topic set, a probe row in
-- realtime.messages that the user can insert means "may send", one the user can read back
-- means "may receive". conversation:<id> is for members; user:<id> for its user, receive-only.
-- And the database broadcasts stored messages, settled requests' quota and membership changes.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(16);

insert into auth.users (id, email, raw_user_meta_data) values
  ('b0000007-0000-4000-8000-000000000001', 'owner7@example.test', '{}'),
  ('b0000007-0000-4000-8000-000000000002', 'member7@example.test', '{}'),
  ('b0000007-0000-4000-8000-000000000003', 'stranger7@example.test', '{}');
insert into public.conversations (id, owner_id, title)
  values ('c0000007-0000-4000-8000-000000000001', 'b0000007-0000-4000-8000-000000000001', 'shared');
insert into public.conversation_members (conversation_id, user_id)
  values ('c0000007-0000-4000-8000-000000000001', 'b0000007-0000-4000-8000-000000000002');

create function pg_temp.probe(p_user uuid, p_topic text, p_extension text) returns text
language plpgsql as $$
declare
  v_read boolean := false;
begin
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims', json_build_object('sub', p_user, 'role', 'authenticated')::text, true);
  perform set_config('realtime.topic', p_topic, true);
  begin
    insert into realtime.messages (topic, extension, payload, event, private)
      values (p_topic, p_extension, '{}', 'probe', true);
    select exists (select 1 from realtime.messages where topic = p_topic and event = 'probe') into v_read;
    raise exception 'rollback probe' using errcode = 'P0001';
  exception
    when sqlstate 'P0001' then
      perform set_config('role', 'none', true);
      return case when v_read then 'write+read' else 'write' end;
    when insufficient_privilege then
      null;
  end;
  select exists (select 1 from realtime.messages where topic = p_topic) into v_read;
  perform set_config('role', 'none', true);
  return case when v_read then 'read' else 'none' end;
end
$$;

-- Probes for reading need a row to read: one broadcast already on each topic.
select realtime.send('{}', 'seed', 'conversation:c0000007-0000-4000-8000-000000000001', true);
select realtime.send('{}', 'seed', 'user:b0000007-0000-4000-8000-000000000002', true);

select is(pg_temp.probe('b0000007-0000-4000-8000-000000000001', 'conversation:c0000007-0000-4000-8000-000000000001', 'broadcast'),
  'write+read', 'the owner sends and receives on the conversation channel');
select is(pg_temp.probe('b0000007-0000-4000-8000-000000000002', 'conversation:c0000007-0000-4000-8000-000000000001', 'presence'),
  'write+read', 'a member tracks presence and receives');
select is(pg_temp.probe('b0000007-0000-4000-8000-000000000003', 'conversation:c0000007-0000-4000-8000-000000000001', 'broadcast'),
  'none', 'a stranger neither sends nor receives');
select is(pg_temp.probe('b0000007-0000-4000-8000-000000000003', 'conversation:not-a-uuid', 'broadcast'),
  'none', 'a malformed topic is nobody''s');
select is(pg_temp.probe('b0000007-0000-4000-8000-000000000002', 'user:b0000007-0000-4000-8000-000000000002', 'broadcast'),
  'read', 'a user receives on their own channel but cannot send on it');
select is(pg_temp.probe('b0000007-0000-4000-8000-000000000003', 'user:b0000007-0000-4000-8000-000000000002', 'broadcast'),
  'none', 'nobody else receives on it');

delete from public.conversation_members
  where conversation_id = 'c0000007-0000-4000-8000-000000000001' and user_id = 'b0000007-0000-4000-8000-000000000002';
select is(pg_temp.probe('b0000007-0000-4000-8000-000000000002', 'conversation:c0000007-0000-4000-8000-000000000001', 'broadcast'),
  'none', 'a removed member loses access at once');
select is((select count(*)::int from realtime.messages
           where topic = 'conversation:c0000007-0000-4000-8000-000000000001' and event = 'member_removed'),
  1, 'the removal is broadcast to the conversation');
select is((select count(*)::int from realtime.messages
           where topic = 'user:b0000007-0000-4000-8000-000000000002' and event = 'conversation_removed'),
  1, 'and to the removed user');

-- A stored message is announced to the conversation by id; members read it (content, cost) from
-- the row, under RLS. (Settlement runs in a later
-- transaction than the conversation's creation; in this one, forget that it was created here,
-- or its broadcasts would rightly be skipped.)
select set_config('nexus.created_conversation', '', true);
insert into public.requests (id, user_id, model, provider, conversation_id, minute_window, period_start, worst_case_cost)
  values ('d0000007-0000-4000-8000-000000000001', 'b0000007-0000-4000-8000-000000000001', 'gpt-4o-mini', 'openai',
          'c0000007-0000-4000-8000-000000000001', date_trunc('minute', now()), date_trunc('month', now())::date, 0.001);
select public.settle_request('d0000007-0000-4000-8000-000000000001', 10, 20, 0.0000135, 'pgtap', 5, 'complete', 'hello');
select is((select (payload ->> 'id')::uuid from realtime.messages
           where topic = 'conversation:c0000007-0000-4000-8000-000000000001' and event = 'message'),
  (select id from public.messages where request_id = 'd0000007-0000-4000-8000-000000000001'),
  'the assistant''s stored message is announced to the conversation, by id');
select is((select payload ?| array['content', 'cost'] from realtime.messages
           where topic = 'conversation:c0000007-0000-4000-8000-000000000001' and event = 'message'),
  false, 'without its content or cost');
select is((select private from realtime.messages
           where topic = 'conversation:c0000007-0000-4000-8000-000000000001' and event = 'message'),
  true, 'on the private channel');

-- A settled request sends its user the quota and totals.
select is((select count(*)::int from realtime.messages
           where topic = 'user:b0000007-0000-4000-8000-000000000001' and event = 'quota'),
  1, 'one quota event per settled request');
select is((select payload -> 'quota' ->> 'tier' from realtime.messages
           where topic = 'user:b0000007-0000-4000-8000-000000000001' and event = 'quota'),
  'free', 'carrying the quota snapshot');
select is((select (payload -> 'totals' ->> 'total')::numeric from realtime.messages
           where topic = 'user:b0000007-0000-4000-8000-000000000001' and event = 'quota'),
  0.0000135::numeric, 'and the exact total spent');

select ok(not has_function_privilege('authenticated', 'private.quota_snapshot(uuid, timestamptz)', 'execute'),
  'private helpers are not callable by users');

select * from finish();
rollback;
