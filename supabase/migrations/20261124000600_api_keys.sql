-- Platform API keys for SDKs (`nx_…`): a key acts as its user (tier, rate limit, quota apply),
-- may carry its own monthly budget, and is stored only as a SHA-256 hash (keys are 256 random
-- bits, so a fast hash is safe; the full key is shown once, at creation).

create table public.api_keys (
  id uuid primary key default extensions.gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 100),
  prefix text not null,                                   -- shown to tell keys apart: "nx_AbCd1234"
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  monthly_budget numeric check (monthly_budget > 0),      -- USD; null: no budget of its own
  period_start date not null default date_trunc('month', now() at time zone 'utc')::date,
  period_spend numeric not null default 0 check (period_spend >= 0),
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_keys_user_idx on public.api_keys (user_id, created_at desc);

alter table public.api_keys enable row level security;
create policy "read own keys" on public.api_keys for select to authenticated using (user_id = (select auth.uid()));
revoke all on public.api_keys from anon, authenticated;
-- The hash stays server-side even for its owner.
grant select (id, name, prefix, monthly_budget, period_start, period_spend, created_at, last_used_at, revoked_at)
  on public.api_keys to authenticated;

alter table public.requests add column api_key_id uuid references public.api_keys (id) on delete set null;
alter table public.usage_records add column api_key_id uuid references public.api_keys (id) on delete set null;

-- Which user and key a presented key hash stands for; null when unknown or revoked.
create function public.resolve_api_key(p_key_hash text) returns jsonb
language sql stable security definer set search_path = '' as $$
  select jsonb_build_object('userId', k.user_id, 'keyId', k.id)
  from public.api_keys k where k.key_hash = p_key_hash and k.revoked_at is null
$$;

-- Keys are charged at settlement (the usage record is the truth; this is its running sum for
-- the budget check), and refused at admission once over budget.
create function private.charge_api_key() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_period date := date_trunc('month', now() at time zone 'utc')::date;
begin
  if new.api_key_id is not null then
    update public.api_keys set
      period_spend = case when period_start >= v_period then period_spend + new.cost else new.cost end,
      period_start = greatest(period_start, v_period),
      last_used_at = now()
    where id = new.api_key_id;
  end if;
  return null;
end
$$;

create trigger usage_records_charge_api_key after insert on public.usage_records
  for each row execute function private.charge_api_key();

-- The request's key goes onto its usage record.
create function private.usage_record_key() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  select api_key_id into new.api_key_id from public.requests where id = new.request_id;
  return new;
end
$$;

create trigger usage_records_key before insert on public.usage_records
  for each row execute function private.usage_record_key();

-- Admission through a key: the key must be live and within its budget; then the request is
-- admitted as its user, and remembers the key. One round trip, as for a signed-in user.
create function public.admit_key_request(
  p_key_hash text,
  p_request_id uuid,
  p_candidates jsonb,
  p_routed boolean default false,
  p_fallbacks jsonb default '[]',
  p_idempotency_key text default null,
  p_request_hash text default null,
  p_cache_hash text default null,
  p_default_options jsonb default '[]'
) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  k public.api_keys;
  v_period date := date_trunc('month', now() at time zone 'utc')::date;
  v_result jsonb;
begin
  select * into k from public.api_keys where key_hash = p_key_hash and revoked_at is null;
  if not found then
    return jsonb_build_object('admitted', false, 'code', 'unauthorized', 'message', 'Invalid API key');
  end if;
  if k.monthly_budget is not null and k.period_start >= v_period and k.period_spend >= k.monthly_budget then
    return jsonb_build_object('admitted', false, 'code', 'quota_exceeded',
      'message', format('API key "%s" has used its monthly budget of $%s', k.name, k.monthly_budget),
      'quota', private.quota_snapshot(k.user_id));
  end if;
  v_result := public.admit_request(k.user_id, p_request_id, p_candidates, p_routed, null, null, null,
                                   p_fallbacks, p_idempotency_key, p_request_hash, p_cache_hash, p_default_options,
                                   null);
  if (v_result ->> 'admitted')::boolean then
    update public.requests set api_key_id = k.id where id = p_request_id;
    -- a cache hit was settled inside admit_request, before the request knew its key
    update public.usage_records set api_key_id = k.id where request_id = p_request_id and api_key_id is null;
    update public.api_keys set last_used_at = now() where id = k.id;
  end if;
  return v_result || jsonb_build_object('userId', k.user_id, 'keyId', k.id);
end
$$;

revoke execute on function public.resolve_api_key(text),
  public.admit_key_request(text, uuid, jsonb, boolean, jsonb, text, text, text, jsonb)
  from public, anon, authenticated;
grant execute on function public.resolve_api_key(text),
  public.admit_key_request(text, uuid, jsonb, boolean, jsonb, text, text, text, jsonb) to service_role;
revoke execute on all functions in schema private from public, anon, authenticated;
