-- Admission and metering. One RPC admits a request atomically (plan, cost cap, conversation,
-- rate limit and monthly quota under one row lock); every admitted request then ends exactly
-- once, either settled (usage recorded, cost charged) or released (nothing charged, counts
-- restored). Counters live in request_counters (created at sign-up, see accounts migration).

create schema if not exists private;
revoke all on schema private from public, anon, authenticated;

-- The ledger of admitted requests: the state machine admitted -> settled | released.
create table public.requests (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  model text not null,
  provider text not null,
  conversation_id uuid references public.conversations (id) on delete set null,
  status text not null default 'admitted' check (status in ('admitted', 'settled', 'released')),
  minute_window timestamptz not null,   -- the windows it was counted in, so a release restores
  period_start date not null,           -- exactly those counts and no others
  worst_case_cost numeric not null check (worst_case_cost >= 0),
  session_id uuid,                      -- the Auth session that made it (its "session cost")
  admitted_at timestamptz not null default now(),
  ended_at timestamptz
);
create index requests_user_admitted_idx on public.requests (user_id, admitted_at desc);
create index requests_open_idx on public.requests (admitted_at) where status = 'admitted';

create table public.usage_records (
  id bigint generated always as identity primary key,
  request_id uuid not null unique references public.requests (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid references public.conversations (id) on delete set null,
  model text not null,
  provider text not null,
  input_tokens integer not null check (input_tokens >= 0),
  output_tokens integer not null check (output_tokens >= 0),
  cost numeric not null check (cost >= 0),                      -- USD, exact
  price_version text not null,
  latency_ms integer check (latency_ms >= 0),
  status text not null check (status in ('complete', 'partial', 'error', 'cancelled', 'cached')),
  created_at timestamptz not null default now()
);
create index usage_records_user_created_idx on public.usage_records (user_id, created_at desc);

alter table public.requests enable row level security;
alter table public.usage_records enable row level security;
create policy "read own requests" on public.requests for select to authenticated
  using (user_id = (select auth.uid()));
create policy "read own usage" on public.usage_records for select to authenticated
  using (user_id = (select auth.uid()));
revoke all on public.requests, public.usage_records from anon;
revoke insert, update, delete, truncate, references, trigger on public.requests, public.usage_records
  from authenticated;

-- ---------------------------------------------------------------------------------------------
-- Internal helpers (schema private is not exposed to API roles)

-- True for the service role and for direct database sessions (functions, migrations, cron).
create function private.caller_is_service() returns boolean
language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('role', true), 'none'), session_user::text)
           in ('service_role', 'postgres', 'supabase_admin')
      or coalesce(auth.role(), '') = 'service_role'
$$;

-- The plan in force: a canceled subscription falls back to the free plan.
create function private.effective_plan(p_user_id uuid) returns public.plans
language sql stable set search_path = '' as $$
  select p.* from public.subscriptions s
  join public.plans p on p.tier = case when s.status = 'canceled' then 'free' else s.tier end
  where s.user_id = p_user_id
$$;

-- Whether a plan may use a candidate model: tier listed, worst case within the per-request cap.
create function private.plan_allows(p_plan public.plans, p_candidate jsonb) returns boolean
language sql immutable set search_path = '' as $$
  select (p_candidate -> 'tiers' is null or p_candidate -> 'tiers' = 'null'::jsonb
          or p_candidate -> 'tiers' ? p_plan.tier)
     and (p_plan.max_cost_per_request is null
          or (p_candidate ->> 'worstCaseCost')::numeric <= p_plan.max_cost_per_request)
$$;

-- What the user has left right now, in the shape of the API's user-context headers.
create function private.quota_snapshot(p_user_id uuid, p_now timestamptz default clock_timestamp())
returns jsonb
language plpgsql stable set search_path = '' as $$
declare
  v_plan public.plans;
  v_minute timestamptz := date_trunc('minute', p_now);
  v_period date := date_trunc('month', p_now at time zone 'utc')::date;
  v_minute_used integer := 0;
  v_month_used integer := 0;
  c public.request_counters;
