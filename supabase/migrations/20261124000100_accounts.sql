-- Accounts: plans (the tiers and their limits), profiles and subscriptions.
-- Plans live here, not in code. A user's tier changes only through set_user_tier(), which only
-- the service role (billing webhooks, admins) may call.

create table public.plans (
  tier text primary key check (tier ~ '^[a-z][a-z0-9_]*$'),
  name text not null,
  requests_per_minute integer not null check (requests_per_minute > 0),
  monthly_quota integer check (monthly_quota > 0),                 -- null: unlimited
  max_cost_per_request numeric check (max_cost_per_request > 0),   -- USD; null: unlimited
  sort_order smallint not null unique
);

insert into public.plans (tier, name, requests_per_minute, monthly_quota, max_cost_per_request, sort_order) values
  ('free', 'Free', 20, 100, 0.01, 1),
  ('pro', 'Pro', 100, 10000, 0.10, 2),
  ('team', 'Team', 500, 100000, 1.00, 3),
  ('enterprise', 'Enterprise', 10000, null, null, 4);

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text not null,
  display_name text check (char_length(display_name) between 1 and 80),
  avatar_url text check (avatar_url ~ '^https?://'),
  smart_router boolean not null default true,
  default_model text check (char_length(default_model) between 1 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.subscriptions (
  user_id uuid primary key references auth.users (id) on delete cascade,
  tier text not null default 'free' references public.plans (tier),
  status text not null default 'active' check (status in ('active', 'trialing', 'past_due', 'canceled')),
  current_period_start timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.user_activity_log (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  action text not null,
  details jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index user_activity_log_user_created_idx on public.user_activity_log (user_id, created_at desc);

-- RLS: everyone may read the plans; a user reads (and partly edits) only their own rows.
alter table public.plans enable row level security;
alter table public.profiles enable row level security;
alter table public.subscriptions enable row level security;
alter table public.user_activity_log enable row level security;

create policy "plans are public" on public.plans for select to anon, authenticated using (true);
create policy "read own profile" on public.profiles for select to authenticated using (id = (select auth.uid()));
create policy "edit own profile" on public.profiles for update to authenticated
  using (id = (select auth.uid())) with check (id = (select auth.uid()));
create policy "read own subscription" on public.subscriptions for select to authenticated
  using (user_id = (select auth.uid()));
create policy "read own activity" on public.user_activity_log for select to authenticated
  using (user_id = (select auth.uid()));

-- Supabase grants everything in public to anon/authenticated by default; take back all writes,
-- then give back only the profile columns a user may edit.
revoke insert, update, delete, truncate, references, trigger on
  public.plans, public.profiles, public.subscriptions, public.user_activity_log from anon, authenticated;
revoke all on public.profiles, public.subscriptions, public.user_activity_log from anon;
grant update (display_name, avatar_url, smart_router, default_model) on public.profiles to authenticated;

create function public.touch_updated_at() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.updated_at := now();
  return new;
end
$$;
revoke execute on function public.touch_updated_at() from public, anon, authenticated;

create trigger profiles_touch before update on public.profiles
  for each row execute function public.touch_updated_at();
create trigger subscriptions_touch before update on public.subscriptions
  for each row execute function public.touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Sign-up: every new auth user gets a profile, a free subscription and counters.

create table public.request_counters (
  user_id uuid primary key references auth.users (id) on delete cascade,
  -- fixed one-minute window of the rate limit
  minute_window timestamptz not null default date_trunc('minute', now()),
  minute_count integer not null default 0 check (minute_count >= 0),
  -- calendar month (UTC) of the monthly quota
  period_start date not null default date_trunc('month', now() at time zone 'utc')::date,
  period_requests integer not null default 0 check (period_requests >= 0),
  updated_at timestamptz not null default now()
);
alter table public.request_counters enable row level security;
create policy "read own counters" on public.request_counters for select to authenticated
  using (user_id = (select auth.uid()));
revoke all on public.request_counters from anon;
revoke insert, update, delete, truncate, references, trigger on public.request_counters from authenticated;

create function public.handle_new_user() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into public.profiles (id, email, display_name)
  values (
    new.id,
    coalesce(new.email, ''),
    nullif(left(coalesce(nullif(btrim(new.raw_user_meta_data ->> 'display_name'), ''),
                         split_part(new.email, '@', 1)), 80), '')
  );
  insert into public.subscriptions (user_id) values (new.id);
  insert into public.request_counters (user_id) values (new.id);
  insert into public.user_activity_log (user_id, action) values (new.id, 'signup');
  return new;
end
$$;
revoke execute on function public.handle_new_user() from public, anon, authenticated;

create trigger on_auth_user_created after insert on auth.users
  for each row execute function public.handle_new_user();

-- Keep the profile's email in step with auth (email changes go through Auth).
create function public.handle_user_email_change() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  update public.profiles set email = coalesce(new.email, '') where id = new.id;
  return new;
end
$$;
revoke execute on function public.handle_user_email_change() from public, anon, authenticated;

create trigger on_auth_user_email_changed after update of email on auth.users
  for each row when (old.email is distinct from new.email)
  execute function public.handle_user_email_change();

-- ---------------------------------------------------------------------------------------------
-- The only way to change a tier. Service role only.

create function public.set_user_tier(p_user_id uuid, p_tier text) returns void
language plpgsql security definer set search_path = '' as $$
declare
  v_old text;
begin
  if not exists (select from public.plans where tier = p_tier) then
    raise exception 'unknown tier: %', p_tier using errcode = '22023';
  end if;
  select tier into v_old from public.subscriptions where user_id = p_user_id for update;
  if not found then
    raise exception 'unknown user: %', p_user_id using errcode = 'P0002';
  end if;
  update public.subscriptions set tier = p_tier, status = 'active', current_period_start = now()
    where user_id = p_user_id;
  insert into public.user_activity_log (user_id, action, details)
    values (p_user_id, 'tier_changed', jsonb_build_object('from', v_old, 'to', p_tier));
end
$$;
revoke execute on function public.set_user_tier(uuid, text) from public, anon, authenticated;
grant execute on function public.set_user_tier(uuid, text) to service_role;
