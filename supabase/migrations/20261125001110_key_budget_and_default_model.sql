-- A budgeted API key, a user who turned the smart router off, and a request the router found no
-- model for: the budget was checked against the router's candidates alone, found none fitting
-- (there were none) and refused, although admission would have answered with the user's default
-- model (p_default_options). The budget now refuses only when nothing admission may pick from
-- fits: the candidates, plus the default model's options when the router is off. Otherwise as in
-- 20261125001010_api_key_budget_reservations.sql.

create or replace function public.admit_key_request(
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
  v_spent numeric;
  v_left numeric;
  v_candidates jsonb := p_candidates;
  v_default_options jsonb := p_default_options;
  v_cheapest numeric;
  v_default jsonb;
  v_options jsonb;
  v_result jsonb;
  v_worst numeric;
  v_reserved numeric;
begin
  -- Locked before admit_request locks the user's counters (see the lock order above).
  select * into k from public.api_keys where key_hash = p_key_hash and revoked_at is null for update;
  if not found then
    return jsonb_build_object('admitted', false, 'code', 'unauthorized', 'message', 'Invalid API key');
  end if;

  if k.monthly_budget is not null then
    -- the clock is read after the lock, as admit_request does
    v_spent := case when k.period_start >= date_trunc('month', clock_timestamp() at time zone 'utc')::date
                    then k.period_spend else 0 end;
    v_left := k.monthly_budget - v_spent - k.reserved_spend;
    select coalesce(jsonb_agg(c order by i), '[]') into v_candidates
      from jsonb_array_elements(p_candidates) with ordinality as t(c, i)
      where (c ->> 'worstCaseCost')::numeric <= v_left;
    select coalesce(jsonb_agg(c order by i), '[]') into v_default_options
      from jsonb_array_elements(p_default_options) with ordinality as t(c, i)
      where (c ->> 'worstCaseCost')::numeric <= v_left;
    -- What admission may pick from: the candidates and, for a user who turned the router off,
    -- his default model if his plan allows it (admit_request prefers it; the router may have
    -- found nothing at all). Refused for the budget only when none of those fits.
    select coalesce(jsonb_agg(c), '[]') into v_default
      from public.profiles p, jsonb_array_elements(p_default_options) c
      where p.id = k.user_id and p_routed and not p.smart_router and c ->> 'model' = p.default_model
        and private.plan_allows(private.effective_plan(k.user_id), c);
    v_options := p_candidates || v_default;
    if jsonb_array_length(v_options) > 0 and not exists (
      select 1 from jsonb_array_elements(v_options) c where (c ->> 'worstCaseCost')::numeric <= v_left
    ) then
      select min((c ->> 'worstCaseCost')::numeric) into v_cheapest from jsonb_array_elements(v_options) c;
      return jsonb_build_object('admitted', false, 'code', 'quota_exceeded',
        'message', case
          when v_spent >= k.monthly_budget
            then format('API key "%s" has used its monthly budget of $%s', k.name, trim_scale(k.monthly_budget))
          else format('API key "%s" has $%s left of its monthly budget of $%s ($%s spent, $%s held by requests '
                      'in progress): not enough for this request''s worst-case cost of $%s',
                      k.name, trim_scale(greatest(v_left, 0)), trim_scale(k.monthly_budget), trim_scale(v_spent),
                      trim_scale(k.reserved_spend), trim_scale(v_cheapest))
        end,
        'details', jsonb_build_object('keyId', k.id, 'monthlyBudget', trim_scale(k.monthly_budget)::text,
                                      'spent', trim_scale(v_spent)::text,
                                      'reserved', trim_scale(k.reserved_spend)::text,
                                      'worstCaseCost', trim_scale(v_cheapest)::text),
        'quota', private.quota_snapshot(k.user_id));
    end if;
  end if;

  v_result := public.admit_request(k.user_id, p_request_id, v_candidates, p_routed, null, null, null,
                                   p_fallbacks, p_idempotency_key, p_request_hash, p_cache_hash, v_default_options,
                                   null);
  if (v_result ->> 'admitted')::boolean then
    -- A cache hit was settled inside admit_request: nothing in flight, nothing to reserve.
    update public.requests set api_key_id = k.id,
                               reserved_cost = case when status = 'admitted' then worst_case_cost end
      where id = p_request_id
      returning reserved_cost, worst_case_cost into v_reserved, v_worst;
    update public.api_keys set reserved_spend = reserved_spend + coalesce(v_reserved, 0), last_used_at = now()
      where id = k.id;
    if v_reserved is null then
      -- the cache hit's usage record was written before the request knew its key
      update public.usage_records set api_key_id = k.id where request_id = p_request_id and api_key_id is null;
    elsif k.monthly_budget is not null then
      v_result := v_result || jsonb_build_object('fallbacks', (
        select coalesce(jsonb_agg(f order by i), '[]')
        from jsonb_array_elements_text(v_result -> 'fallbacks') with ordinality as t(f, i)
        where not exists (select 1 from jsonb_array_elements(p_candidates || p_fallbacks) c
                          where c ->> 'model' = f
                            and coalesce((c ->> 'worstCaseCost')::numeric > v_worst, true))));
    end if;
  end if;
  return v_result || jsonb_build_object('userId', k.user_id, 'keyId', k.id);
end
$$;