begin
  v_plan := private.effective_plan(p_user_id);
  if v_plan.tier is null then
    return null;
  end if;
  select * into c from public.request_counters where user_id = p_user_id;
  if found then
    v_minute_used := case when c.minute_window >= v_minute then c.minute_count else 0 end;
    v_month_used := case when c.period_start >= v_period then c.period_requests else 0 end;
  end if;
  return jsonb_build_object(
    'tier', v_plan.tier,
    'requestsPerMinute', v_plan.requests_per_minute,
    'minuteUsed', v_minute_used,
    'minuteRemaining', greatest(v_plan.requests_per_minute - v_minute_used, 0),
    'minuteResetAt', extract(epoch from v_minute + interval '1 minute')::bigint,
    'monthlyQuota', v_plan.monthly_quota,
    'monthUsed', v_month_used,
    'monthRemaining', case when v_plan.monthly_quota is null then null
                           else greatest(v_plan.monthly_quota - v_month_used, 0) end,
    'periodStart', v_period,
    'periodEnd', (v_period + interval '1 month')::date,
    'maxCostPerRequest', v_plan.max_cost_per_request
  );
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Idempotency-Key: a retried request with the same key never runs (or charges) twice.
create table public.idempotency_keys (
  user_id uuid not null references auth.users (id) on delete cascade,
  key text not null check (char_length(key) between 1 and 255),
  request_hash text not null,            -- the same key with a different request is refused
  request_id uuid not null references public.requests (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (user_id, key)
);

-- Exact-match response cache, per user (a shared cache would let one user learn what another
-- asked). A hit is answered from here at zero provider cost but still counts as a request.
create table public.response_cache (
  user_id uuid not null references auth.users (id) on delete cascade,
  model text not null,
  request_hash text not null,
  content text not null,
  input_tokens integer not null,
  output_tokens integer not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (user_id, model, request_hash)
);

alter table public.idempotency_keys enable row level security;
alter table public.response_cache enable row level security;
revoke all on public.idempotency_keys, public.response_cache from anon, authenticated;

-- A settled request as the API shows it (what an idempotent retry replays).
create function private.request_result(p_request_id uuid) returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'requestId', r.id, 'model', r.model, 'provider', r.provider, 'conversationId', r.conversation_id,
    'messageId', m.id, 'content', coalesce(m.content, ''), 'cost', u.cost::text,
    'inputTokens', u.input_tokens, 'outputTokens', u.output_tokens, 'status', u.status)
  from public.requests r
  join public.usage_records u on u.request_id = r.id
  left join public.messages m on m.request_id = r.id and m.role = 'assistant'
  where r.id = p_request_id
$$;

-- ---------------------------------------------------------------------------------------------
-- admit_request: the one database round trip before the provider is called.
--
-- p_candidates: the models that could serve the request, best first, as
--   [{"model": "...", "provider": "...", "worstCaseCost": "0.0021", "tiers": ["free", ...]}]
--   (one entry for an explicit model; the router's ranking otherwise). The first one the plan
--   allows (tier listed, worst case within the per-request cap) is chosen; when p_routed and the
--   user turned the router off, their default model is preferred if it is allowed.
-- p_fallbacks: more models, same shape, the pipeline may fall back to if the chosen one's
--   provider fails; only those the plan allows are returned.
-- p_default_options: for routed requests, every model the user's default model may be (a user
--   who turned the router off gets their default model whatever the router would pick).
-- p_idempotency_key / p_request_hash: a key already used by this user within 24 h replays the
--   finished request ("replay"), or is refused while it runs or for a different request.
-- p_cache_hash: when set, an unexpired cached answer for (user, chosen model, hash) is served:
--   the request is counted and settled at once at zero cost ("cached").
-- Returns {"admitted": true, "model", "provider", "selection", "fallbacks", "conversationId",
--          "messageId", "quota", "cached"?} or {"admitted": false, "code", "message",
--          "retryAfter"?, "replay"?, "quota"}. A refusal changes nothing but the activity log.

create function public.admit_request(
  p_user_id uuid,
  p_request_id uuid,
  p_candidates jsonb,
  p_routed boolean default false,
  p_conversation_id uuid default null,
  p_user_message text default null,
  p_title text default null,
  p_fallbacks jsonb default '[]',
  p_idempotency_key text default null,
  p_request_hash text default null,
  p_cache_hash text default null,
  p_default_options jsonb default '[]',
  p_session_id uuid default null
) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  v_plan public.plans;
  v_profile public.profiles;
  v_pick jsonb;
  v_fallbacks jsonb;
  v_selection text := case when p_routed then 'router' else 'explicit' end;
  v_now timestamptz;
  v_minute timestamptz;
  v_period date;
  v_minute_count integer;
  v_period_requests integer;
  v_conversation uuid := p_conversation_id;
  v_message uuid;
  v_idem public.idempotency_keys;
  v_prior text;
  v_hit public.response_cache;
  v_answer uuid;
  c public.request_counters;
