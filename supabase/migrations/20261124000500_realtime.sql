-- Realtime (DESIGN.md §7): who may use which private channel, and what the database
-- broadcasts. Supabase Realtime authorizes a private channel by checking RLS on
-- realtime.messages with realtime.topic() set to the channel's topic: select = may join and
-- receive, insert = may send (broadcast) and track presence.
--
--   conversation:<id>  members only: presence, typing broadcasts, `message` events
--   user:<id>          its user only, receive-only: `quota` events after each settled request

-- The conversation a topic names, or null for any other or malformed topic.
create function public.topic_conversation(p_topic text) returns uuid
language sql immutable set search_path = '' as $$
  select case when p_topic ~ '^conversation:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then substring(p_topic from 14)::uuid end
$$;
revoke execute on function public.topic_conversation(text) from public, anon;
grant execute on function public.topic_conversation(text) to authenticated, service_role;

create policy "members receive on conversation channels" on realtime.messages
  for select to authenticated
  using (
    realtime.messages.extension in ('broadcast', 'presence')
    and public.is_conversation_member(public.topic_conversation((select realtime.topic())))
  );

create policy "members send on conversation channels" on realtime.messages
  for insert to authenticated
  with check (
    realtime.messages.extension in ('broadcast', 'presence')
    and public.is_conversation_member(public.topic_conversation((select realtime.topic())))
  );

create policy "users receive on their own channel" on realtime.messages
  for select to authenticated
  using (
    realtime.messages.extension = 'broadcast'
    and (select realtime.topic()) = 'user:' || (select auth.uid())::text
  );

-- A stored message (the user's turn at admission, the assistant's complete answer at
-- settlement) is announced to the conversation's members.
create function private.broadcast_message() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform realtime.send(
    jsonb_build_object(
      'id', new.id, 'conversationId', new.conversation_id, 'userId', new.user_id, 'role', new.role,
      'content', new.content, 'model', new.model, 'cost', new.cost, 'status', new.status,
      'inputTokens', new.input_tokens, 'outputTokens', new.output_tokens, 'createdAt', new.created_at),
    'message',
    'conversation:' || new.conversation_id,
    true);
  return null;
end
$$;

create trigger messages_broadcast after insert on public.messages
  for each row execute function private.broadcast_message();

-- After each settled request, its user learns what is left and what was spent (this session's,
-- this month's and all-time costs).
create function private.broadcast_quota() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  r public.requests;
begin
  select * into r from public.requests where id = new.request_id;
  perform realtime.send(
    jsonb_build_object(
      'requestId', new.request_id,
      'cost', new.cost,
      'model', new.model,
      'quota', private.quota_snapshot(new.user_id),
      'totals', (select jsonb_build_object(
        'total', coalesce(sum(u.cost), 0),
        'month', coalesce(sum(u.cost) filter (
          where u.created_at >= date_trunc('month', now() at time zone 'utc') at time zone 'utc'), 0),
        'session', coalesce(sum(u.cost) filter (where q.session_id = r.session_id), 0),
        'requests', count(*))
        from public.usage_records u join public.requests q on q.id = u.request_id
        where u.user_id = new.user_id)),
    'quota',
    'user:' || new.user_id,
    true);
  return null;
end
$$;

create trigger usage_records_broadcast after insert on public.usage_records
  for each row execute function private.broadcast_quota();

-- A removed member is told at once (clients leave the channel; the server re-checks access
-- whenever the member's token is refreshed).
create function private.broadcast_member_change() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'DELETE' then
    perform realtime.send(jsonb_build_object('userId', old.user_id, 'conversationId', old.conversation_id),
                          'member_removed', 'conversation:' || old.conversation_id, true);
    perform realtime.send(jsonb_build_object('conversationId', old.conversation_id),
                          'conversation_removed', 'user:' || old.user_id, true);
  else
    perform realtime.send(jsonb_build_object('userId', new.user_id, 'conversationId', new.conversation_id),
                          'member_added', 'conversation:' || new.conversation_id, true);
    perform realtime.send(jsonb_build_object('conversationId', new.conversation_id),
                          'conversation_added', 'user:' || new.user_id, true);
  end if;
  return null;
end
$$;

create trigger conversation_members_broadcast after insert or delete on public.conversation_members
  for each row execute function private.broadcast_member_change();

revoke execute on function private.broadcast_message(), private.broadcast_quota(),
  private.broadcast_member_change() from public, anon, authenticated;

-- Functions in `private` are for the database's own use: nobody else may execute them (Postgres
-- grants EXECUTE to PUBLIC by default).
revoke execute on all functions in schema private from public, anon, authenticated;
grant execute on all functions in schema private to service_role;
alter default privileges in schema private revoke execute on functions from public;
