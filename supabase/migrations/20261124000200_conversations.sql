-- Conversations, their members and messages. Members read; the owner manages membership;
-- messages are written by the chat pipeline (service role), never directly by users, so nobody
-- can forge an assistant reply or its cost.

create table public.conversations (
  id uuid primary key default extensions.gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  title text not null default 'New conversation' check (char_length(title) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index conversations_owner_idx on public.conversations (owner_id, updated_at desc);

create table public.conversation_members (
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null default 'member' check (role in ('owner', 'member')),
  added_at timestamptz not null default now(),
  primary key (conversation_id, user_id)
);
create index conversation_members_user_idx on public.conversation_members (user_id);

create table public.messages (
  id uuid primary key default extensions.gen_random_uuid(),
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  user_id uuid references auth.users (id) on delete set null,   -- author of a user message; requester of an assistant one
  role text not null check (role in ('user', 'assistant', 'system')),
  content text not null,
  model text,
  request_id uuid,
  cost numeric check (cost >= 0),
  input_tokens integer check (input_tokens >= 0),
  output_tokens integer check (output_tokens >= 0),
  status text not null default 'complete' check (status in ('complete', 'partial', 'error')),
  created_at timestamptz not null default clock_timestamp()
);
create index messages_conversation_created_idx on public.messages (conversation_id, created_at);

create trigger conversations_touch before update on public.conversations
  for each row execute function public.touch_updated_at();

-- Membership check used by the policies. security definer so that the policy on
-- conversation_members can use it without recursing into itself.
create function public.is_conversation_member(p_conversation_id uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (
    select 1 from public.conversation_members
    where conversation_id = p_conversation_id and user_id = (select auth.uid())
  )
$$;
revoke execute on function public.is_conversation_member(uuid) from public, anon;
grant execute on function public.is_conversation_member(uuid) to authenticated, service_role;

alter table public.conversations enable row level security;
alter table public.conversation_members enable row level security;
alter table public.messages enable row level security;

create policy "members read conversations" on public.conversations for select to authenticated
  using (owner_id = (select auth.uid()) or public.is_conversation_member(id));
create policy "owner renames conversation" on public.conversations for update to authenticated
  using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
create policy "owner deletes conversation" on public.conversations for delete to authenticated
  using (owner_id = (select auth.uid()));

create policy "members read members" on public.conversation_members for select to authenticated
  using (public.is_conversation_member(conversation_id));

create policy "members read messages" on public.messages for select to authenticated
  using (public.is_conversation_member(conversation_id));

revoke all on public.conversations, public.conversation_members, public.messages from anon;
revoke insert, update, delete, truncate, references, trigger on
  public.conversations, public.conversation_members, public.messages from authenticated;
grant update (title) on public.conversations to authenticated;
grant delete on public.conversations to authenticated;

-- Owner is always a member: one place decides who may see a conversation.
create function public.handle_new_conversation() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into public.conversation_members (conversation_id, user_id, role)
  values (new.id, new.owner_id, 'owner');
  return new;
end
$$;
revoke execute on function public.handle_new_conversation() from public, anon, authenticated;

create trigger on_conversation_created after insert on public.conversations
  for each row execute function public.handle_new_conversation();