begin
  v_plan := private.effective_plan(p_user_id);
  if v_plan.tier is null then
    return jsonb_build_object('admitted', false, 'code', 'unauthorized', 'message', 'Unknown user');
  end if;

  -- Model choice under the plan's constraints.
  if p_routed then
    select * into v_profile from public.profiles where id = p_user_id;
    if not v_profile.smart_router and v_profile.default_model is not null then
      select cand into v_pick from jsonb_array_elements(p_candidates || p_default_options) cand
      where cand ->> 'model' = v_profile.default_model and private.plan_allows(v_plan, cand)
      limit 1;
      if v_pick is not null then
        v_selection := 'default_model';
      end if;
    end if;
  end if;
  if v_pick is null then
    select cand into v_pick from jsonb_array_elements(p_candidates) with ordinality as t(cand, i)
    where private.plan_allows(v_plan, cand)
    order by i limit 1;
  end if;
  if v_pick is null then
    insert into public.user_activity_log (user_id, action, details)
      values (p_user_id, 'request_refused', jsonb_build_object('code', 'model_not_allowed',
              'model', p_candidates -> 0 ->> 'model'));
    return jsonb_build_object(
      'admitted', false, 'code', 'model_not_allowed',
      'message', case
        when jsonb_array_length(p_candidates) = 1 and not ((p_candidates -> 0 -> 'tiers') is null
             or (p_candidates -> 0 -> 'tiers') ? v_plan.tier)
          then format('Model %s is not available on the %s plan', p_candidates -> 0 ->> 'model', v_plan.name)
        else format('The request''s worst-case cost exceeds the %s plan''s limit of $%s per request',
                    v_plan.name, v_plan.max_cost_per_request)
      end,
      'details', jsonb_build_object('tier', v_plan.tier, 'maxCostPerRequest', v_plan.max_cost_per_request,
                                    'worstCaseCost', p_candidates -> 0 -> 'worstCaseCost'),
      'quota', private.quota_snapshot(p_user_id));
  end if;
  -- What the pipeline may fall back to: the rest of the allowed ranking, then the extra fallbacks.
  select coalesce(jsonb_agg(cand ->> 'model' order by i), '[]') into v_fallbacks
  from (
    select cand, i from jsonb_array_elements(p_candidates) with ordinality as t(cand, i)
    union all
    select cand, 1000000 + i from jsonb_array_elements(p_fallbacks) with ordinality as f(cand, i)
  ) all_candidates
  where private.plan_allows(v_plan, cand) and cand ->> 'model' <> v_pick ->> 'model';

  if v_conversation is not null and not exists (
    select 1 from public.conversation_members where conversation_id = v_conversation and user_id = p_user_id
  ) then
    return jsonb_build_object('admitted', false, 'code', 'not_found', 'message', 'Conversation not found',
                              'quota', private.quota_snapshot(p_user_id));
  end if;

  -- Counters: the row lock serializes this user's admissions; the clock is read after the lock
  -- so windows only ever move forward.
  select * into c from public.request_counters where user_id = p_user_id for update;
  if not found then
    insert into public.request_counters (user_id) values (p_user_id) on conflict do nothing;
    select * into c from public.request_counters where user_id = p_user_id for update;
  end if;
  v_now := clock_timestamp();
  v_minute := date_trunc('minute', v_now);
  v_period := date_trunc('month', v_now at time zone 'utc')::date;

  -- Idempotency, under the same lock: a concurrent retry with the same key waits for us.
  if p_idempotency_key is not null then
    select * into v_idem from public.idempotency_keys where user_id = p_user_id and key = p_idempotency_key;
    if found and v_idem.created_at > v_now - interval '24 hours' then
      if v_idem.request_hash is distinct from p_request_hash then
        return jsonb_build_object('admitted', false, 'code', 'conflict',
          'message', 'This Idempotency-Key was used for a different request',
          'quota', private.quota_snapshot(p_user_id, v_now));
      end if;
      select status into v_prior from public.requests where id = v_idem.request_id;
      if v_prior = 'admitted' then
        return jsonb_build_object('admitted', false, 'code', 'conflict',
          'message', 'A request with this Idempotency-Key is still in progress',
          'quota', private.quota_snapshot(p_user_id, v_now));
      elsif v_prior = 'settled' then
        return jsonb_build_object('admitted', false, 'code', 'replay',
          'replay', private.request_result(v_idem.request_id),
          'quota', private.quota_snapshot(p_user_id, v_now));
      end if;
    end if;
    -- expired, or its request was released: the key is free again
    delete from public.idempotency_keys where user_id = p_user_id and key = p_idempotency_key;
  end if;

  v_minute_count := case when c.minute_window >= v_minute then c.minute_count else 0 end;
  v_period_requests := case when c.period_start >= v_period then c.period_requests else 0 end;

  if v_plan.monthly_quota is not null and v_period_requests >= v_plan.monthly_quota then
    insert into public.user_activity_log (user_id, action, details)
      values (p_user_id, 'request_refused', jsonb_build_object('code', 'quota_exceeded'));
    return jsonb_build_object('admitted', false, 'code', 'quota_exceeded',
      'message', format('Monthly quota of %s requests on the %s plan is used up; it renews on %s',
                        v_plan.monthly_quota, v_plan.name, (v_period + interval '1 month')::date),
      'quota', private.quota_snapshot(p_user_id, v_now));
  end if;
  if v_minute_count >= v_plan.requests_per_minute then
    return jsonb_build_object('admitted', false, 'code', 'rate_limited',
      'message', format('Rate limit of %s requests per minute reached', v_plan.requests_per_minute),
      'retryAfter', greatest(1, ceil(extract(epoch from (v_minute + interval '1 minute') - v_now)))::integer,
      'quota', private.quota_snapshot(p_user_id, v_now));
  end if;

  update public.request_counters set
    minute_window = greatest(minute_window, v_minute),
    minute_count = v_minute_count + 1,
    period_start = greatest(period_start, v_period),
    period_requests = v_period_requests + 1,
    updated_at = v_now
  where user_id = p_user_id;

  if v_conversation is null and p_user_message is not null then
    insert into public.conversations (owner_id, title)
      values (p_user_id, coalesce(nullif(left(btrim(p_title), 200), ''), 'New conversation'))
      returning id into v_conversation;
  end if;
  if v_conversation is not null and p_user_message is not null then
    insert into public.messages (conversation_id, user_id, role, content, request_id)
      values (v_conversation, p_user_id, 'user', p_user_message, p_request_id)
      returning id into v_message;
    update public.conversations set updated_at = v_now where id = v_conversation;
  end if;

  insert into public.requests (id, user_id, model, provider, conversation_id, minute_window, period_start,
                               worst_case_cost, session_id)
  values (p_request_id, p_user_id, v_pick ->> 'model', v_pick ->> 'provider', v_conversation,
          greatest(c.minute_window, v_minute), greatest(c.period_start, v_period),
          (v_pick ->> 'worstCaseCost')::numeric, p_session_id);
  if p_idempotency_key is not null then
    insert into public.idempotency_keys (user_id, key, request_hash, request_id)
      values (p_user_id, p_idempotency_key, p_request_hash, p_request_id);
  end if;

  -- A cache hit is answered and settled here, at zero provider cost.
  if p_cache_hash is not null then
    select * into v_hit from public.response_cache
    where user_id = p_user_id and model = v_pick ->> 'model' and request_hash = p_cache_hash
      and expires_at > v_now;
    if found then
      v_answer := extensions.gen_random_uuid();
      perform public.settle_request(p_request_id, v_hit.input_tokens, v_hit.output_tokens, 0, 'cache', 0,
                                    'cached', v_hit.content, v_answer);
      return jsonb_build_object(
        'admitted', true, 'requestId', p_request_id, 'model', v_pick ->> 'model',
        'provider', v_pick ->> 'provider', 'selection', v_selection, 'fallbacks', '[]'::jsonb,
        'conversationId', v_conversation, 'messageId', v_message,
        'cached', jsonb_build_object('content', v_hit.content, 'inputTokens', v_hit.input_tokens,
                                     'outputTokens', v_hit.output_tokens, 'messageId', v_answer),
        'quota', private.quota_snapshot(p_user_id, v_now));
    end if;
  end if;

  return jsonb_build_object(
    'admitted', true,
    'requestId', p_request_id,
    'model', v_pick ->> 'model',
    'provider', v_pick ->> 'provider',
    'selection', v_selection,
    'fallbacks', v_fallbacks,
    'conversationId', v_conversation,
    'messageId', v_message,
    'quota', private.quota_snapshot(p_user_id, v_now));
