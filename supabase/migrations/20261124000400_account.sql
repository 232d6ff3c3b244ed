-- The account as the API shows it (GET /account), in one round trip. Costs are sums of usage
-- records, so what the user is shown always equals what was recorded: the session's (requests
-- made with the current Auth session), the current month's and the total.

create function public.account_summary(p_user_id uuid, p_session_id uuid default null) returns jsonb
language sql stable security definer set search_path = '' as $$
  select jsonb_build_object(
    'user', jsonb_build_object('id', u.id, 'email', u.email, 'createdAt', u.created_at),
    'profile', jsonb_build_object('displayName', p.display_name, 'avatarUrl', p.avatar_url,
                                  'createdAt', p.created_at, 'updatedAt', p.updated_at),
    'subscription', jsonb_build_object('tier', s.tier, 'status', s.status,
                                       'currentPeriodStart', s.current_period_start),
    'preferences', jsonb_build_object('smartRouter', p.smart_router, 'defaultModel', p.default_model),
    'quota', private.quota_snapshot(p_user_id),
    'cost', (
      select jsonb_build_object(
        'total', coalesce(sum(r.cost), 0)::text,
        'month', coalesce(sum(r.cost) filter (where r.created_at >= date_trunc('month', now() at time zone 'utc') at time zone 'utc'), 0)::text,
        'session', coalesce(sum(r.cost) filter (where q.session_id = p_session_id), 0)::text,
        'requests', count(*))
      from public.usage_records r
      join public.requests q on q.id = r.request_id
      where r.user_id = p_user_id))
  from auth.users u
  join public.profiles p on p.id = u.id
  join public.subscriptions s on s.user_id = u.id
  where u.id = p_user_id
$$;

revoke execute on function public.account_summary(uuid, uuid) from public, anon, authenticated;
grant execute on function public.account_summary(uuid, uuid) to service_role;
