-- Running cost totals per user and per Auth session, kept in step by the usage_records insert
-- trigger in the same transaction. The quota broadcast after every settlement and GET /account
-- read one row each instead of summing the user's whole history, which made every settlement
-- slower as a user's history grew. Usage records are never updated in cost nor deleted (except
-- with their user, and the totals with them), so the totals stay equal to the sums.

create table public.usage_totals (
  user_id uuid primary key references auth.users (id) on delete cascade,
  requests bigint not null default 0 check (requests >= 0),
  total_cost numeric not null default 0 check (total_cost >= 0),
  month_start date not null,        -- the UTC month month_cost is for
  month_cost numeric not null default 0 check (month_cost >= 0),
  updated_at timestamptz not null default now()
);

create table public.session_usage (
  session_id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  requests bigint not null default 0 check (requests >= 0),
  cost numeric not null default 0 check (cost >= 0)
);
create index session_usage_user_idx on public.session_usage (user_id);

alter table public.usage_totals enable row level security;
alter table public.session_usage enable row level security;
create policy "read own totals" on public.usage_totals for select to authenticated
  using (user_id = (select auth.uid()));
create policy "read own session usage" on public.session_usage for select to authenticated
  using (user_id = (select auth.uid()));
revoke all on public.usage_totals, public.session_usage from anon;
revoke insert, update, delete, truncate, references, trigger on public.usage_totals, public.session_usage
  from authenticated;

create function private.utc_month(p_at timestamptz) returns date
language sql immutable set search_path = '' as $$
  select date_trunc('month', p_at at time zone 'utc')::date
$$;

create function private.accumulate_usage() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_month date := private.utc_month(new.created_at);
  v_session uuid;
begin
  insert into public.usage_totals as t (user_id, requests, total_cost, month_start, month_cost)
  values (new.user_id, 1, new.cost, v_month, new.cost)
  on conflict (user_id) do update set
    requests = t.requests + 1,
    total_cost = t.total_cost + excluded.total_cost,
    -- a new month starts from this record; a record dated in an earlier month (a settlement
    -- that straddled midnight) counts in the total only
    month_cost = case when excluded.month_start = t.month_start then t.month_cost + excluded.month_cost
                      when excluded.month_start > t.month_start then excluded.month_cost
                      else t.month_cost end,
    month_start = greatest(t.month_start, excluded.month_start),
    updated_at = now();

  select session_id into v_session from public.requests where id = new.request_id;
  if v_session is not null then
    insert into public.session_usage as s (session_id, user_id, requests, cost)
    values (v_session, new.user_id, 1, new.cost)
    on conflict (session_id) do update set requests = s.requests + 1, cost = s.cost + excluded.cost;
  end if;
  return null;
end
$$;

-- Named to fire before usage_records_broadcast (after-triggers run in name order), which reads them.
create trigger usage_records_accumulate after insert on public.usage_records
  for each row execute function private.accumulate_usage();

-- The history so far.
insert into public.usage_totals (user_id, requests, total_cost, month_start, month_cost)
select user_id, count(*), sum(cost), private.utc_month(now()),
       coalesce(sum(cost) filter (where private.utc_month(created_at) = private.utc_month(now())), 0)
from public.usage_records group by user_id;
insert into public.session_usage (session_id, user_id, requests, cost)
select q.session_id, min(u.user_id::text)::uuid, count(*), sum(u.cost)
from public.usage_records u join public.requests q on q.id = u.request_id
where q.session_id is not null group by q.session_id;

/** A user's costs as the API shows them: {total, month, session, requests}. */
create function private.cost_totals(p_user_id uuid, p_session_id uuid) returns jsonb
language sql stable security definer set search_path = '' as $$
  select jsonb_build_object(
    'total', coalesce(t.total_cost, 0),
    'month', case when t.month_start = private.utc_month(now()) then t.month_cost else 0 end,
    'session', coalesce((select cost from public.session_usage
                         where session_id = p_session_id and user_id = p_user_id), 0),
    'requests', coalesce(t.requests, 0))
  from (select 1) one left join public.usage_totals t on t.user_id = p_user_id
$$;

create or replace function private.broadcast_quota() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform realtime.send(
    jsonb_build_object(
      'requestId', new.request_id,
      'cost', new.cost,
      'model', new.model,
      'quota', private.quota_snapshot(new.user_id),
      'totals', private.cost_totals(new.user_id,
                                    (select session_id from public.requests where id = new.request_id))),
    'quota',
    'user:' || new.user_id,
    true);
  return null;
end
$$;

create or replace function public.account_summary(p_user_id uuid, p_session_id uuid default null) returns jsonb
language sql stable security definer set search_path = '' as $$
  select jsonb_build_object(
    'user', jsonb_build_object('id', u.id, 'email', u.email, 'createdAt', u.created_at),
    'profile', jsonb_build_object('displayName', p.display_name, 'avatarUrl', p.avatar_url,
                                  'createdAt', p.created_at, 'updatedAt', p.updated_at),
    'subscription', jsonb_build_object('tier', s.tier, 'status', s.status,
                                       'currentPeriodStart', s.current_period_start),
    'preferences', jsonb_build_object('smartRouter', p.smart_router, 'defaultModel', p.default_model),
    'quota', private.quota_snapshot(p_user_id),
    'cost', (select jsonb_build_object('total', (c ->> 'total'), 'month', (c ->> 'month'),
                                       'session', (c ->> 'session'), 'requests', (c -> 'requests')::bigint)
             from private.cost_totals(p_user_id, p_session_id) c))
  from auth.users u
  join public.profiles p on p.id = u.id
  join public.subscriptions s on s.user_id = u.id
  where u.id = p_user_id
$$;

revoke execute on function private.accumulate_usage(), private.cost_totals(uuid, uuid), private.utc_month(timestamptz)
  from public, anon, authenticated;
