-- API-key budgets held exactly under concurrency: a reservation per request in flight.
--
-- Until now admission compared only `period_spend >= monthly_budget`, without a lock, and spend
-- grew only at settlement, after the response: any number of requests admitted at once (or one
-- after another, before the previous settlement committed) each spent up to their worst case, so
-- a key with $0.01 left of $5 could be charged $200.
--
-- Now the key's row is locked at admission and a request is admitted only if
--   spent this month + reserved + its worst-case cost <= monthly_budget,
-- where `reserved` is the sum of the worst cases of the key's requests still in flight. The
-- worst case is added to `reserved` at admission (and remembered on the request, as
-- `reserved_cost`) and taken off exactly once, when the request leaves 'admitted': settled (the
-- actual cost then goes to `period_spend`, as before) or released, by whatever path (release,
-- end_requests, the stale-request sweeper). The request's status changes once, guarded by
-- `status = 'admitted'`, and the trigger below fires on that change only, so the reservation
-- is returned once, whichever path ends the request. Requests in flight when this migration runs
-- held nothing (their reserved_cost is null) and return nothing.
--
-- Month boundary: `period_spend` is this month's spend and starts again at 0 with the month, as
-- before (the month of the settlement decides). Reservations belong to requests in flight,
-- whatever month they were admitted in: one admitted on the 31st and still running at midnight
-- holds its worst case against the new month, which is where its settlement will be charged.
--
-- A budgeted key's request only goes to models whose worst case fits what is left: candidates
-- that do not fit are dropped before the plan's choice (the router picks among those that do,
-- as it does under the plan's cost cap), and fallbacks are kept only when their worst case is no
-- more than the reservation, so no fallback can spend more than was set aside.
--
-- Lock order, one for every path (no deadlocks between admissions, settlements and releases):
--   a request's row -> its API key -> the user's request_counters -> the user's totals.
-- Admission locks the key first, then admit_request locks the counters (the request row it
-- inserts is its own). Settlement and release update the request row first; its trigger takes
-- the key before settle_request charges the totals or release_request gives counts back.
-- end_requests ends many requests in one transaction: it takes all their locks first, in this
-- order (see below), and the sweeper now ends its stale requests through it.

alter table public.api_keys add column reserved_spend numeric not null default 0 check (reserved_spend >= 0);
comment on column public.api_keys.reserved_spend is
  'USD held by this key''s requests in flight: the sum of their reserved_cost (admission adds, their end removes)';
alter table public.requests add column reserved_cost numeric check (reserved_cost >= 0);
comment on column public.requests.reserved_cost is
  'USD of its API key''s budget this request held while admitted (its worst case); null: it held nothing';

-- The owner sees what is held; writing stays closed (no update grant on api_keys at all).
grant select (reserved_spend) on public.api_keys to authenticated;

-- A request that stops being in flight gives its key's reservation back (exactly once: the
-- status leaves 'admitted' once).
create function private.return_key_reservation() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  update public.api_keys set reserved_spend = reserved_spend - old.reserved_cost where id = old.api_key_id;
  return null;
end
$$;

create trigger requests_return_key_reservation after update of status on public.requests
  for each row when (old.status = 'admitted' and new.status <> 'admitted' and old.reserved_cost is not null)
  execute function private.return_key_reservation();

-- Admission through a key: the key must be live and its budget must hold this request's worst
-- case next to what is spent and reserved; then the request is admitted as its user, remembers
-- the key and reserves its worst case. One round trip, as for a signed-in user.
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
    if jsonb_array_length(v_candidates) = 0 then
      select min((c ->> 'worstCaseCost')::numeric) into v_cheapest from jsonb_array_elements(p_candidates) c;
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
    select coalesce(jsonb_agg(c order by i), '[]') into v_default_options
      from jsonb_array_elements(p_default_options) with ordinality as t(c, i)
      where (c ->> 'worstCaseCost')::numeric <= v_left;
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

-- end_requests (end_requests.sql) ends many requests in one transaction, in the order of their
-- users: ending one locks its user's counters or totals, and the next one's request row or key
-- after them would invert the lock order above (a deadlock with a request being ended at the same
-- time by another path, or with an admission through that key). So a batch of more than one
-- ending first locks all of its open requests, then their keys, then the counters of the users
-- whose requests it releases, each in key order; then applies the endings as before (the body is
-- unchanged, under a private name). A single ending takes its locks in the right order by itself.
alter function public.end_requests(jsonb) rename to apply_endings;
alter function public.apply_endings(jsonb) set schema private;

create function public.end_requests(p_endings jsonb) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_ids uuid[];
begin
  if jsonb_typeof(p_endings) = 'array' and jsonb_array_length(p_endings) > 1 then
    select array_agg((e ->> 'requestId')::uuid) into v_ids from jsonb_array_elements(p_endings) e;
    perform 1 from public.requests r where r.id = any(v_ids) and r.status = 'admitted'
      order by r.id for update;
    perform 1 from public.api_keys k
      where k.id in (select r.api_key_id from public.requests r where r.id = any(v_ids) and r.status = 'admitted')
      order by k.id for update;
    perform 1 from public.request_counters c
      where c.user_id in (select r.user_id from jsonb_array_elements(p_endings) e
                          join public.requests r on r.id = (e ->> 'requestId')::uuid
                          where e ->> 'kind' = 'release' and r.status = 'admitted')
      order by c.user_id for update;
  end if;
  return private.apply_endings(p_endings);
end
$$;

-- The sweeper ends its stale requests as one batch of releases, so it takes locks in the same
-- order as every other batch.
create or replace function public.release_stale_requests(p_older_than interval default interval '15 minutes')
returns integer
language plpgsql security definer set search_path = '' as $$
begin
  return public.end_requests(coalesce(
    (select jsonb_agg(jsonb_build_object('kind', 'release', 'requestId', id, 'reason', 'stale') order by id)
     from public.requests where status = 'admitted' and admitted_at < now() - p_older_than),
    '[]'));
end
$$;

revoke execute on function public.end_requests(jsonb), public.release_stale_requests(interval)
  from public, anon, authenticated;
grant execute on function public.end_requests(jsonb), public.release_stale_requests(interval) to service_role;
revoke execute on all functions in schema private from public, anon, authenticated;
