-- Monitoring that survives function instances coming and going: what each request did is
-- written to Postgres after its answer (never on the hot path), and the admin metrics endpoint
-- reads it back in aggregate.
--   provider_attempts   one row per provider call (and per call skipped by an open circuit)
--   usage_records       gains retries and error_class beside its latency_ms and status
--   refusal_tallies     refused requests per minute, function and reason, flushed in batches
--   breaker_openings    each time an instance's circuit for a provider opened

create table public.provider_attempts (
  id bigint generated always as identity primary key,
  request_id uuid not null references public.requests (id) on delete cascade,
  attempt smallint not null check (attempt >= 1),
  provider text not null,
  model text not null,
  -- ok, or why it failed: rate_limited (429), overloaded (503/529), timeout, server_error (5xx),
  -- client_error (4xx), network, circuit_open (not called: the provider's circuit was open)
  outcome text not null check (outcome in ('ok', 'rate_limited', 'overloaded', 'timeout', 'server_error',
                                           'client_error', 'network', 'circuit_open')),
  http_status smallint,
  latency_ms integer not null check (latency_ms >= 0),
  created_at timestamptz not null default now()
);
create index provider_attempts_request_idx on public.provider_attempts (request_id);
create index provider_attempts_created_idx on public.provider_attempts (created_at);

alter table public.usage_records
  add column retries smallint not null default 0 check (retries >= 0),
  add column error_class text;
-- Released requests keep why (no_output, client_disconnected, provider_error, …) for the metrics.
alter table public.requests add column release_reason text;

create table public.refusal_tallies (
  minute timestamptz not null,
  function_name text not null,
  reason text not null,
  count bigint not null check (count >= 0),
  primary key (minute, function_name, reason)
);

create table public.breaker_openings (
  id bigint generated always as identity primary key,
  provider text not null,
  opened_at timestamptz not null default now()
);
create index breaker_openings_opened_idx on public.breaker_openings (opened_at);

-- Operational data: only the service role (functions, the admin endpoint) reads or writes it.
alter table public.provider_attempts enable row level security;
alter table public.refusal_tallies enable row level security;
alter table public.breaker_openings enable row level security;
revoke all on public.provider_attempts, public.refusal_tallies, public.breaker_openings
  from public, anon, authenticated;

-- Remembers release reasons from now on (release_request's signature and grants are unchanged).
create or replace function public.release_request(p_request_id uuid, p_reason text) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  r public.requests;
begin
  update public.requests set status = 'released', ended_at = now(), release_reason = p_reason
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

-- The provider calls a request made, recorded after it ended. `p_ended` is the result of the
-- settle_request/release_request call made in the same statement: taking it as an argument
-- makes Postgres end the request first, so the usage record it created is there to annotate.
-- Recording twice for one request is a no-op (a request ends once; so is its log). A request
-- answered by its first call has no retries and no error class: its fresh usage record is not
-- rewritten (an UPDATE would leave a dead row version behind on every settlement).
create function public.record_attempts(p_request_id uuid, p_attempts jsonb, p_error_class text,
                                       p_ended jsonb default null)
returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_count integer;
  v_retries integer;
begin
  if exists (select 1 from public.provider_attempts where request_id = p_request_id) then
    return 0;
  end if;
  insert into public.provider_attempts (request_id, attempt, provider, model, outcome, http_status, latency_ms)
  select p_request_id, a.attempt, a.provider, a.model, a.outcome, a.http_status, greatest(a.latency_ms, 0)
  from jsonb_to_recordset(coalesce(p_attempts, '[]'::jsonb))
    as a(attempt smallint, provider text, model text, outcome text, http_status smallint, latency_ms integer)
  where exists (select 1 from public.requests where id = p_request_id);
  get diagnostics v_count = row_count;
  -- retries: calls beyond the first (circuit-open skips are not calls)
  select greatest(count(*) - 1, 0) into v_retries
  from jsonb_array_elements(coalesce(p_attempts, '[]'::jsonb)) a
  where a ->> 'outcome' <> 'circuit_open';
  if v_count > 0 and (v_retries > 0 or p_error_class is not null) then
    update public.usage_records set retries = v_retries, error_class = p_error_class
    where request_id = p_request_id;
  end if;
  return v_count;
end
$$;

-- Refusals counted by a function instance since its last flush: [{"reason","count"}].
create function public.record_refusals(p_function text, p_tallies jsonb) returns void
language sql security definer set search_path = '' as $$
  insert into public.refusal_tallies (minute, function_name, reason, count)
  select date_trunc('minute', now()), p_function, t.reason, t.count
  from jsonb_to_recordset(p_tallies) as t(reason text, count bigint)
  where t.count > 0
  on conflict (minute, function_name, reason) do update
    set count = public.refusal_tallies.count + excluded.count;
$$;

create function public.record_breaker_opening(p_provider text) returns void
language sql security definer set search_path = '' as $$
  insert into public.breaker_openings (provider) values (p_provider);
$$;

-- Everything GET /admin/metrics reports, as totals since the beginning (Prometheus counters):
-- requests by provider, model and outcome; latency histogram of answered requests; refusals by
-- reason; provider attempts by provider and outcome; breaker openings; cost.
create function public.metrics_snapshot(p_latency_buckets_ms integer[]) returns jsonb
language sql stable security definer set search_path = '' as $$
  select jsonb_build_object(
    'requests', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'model', model, 'outcome', outcome,
                                                   'count', n)), '[]'::jsonb)
      from (select r.provider, r.model,
                   case when r.status = 'settled' then coalesce(u.status, 'complete')
                        when r.status = 'released' then 'released'
                        else 'in_flight' end as outcome,
                   count(*) as n
            from public.requests r left join public.usage_records u on u.request_id = r.id
            group by 1, 2, 3) t),
    -- one pass: width_bucket over (latency - 1) gives how many bounds lie below the latency, so
    -- index i means "at most bound i" (Prometheus's `le`); the endpoint sums them cumulatively.
    'latency', (
      select jsonb_build_object(
        'bucketCounts', (select coalesce(jsonb_object_agg(i, n), '{}'::jsonb)
                         from (select width_bucket(latency_ms - 1, p_latency_buckets_ms) as i, count(*) as n
                               from public.usage_records where latency_ms is not null group by 1) b),
        'count', count(*),
        'sumMs', coalesce(sum(latency_ms), 0))
      from public.usage_records where latency_ms is not null),
    'refusals', (
      select coalesce(jsonb_agg(jsonb_build_object('function', function_name, 'reason', reason, 'count', n)),
                      '[]'::jsonb)
      from (select function_name, reason, sum(count) as n from public.refusal_tallies group by 1, 2) t),
    'attempts', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'outcome', outcome, 'count', n)),
                      '[]'::jsonb)
      from (select provider, outcome, count(*) as n from public.provider_attempts group by 1, 2) t),
    'retries', (select coalesce(sum(retries), 0) from public.usage_records),
    'breakerOpenings', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'count', n)), '[]'::jsonb)
      from (select provider, count(*) as n from public.breaker_openings group by 1) t),
    'cost', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'model', model, 'usd', usd::text)),
                      '[]'::jsonb)
      from (select provider, model, sum(cost) as usd from public.usage_records group by 1, 2) t),
    'tokens', (
      select jsonb_build_object('input', coalesce(sum(input_tokens), 0), 'output', coalesce(sum(output_tokens), 0))
      from public.usage_records)
  );
$$;

revoke execute on function public.record_attempts(uuid, jsonb, text, jsonb),
  public.record_refusals(text, jsonb), public.record_breaker_opening(text),
  public.metrics_snapshot(integer[])
  from public, anon, authenticated;
grant execute on function public.record_attempts(uuid, jsonb, text, jsonb),
  public.record_refusals(text, jsonb), public.record_breaker_opening(text),
  public.metrics_snapshot(integer[])
  to service_role;

-- The identity sequences above are written only by security-definer functions; the API roles
-- get none of the default privileges new sequences receive in this schema.
revoke all on all sequences in schema public from anon, authenticated;
