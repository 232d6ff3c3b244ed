-- A `message` event on conversation:<id> says only which row was stored, never what it says.
--
-- Why: any member may broadcast on that channel (typing needs it, and Realtime's authorization
-- probe has no event name, so the insert policy cannot tell a `typing` from a forged `message`).
-- A payload a member can forge must not be what a client shows or sends to a model: clients read
-- the stored message by id as the user, under RLS, and a forged id finds nothing. And a removed
-- member keeps receiving on the channel until his token is next checked (Realtime re-authorizes
-- only then), so the event must not carry the message's content either. What is left identifies
-- the row: its id and conversation, and who stored which kind of message when (the typing line
-- uses the author). Model, cost, tokens and status go too: clients read them from the row with
-- the content, and a figure in a forgeable payload could only mislead.
--
-- Otherwise as in 20261125000740_quiet_new_conversations.sql: nothing is broadcast from the
-- transaction that created the conversation, which nobody can have joined yet.

create or replace function private.broadcast_message() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if private.created_in_this_transaction(new.conversation_id) then
    return null;
  end if;
  perform realtime.send(
    jsonb_build_object(
      'id', new.id, 'conversationId', new.conversation_id, 'userId', new.user_id, 'role', new.role,
      'createdAt', new.created_at),
    'message',
    'conversation:' || new.conversation_id,
    true);
  return null;
end
$$;

revoke execute on function private.broadcast_message() from public, anon, authenticated;
