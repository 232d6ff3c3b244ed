-- Broadcasts nobody can receive are not sent. Until the transaction that creates a conversation
-- commits, nobody can be subscribed to its channel (joining needs a membership row that is not
-- visible yet; its id is not even known outside): so the owner's membership and the first user
-- message, stored in that same transaction by admit_request, were broadcast to no one — two
-- realtime.send calls (each a subtransaction and a row) on every request that starts a
-- conversation. The conversation_added event on the owner's own channel still goes out (their
-- other tabs and devices learn of the new conversation).

create or replace function public.handle_new_conversation() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  -- remembered for this transaction only (is_local): see private.created_in_this_transaction
  perform set_config('nexus.created_conversation', new.id::text, true);
  insert into public.conversation_members (conversation_id, user_id, role)
  values (new.id, new.owner_id, 'owner');
  return new;
end
$$;

create function private.created_in_this_transaction(p_conversation_id uuid) returns boolean
language sql stable set search_path = '' as $$
  select coalesce(current_setting('nexus.created_conversation', true), '') = p_conversation_id::text
$$;

create or replace function private.broadcast_message() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if private.created_in_this_transaction(new.conversation_id) then
    return null;
  end if;
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

create or replace function private.broadcast_member_change() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'DELETE' then
    perform realtime.send(jsonb_build_object('userId', old.user_id, 'conversationId', old.conversation_id),
                          'member_removed', 'conversation:' || old.conversation_id, true);
    perform realtime.send(jsonb_build_object('conversationId', old.conversation_id),
                          'conversation_removed', 'user:' || old.user_id, true);
  else
    if not private.created_in_this_transaction(new.conversation_id) then
      perform realtime.send(jsonb_build_object('userId', new.user_id, 'conversationId', new.conversation_id),
                            'member_added', 'conversation:' || new.conversation_id, true);
    end if;
    perform realtime.send(jsonb_build_object('conversationId', new.conversation_id),
                          'conversation_added', 'user:' || new.user_id, true);
  end if;
  return null;
end
$$;

revoke execute on function private.created_in_this_transaction(uuid) from public, anon, authenticated;