end
$$;

-- settle_request: record usage and charge; idempotent (a second call changes nothing).
-- p_message_id names the assistant message before it exists (it is announced to the client at
-- the start of the stream). p_model/p_provider record the model that actually answered when
-- the pipeline fell back to another one. p_cache_hash stores a complete answer in the response
-- cache for p_cache_ttl_seconds.
create function public.settle_request(
  p_request_id uuid,
  p_input_tokens integer,
  p_output_tokens integer,
  p_cost numeric,
  p_price_version text,
  p_latency_ms integer,
  p_status text,
  p_content text default null,
  p_message_id uuid default null,
  p_model text default null,
  p_provider text default null,
  p_cache_hash text default null,
  p_cache_ttl_seconds integer default 3600
) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  r public.requests;
  v_message uuid;
begin
  update public.requests set status = 'settled', ended_at = now(),
         model = coalesce(p_model, model), provider = coalesce(p_provider, provider)
    where id = p_request_id and status = 'admitted'
    returning * into r;
  if not found then
    return jsonb_build_object('settled', false);
  end if;

  insert into public.usage_records (request_id, user_id, conversation_id, model, provider, input_tokens,
                                    output_tokens, cost, price_version, latency_ms, status)
  values (r.id, r.user_id, r.conversation_id, r.model, r.provider, p_input_tokens, p_output_tokens, p_cost,
          p_price_version, p_latency_ms, p_status);

  if r.conversation_id is not null and p_content is not null then
    insert into public.messages (id, conversation_id, user_id, role, content, model, request_id, cost,
                                 input_tokens, output_tokens, status)
    values (coalesce(p_message_id, extensions.gen_random_uuid()), r.conversation_id, r.user_id, 'assistant',
            p_content, r.model, r.id, p_cost, p_input_tokens,
            p_output_tokens, case when p_status in ('complete', 'cached') then 'complete'
                                  when p_status = 'error' then 'error' else 'partial' end)
    returning id into v_message;
    update public.conversations set updated_at = now() where id = r.conversation_id;
  end if;

  if p_cache_hash is not null and p_status = 'complete' and p_content is not null then
    insert into public.response_cache (user_id, model, request_hash, content, input_tokens, output_tokens,
                                       expires_at)
    values (r.user_id, r.model, p_cache_hash, p_content, p_input_tokens, p_output_tokens,
            now() + make_interval(secs => p_cache_ttl_seconds))
    on conflict (user_id, model, request_hash) do update set
      content = excluded.content, input_tokens = excluded.input_tokens,
      output_tokens = excluded.output_tokens, created_at = now(), expires_at = excluded.expires_at;
  end if;

  insert into public.user_activity_log (user_id, action, details)
  values (r.user_id, 'chat', jsonb_build_object('requestId', r.id, 'model', r.model, 'cost', p_cost,
          'inputTokens', p_input_tokens, 'outputTokens', p_output_tokens, 'status', p_status));

  return jsonb_build_object('settled', true, 'messageId', v_message,
                            'quota', private.quota_snapshot(r.user_id));
