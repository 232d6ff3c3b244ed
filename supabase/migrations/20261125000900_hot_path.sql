-- The metering hot path without re-parsing or re-reading.
--
-- A SQL-language function is inlined into its caller only when its body is a single expression
-- (no FROM), it has no SET clause and it is not SECURITY DEFINER; every other SQL function is
-- parsed and planned again on each call, while PL/pgSQL keeps its plans for the session.
-- Measured with 50 concurrent chats (track_functions = all): private.effective_plan (a SELECT
-- with a join, called four times per request) took ~0.23 ms a call, private.cost_totals
-- (SECURITY DEFINER) ~0.5 ms, private.utc_month and private.created_in_this_transaction (own
-- SET clause) ~0.07 ms each, several times per request — mostly the parser.
--
-- And two reads nobody needed: admission rebuilt its quota snapshot by reading the plan and the
-- counters it had just read and written, and settle_request returned a snapshot that its only
-- caller (record_attempts) ignores.

-- The plan in force: a canceled subscription falls back to the free plan. No row: all fields null.
create or replace function private.effective_plan(p_user_id uuid) returns public.plans
language plpgsql stable as $$
declare
  v public.plans;
begin
  select p.* into v from public.subscriptions s
  join public.plans p on p.tier = case when s.status = 'canceled' then 'free' else s.tier end
  where s.user_id = p_user_id;
  return v;
end
$$;

-- Both name nothing but built-ins, and only SECURITY DEFINER functions that pin
-- search_path = '' call them (the private schema is closed to the API roles), so they can do
-- without their own setting and be inlined (as plan_allows and effective_plan were in 0730).
alter function private.utc_month(timestamptz) reset search_path;
alter function private.created_in_this_transaction(uuid) reset search_path;

-- A user's running cost totals (usage_totals.sql), in PL/pgSQL so its plan is kept.
create or replace function private.cost_totals(p_user_id uuid, p_session_id uuid) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  t public.usage_totals;
  v_session numeric;
begin
  select * into t from public.usage_totals where user_id = p_user_id;
  select cost into v_session from public.session_usage where session_id = p_session_id and user_id = p_user_id;
  return jsonb_build_object(
    'total', coalesce(t.total_cost, 0),
    'month', case when t.month_start = private.utc_month(now()) then t.month_cost else 0 end,
    'session', coalesce(v_session, 0),
    'requests', coalesce(t.requests, 0));
end
$$;

-- The quota in the shape of the API's user-context headers, from a plan and the counts used in
-- the minute and the month of `p_now`.
create function private.quota_json(p_plan public.plans, p_now timestamptz, p_minute_used integer,
                                   p_month_used integer) returns jsonb
language plpgsql stable as $$
declare
  v_period date := date_trunc('month', p_now at time zone 'utc')::date;
begin
  return jsonb_build_object(
    'tier', p_plan.tier,
    'requestsPerMinute', p_plan.requests_per_minute,
    'minuteUsed', p_minute_used,
    'minuteRemaining', greatest(p_plan.requests_per_minute - p_minute_used, 0),
    'minuteResetAt', extract(epoch from date_trunc('minute', p_now) + interval '1 minute')::bigint,
    'monthlyQuota', p_plan.monthly_quota,
    'monthUsed', p_month_used,
    'monthRemaining', case when p_plan.monthly_quota is null then null
                           else greatest(p_plan.monthly_quota - p_month_used, 0) end,
    'periodStart', v_period,
    'periodEnd', (v_period + interval '1 month')::date,
    'maxCostPerRequest', p_plan.max_cost_per_request);
end
$$;
revoke execute on function private.quota_json(public.plans, timestamptz, integer, integer) from public, anon, authenticated;
grant execute on function private.quota_json(public.plans, timestamptz, integer, integer) to service_role;

-- What the user has left right now.
create or replace function private.quota_snapshot(p_user_id uuid, p_now timestamptz default clock_timestamp())
returns jsonb
language plpgsql stable set search_path = '' as $$
declare
  v_plan public.plans := private.effective_plan(p_user_id);
  c public.request_counters;
begin
  if v_plan.tier is null then
    return null;
  end if;
  select * into c from public.request_counters where user_id = p_user_id;
  return private.quota_json(
    v_plan, p_now,
    case when c.minute_window >= date_trunc('minute', p_now) then c.minute_count else 0 end,
    case when c.period_start >= date_trunc('month', p_now at time zone 'utc')::date then c.period_requests
         else 0 end);
end
$$;

-- Admission as before (metering.sql); its answer's quota comes from the plan and counts in hand,
-- and a conversation it creates is not touched a second time.
create or replace function public.admit_request(p_user_id uuid, p_request_id uuid, p_candidates jsonb, p_routed boolean DEFAULT false, p_conversation_id uuid DEFAULT NULL::uuid, p_user_message text DEFAULT NULL::text, p_title text DEFAULT NULL::text, p_fallbacks jsonb DEFAULT '[]'::jsonb, p_idempotency_key text DEFAULT NULL::text, p_request_hash text DEFAULT NULL::text, p_cache_hash text DEFAULT NULL::text, p_default_options jsonb DEFAULT '[]'::jsonb, p_session_id uuid DEFAULT NULL::uuid)

returns jsonb
language plpgsql security definer set search_path = '' as $function$
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
  v_created boolean := false;
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
    v_created := true;
  end if;
  if v_conversation is not null and p_user_message is not null then
    insert into public.messages (conversation_id, user_id, role, content, request_id)
      values (v_conversation, p_user_id, 'user', p_user_message, p_request_id)
      returning id into v_message;
    -- a conversation created just now is already as new as it gets
    if not v_created then
      update public.conversations set updated_at = v_now where id = v_conversation;
    end if;
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
        'quota', private.quota_json(v_plan, v_now, v_minute_count + 1, v_period_requests + 1));
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
    'quota', private.quota_json(v_plan, v_now, v_minute_count + 1, v_period_requests + 1));
end
$function$;

-- Settlement as before (metering.sql), without the quota snapshot nobody read.
create or replace function public.settle_request(p_request_id uuid, p_input_tokens integer, p_output_tokens integer, p_cost numeric, p_price_version text, p_latency_ms integer, p_status text, p_content text DEFAULT NULL::text, p_message_id uuid DEFAULT NULL::uuid, p_model text DEFAULT NULL::text, p_provider text DEFAULT NULL::text, p_cache_hash text DEFAULT NULL::text, p_cache_ttl_seconds integer DEFAULT 3600)

returns jsonb
language plpgsql security definer set search_path = '' as $function$
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

  return jsonb_build_object('settled', true, 'messageId', v_message);
end
$function$;
