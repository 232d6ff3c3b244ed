-- Sharing by invitation.
--
-- `POST /conversations/:id/members {"email"}` added the account with that email at once, and
-- answered 404 "No user has that email" otherwise: anyone could learn who has an account (and
-- their display name) by sharing a throwaway conversation, and push conversations with titles
-- of his choosing into strangers' sidebars. Sharing now invites: the owner's answer is the same
-- whether or not the email has an account, and the invitee becomes a member only by accepting.
-- The invitee sees the invitation under `GET /conversations/invitations` and is told on his
-- user channel (`invitation`); an invitation names the conversation's title and the inviter.

create table public.conversation_invitations (
  id uuid primary key default extensions.gen_random_uuid(),
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  email text not null check (email = lower(email) and char_length(email) between 3 and 320),
  invited_by uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  unique (conversation_id, email)
);
create index conversation_invitations_email_idx on public.conversation_invitations (email);
-- invitees are found by address (profiles mirror auth's emails)
create index profiles_email_lower_idx on public.profiles (lower(email));

-- At most this many invitations wait in one conversation: an owner cannot flood sidebars.
create function private.max_pending_invitations() returns integer
language sql immutable set search_path = '' as $$ select 100 $$;
revoke execute on function private.max_pending_invitations() from public, anon, authenticated;

-- Invitations are the service's: the conversations function reads and writes them through the
-- functions below, each told who is asking (like adding a member before, which needed another
-- user's id). The API roles have no access at all.
alter table public.conversation_invitations enable row level security;
revoke all on public.conversation_invitations from public, anon, authenticated;
grant select, insert, update, delete on public.conversation_invitations to service_role;

-- The address a user may accept invitations of: his, once confirmed (an account created with
-- someone else's address, not yet confirmed, must not take that person's invitations).
create function private.confirmed_email_of(p_user_id uuid) returns text
language sql stable security definer set search_path = '' as $$
  select lower(email) from auth.users
  where id = p_user_id and email_confirmed_at is not null and deleted_at is null
$$;

-- p_user_id invites p_email to his conversation (again: the invitation is renewed). Answers the
-- same whether or not an account has that email; refuses if he is not the owner, or the email
-- is a member's already.
create function public.invite_to_conversation(p_user_id uuid, p_conversation_id uuid, p_email text)
returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  v_email text := lower(btrim(p_email));
  v_owner uuid;
  v_invitation public.conversation_invitations;
begin
  -- the key-share lock makes a concurrent deletion of the conversation wait (or this find nothing)
  select owner_id into v_owner from public.conversations where id = p_conversation_id for key share;
  if v_owner is null or not exists (select 1 from public.conversation_members
                                    where conversation_id = p_conversation_id and user_id = p_user_id) then
    return jsonb_build_object('error', 'not_found');
  end if;
  if v_owner <> p_user_id then
    return jsonb_build_object('error', 'forbidden');
  end if;
  if exists (select 1 from public.conversation_members m join public.profiles p on p.id = m.user_id
             where m.conversation_id = p_conversation_id and lower(p.email) = v_email) then
    return jsonb_build_object('error', 'already_member');
  end if;
  if (select count(*) from public.conversation_invitations where conversation_id = p_conversation_id
      and email <> v_email) >= private.max_pending_invitations() then
    return jsonb_build_object('error', 'too_many', 'max', private.max_pending_invitations());
  end if;
  insert into public.conversation_invitations (conversation_id, email, invited_by)
  values (p_conversation_id, v_email, p_user_id)
  on conflict (conversation_id, email) do update set created_at = now(), invited_by = excluded.invited_by
  returning * into v_invitation;
  return jsonb_build_object('id', v_invitation.id, 'conversationId', p_conversation_id, 'email', v_email,
                            'invitedAt', v_invitation.created_at);
end
$$;

-- p_user_id accepts one of his invitations: he becomes a member, the invitation is used up.
-- Returns the conversation's id, or null when there is no such invitation of his.
create function public.accept_invitation(p_user_id uuid, p_invitation_id uuid) returns uuid
language plpgsql security definer set search_path = '' as $$
declare
  v_conversation uuid;
begin
  delete from public.conversation_invitations
  where id = p_invitation_id and email = private.confirmed_email_of(p_user_id)
  returning conversation_id into v_conversation;
  if v_conversation is not null then
    insert into public.conversation_members (conversation_id, user_id, role)
    values (v_conversation, p_user_id, 'member')
    on conflict (conversation_id, user_id) do nothing;
  end if;
  return v_conversation;
end
$$;

-- The invitee declines, or the conversation's owner cancels; whether there was such an invitation.
create function public.withdraw_invitation(p_user_id uuid, p_invitation_id uuid) returns boolean
language sql security definer set search_path = '' as $$
  with gone as (
    delete from public.conversation_invitations i
    where i.id = p_invitation_id
      and (i.email = private.confirmed_email_of(p_user_id)
           or exists (select 1 from public.conversations c where c.id = i.conversation_id and c.owner_id = p_user_id))
    returning 1)
  select exists (select 1 from gone)
$$;

-- p_user_id's pending invitations, with what he needs to decide: the conversation's title and
-- who invited him (nothing else of the conversation until he accepts).
create function public.invitations_of(p_user_id uuid) returns table (
  id uuid,
  conversation_id uuid,
  title text,
  invited_by uuid,
  inviter_name text,
  invited_at timestamptz
)
language sql stable security definer set search_path = '' as $$
  select i.id, i.conversation_id, c.title, i.invited_by, coalesce(p.display_name, p.email), i.created_at
  from public.conversation_invitations i
  join public.conversations c on c.id = i.conversation_id
  left join public.profiles p on p.id = i.invited_by
  where i.email = private.confirmed_email_of(p_user_id)
  order by i.created_at desc, i.id
$$;

-- The pending invitations of a conversation, for its owner (nobody else: empty).
create function public.conversation_invitations_of(p_user_id uuid, p_conversation_id uuid) returns table (
  id uuid,
  email text,
  invited_at timestamptz
)
language sql stable security definer set search_path = '' as $$
  select i.id, i.email, i.created_at
  from public.conversation_invitations i
  join public.conversations c on c.id = i.conversation_id and c.owner_id = p_user_id
  where i.conversation_id = p_conversation_id
  order by i.created_at, i.id
$$;

revoke execute on function private.confirmed_email_of(uuid), public.invite_to_conversation(uuid, uuid, text),
  public.accept_invitation(uuid, uuid), public.withdraw_invitation(uuid, uuid), public.invitations_of(uuid),
  public.conversation_invitations_of(uuid, uuid) from public, anon, authenticated;
grant execute on function private.confirmed_email_of(uuid), public.invite_to_conversation(uuid, uuid, text),
  public.accept_invitation(uuid, uuid), public.withdraw_invitation(uuid, uuid), public.invitations_of(uuid),
  public.conversation_invitations_of(uuid, uuid) to service_role;

-- The invitee is told on his own channel, if an account has that address (nothing is sent
-- otherwise, and the inviter learns nothing either way); once: a renewed invitation is not news.
create function private.broadcast_invitation() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_user uuid;
begin
  select u.id into v_user from public.profiles p join auth.users u on u.id = p.id
  where lower(p.email) = new.email and u.email_confirmed_at is not null and u.deleted_at is null;
  if v_user is not null then
    perform realtime.send(jsonb_build_object('invitationId', new.id, 'conversationId', new.conversation_id),
                          'invitation', 'user:' || v_user, true);
  end if;
  return null;
end
$$;
revoke execute on function private.broadcast_invitation() from public, anon, authenticated;

create trigger conversation_invitations_broadcast after insert on public.conversation_invitations
  for each row execute function private.broadcast_invitation();