end
$$;

-- release_request: no provider output, nothing charged; the counts it took are given back,
-- and its Idempotency-Key is freed so the client may retry.
create function public.release_request(p_request_id uuid, p_reason text) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  r public.requests;
begin
  update public.requests set status = 'released', ended_at = now()
    where id = p_request_id and status = 'admitted'
    returning * into r;
  if not found then
    return false;
  end if;
  update public.request_counters set
    minute_count = case when minute_window = r.minute_window then greatest(minute_count - 1, 0)
                        else minute_count end,
    period_requests = case when period_start = r.period_start then greatest(period_requests - 1, 0)
                           else period_requests end,
    updated_at = now()
  where user_id = r.user_id;
  delete from public.idempotency_keys where request_id = r.id;
  insert into public.user_activity_log (user_id, action, details)
  values (r.user_id, 'request_released', jsonb_build_object('requestId', r.id, 'model', r.model,
          'reason', p_reason));
  return true;
end
$$;

-- Expired cache entries and idempotency keys (cron, or the local stack's sweeper).
create function public.purge_expired() returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_cache integer;
  v_keys integer;
begin
  delete from public.response_cache where expires_at < now();
  get diagnostics v_cache = row_count;
  delete from public.idempotency_keys where created_at < now() - interval '24 hours';
  get diagnostics v_keys = row_count;
  return v_cache + v_keys;
end
$$;

-- Requests whose function instance died before it could settle: released after a grace
-- period (run by cron or by the local stack).
create function public.release_stale_requests(p_older_than interval default interval '15 minutes')
returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_id uuid;
  v_count integer := 0;
begin
  for v_id in select id from public.requests where status = 'admitted' and admitted_at < now() - p_older_than
  loop
    if public.release_request(v_id, 'stale') then
      v_count := v_count + 1;
    end if;
  end loop;
  return v_count;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The brief's helpers, by name.

-- Counts one request against this month's quota (admit_request does this atomically for chat).
create function public.increment_user_requests(p_user_id uuid) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_period date := date_trunc('month', clock_timestamp() at time zone 'utc')::date;
  v_count integer;
begin
  update public.request_counters set
    period_requests = case when period_start >= v_period then period_requests + 1 else 1 end,
    period_start = greatest(period_start, v_period),
    updated_at = now()
  where user_id = p_user_id
  returning period_requests into v_count;
  if not found then
    raise exception 'unknown user: %', p_user_id using errcode = 'P0002';
  end if;
  return v_count;
end
$$;

-- Starts the new month for everyone whose period is over. Admission also rolls periods lazily,
-- so quotas are right even if this never runs; it keeps the stored counters tidy (monthly cron).
create function public.reset_monthly_requests() returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_period date := date_trunc('month', clock_timestamp() at time zone 'utc')::date;
  v_count integer;
begin
  update public.request_counters set period_start = v_period, period_requests = 0, updated_at = now()
  where period_start < v_period;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Would a request be admitted now (quota and rate limit)? Read-only: it admits nothing.
create function public.can_make_request(p_user_id uuid) returns boolean
language plpgsql stable security definer set search_path = '' as $$
declare
  q jsonb;
begin
  if p_user_id is distinct from auth.uid() and not private.caller_is_service() then
    raise exception 'permission denied' using errcode = '42501';
  end if;
  q := private.quota_snapshot(p_user_id);
  return q is not null
     and (q ->> 'minuteRemaining')::integer > 0
     and (q -> 'monthRemaining' = 'null'::jsonb or (q ->> 'monthRemaining')::integer > 0);
end
$$;

create function public.get_user_quota(p_user_id uuid) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
begin
  if p_user_id is distinct from auth.uid() and not private.caller_is_service() then
    raise exception 'permission denied' using errcode = '42501';
  end if;
  return private.quota_snapshot(p_user_id);
end
$$;

revoke execute on function
  public.admit_request(uuid, uuid, jsonb, boolean, uuid, text, text, jsonb, text, text, text, jsonb, uuid),
  public.settle_request(uuid, integer, integer, numeric, text, integer, text, text, uuid, text, text, text, integer),
  public.release_request(uuid, text),
  public.release_stale_requests(interval),
  public.purge_expired(),
  public.increment_user_requests(uuid),
  public.reset_monthly_requests(),
  public.can_make_request(uuid),
  public.get_user_quota(uuid)
from public, anon, authenticated;
grant execute on function
  public.admit_request(uuid, uuid, jsonb, boolean, uuid, text, text, jsonb, text, text, text, jsonb, uuid),
  public.settle_request(uuid, integer, integer, numeric, text, integer, text, text, uuid, text, text, text, integer),
  public.release_request(uuid, text),
  public.release_stale_requests(interval),
  public.purge_expired(),
  public.increment_user_requests(uuid),
  public.reset_monthly_requests()
to service_role;
grant execute on function public.can_make_request(uuid), public.get_user_quota(uuid) to authenticated, service_role;

-- Identity sequences need no API-role access (inserts happen in security definer functions).
revoke all on all sequences in schema public from anon, authenticated;

grant usage on schema private to service_role;
grant execute on all functions in schema private to service_role;
