-- Co-members' names. Profiles are readable by their owner alone (RLS), so a member list read as
-- the user named nobody but the caller. This function gives the members of a conversation the
-- caller belongs to their public face in it: display name and avatar, and the email (sharing is
-- by email, so members deal in them already); nothing else of a profile (preferences, default
-- model) and nothing at all for a conversation the caller is not in.
create function public.conversation_member_profiles(p_conversation_id uuid)
returns table (
  user_id uuid,
  role text,
  added_at timestamptz,
  email text,
  display_name text,
  avatar_url text
)
language sql stable security definer set search_path = '' as $$
  select m.user_id, m.role, m.added_at, p.email, p.display_name, p.avatar_url
  from public.conversation_members m
  left join public.profiles p on p.id = m.user_id
  where m.conversation_id = p_conversation_id
    and public.is_conversation_member(p_conversation_id)
  order by m.added_at, m.user_id
$$;
revoke execute on function public.conversation_member_profiles(uuid) from public, anon;
grant execute on function public.conversation_member_profiles(uuid) to authenticated, service_role;
