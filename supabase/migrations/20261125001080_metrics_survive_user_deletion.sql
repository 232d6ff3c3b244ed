-- Metrics counters that survive a user's deletion.
--
-- The metrics are totals read from what Postgres recorded (requests, usage_records,
-- provider_attempts), and deleting a user deletes his rows (on delete cascade): every counter
-- fell by his history, which Prometheus reads as a counter reset (rate() then counts the whole
-- remaining total as new growth). Before a user's rows go, what they counted is added to
-- retired totals, and the snapshot adds those to the live ones. Only deletions pay for this.

create table public.retired_request_totals (
  provider text not null,
  model text not null,
  outcome text not null,
  requests bigint not null check (requests >= 0),
  cost numeric not null check (cost >= 0),
  input_tokens bigint not null check (input_tokens >= 0),
  output_tokens bigint not null check (output_tokens >= 0),
  retries bigint not null check (retries >= 0),
  primary key (provider, model, outcome)
);

-- latencies by the millisecond, so the histogram's buckets can still be chosen when it is read
create table public.retired_latencies (
  latency_ms integer primary key,
  requests bigint not null check (requests >= 0)
);

create table public.retired_attempt_totals (
  provider text not null,
  outcome text not null,
  attempts bigint not null check (attempts >= 0),
  primary key (provider, outcome)
);

-- Operational data: only the service role (the admin endpoint) reads it; all of public's tables
-- grant it every privilege (20261125001030).
alter table public.retired_request_totals enable row level security;
alter table public.retired_latencies enable row level security;
alter table public.retired_attempt_totals enable row level security;
revoke all on public.retired_request_totals, public.retired_latencies, public.retired_attempt_totals
  from public, anon, authenticated;
grant select, insert, update, delete on public.retired_request_totals, public.retired_latencies, public.retired_attempt_totals
  to service_role;

-- Runs before the row goes, so before its cascades: the user's ended requests are still there.
-- Requests still in flight count nowhere yet (the in-flight gauge simply loses them).
create function private.retire_user_metrics() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  -- His requests first, locked: one ending as he is deleted is waited for (and then counted as
  -- ended), one ending after waits for the deletion and finds its request gone.
  perform 1 from public.requests where user_id = old.id order by id for update;
  insert into public.retired_request_totals as t
    (provider, model, outcome, requests, cost, input_tokens, output_tokens, retries)
  select r.provider, r.model,
         case when r.status = 'settled' then coalesce(u.status, 'complete') else 'released' end,
         count(*), coalesce(sum(u.cost), 0), coalesce(sum(u.input_tokens), 0), coalesce(sum(u.output_tokens), 0),
         coalesce(sum(u.retries), 0)
  from public.requests r left join public.usage_records u on u.request_id = r.id
  where r.user_id = old.id and r.status <> 'admitted'
  group by 1, 2, 3
  order by 1, 2, 3 -- one lock order for concurrent deletions
  on conflict (provider, model, outcome) do update set
    requests = t.requests + excluded.requests, cost = t.cost + excluded.cost,
    input_tokens = t.input_tokens + excluded.input_tokens, output_tokens = t.output_tokens + excluded.output_tokens,
    retries = t.retries + excluded.retries;

  insert into public.retired_latencies as t (latency_ms, requests)
  select latency_ms, count(*) from public.usage_records
  where user_id = old.id and latency_ms is not null and status <> 'cached'
  group by 1 order by 1
  on conflict (latency_ms) do update set requests = t.requests + excluded.requests;

  insert into public.retired_attempt_totals as t (provider, outcome, attempts)
  select a.provider, a.outcome, count(*)
  from public.provider_attempts a join public.requests r on r.id = a.request_id
  where r.user_id = old.id
  group by 1, 2 order by 1, 2
  on conflict (provider, outcome) do update set attempts = t.attempts + excluded.attempts;
  return old;
end
$$;
revoke execute on function private.retire_user_metrics() from public, anon, authenticated;

create trigger on_auth_user_deleted_retire_metrics before delete on auth.users
  for each row execute function private.retire_user_metrics();

-- As 20261125001050's, each family the live rows' totals plus the retired ones.
create or replace function public.metrics_snapshot(p_latency_buckets_ms integer[]) returns jsonb
language sql stable security definer set search_path = '' as $$
  with ended as (
    select r.provider, r.model,
           case when r.status = 'settled' then coalesce(u.status, 'complete') else 'released' end as outcome,
           count(*) as requests, coalesce(sum(u.cost), 0) as cost, coalesce(sum(u.input_tokens), 0) as input_tokens,
           coalesce(sum(u.output_tokens), 0) as output_tokens, coalesce(sum(u.retries), 0) as retries
    from public.requests r left join public.usage_records u on u.request_id = r.id
    where r.status <> 'admitted'
    group by 1, 2, 3
    union all
    select provider, model, outcome, requests, cost, input_tokens, output_tokens, retries
    from public.retired_request_totals
  ),
  latencies as (
    select latency_ms, count(*) as n from public.usage_records
    where latency_ms is not null and status <> 'cached' group by 1
    union all
    select latency_ms, requests from public.retired_latencies
  )
  select jsonb_build_object(
    'requests', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'model', model, 'outcome', outcome,
                                                   'count', n)), '[]'::jsonb)
      from (select provider, model, outcome, sum(requests) as n from ended group by 1, 2, 3) t),
    'inFlight', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'model', model, 'count', n)), '[]'::jsonb)
      from (select provider, model, count(*) as n from public.requests where status = 'admitted' group by 1, 2) t),
    -- width_bucket over (latency - 1) gives how many bounds lie below the latency, so index i
    -- means "at most bound i" (Prometheus's `le`); the endpoint sums them cumulatively.
    'latency', (
      select jsonb_build_object(
        'bucketCounts', (select coalesce(jsonb_object_agg(i, n), '{}'::jsonb)
                         from (select width_bucket(latency_ms - 1, p_latency_buckets_ms) as i, sum(n) as n
                               from latencies group by 1) b),
        'count', coalesce(sum(n), 0),
        'sumMs', coalesce(sum(latency_ms::bigint * n), 0))
      from latencies),
    'refusals', (
      select coalesce(jsonb_agg(jsonb_build_object('function', function_name, 'reason', reason, 'count', n)),
                      '[]'::jsonb)
      from (select function_name, reason, sum(count) as n from public.refusal_tallies group by 1, 2) t),
    'attempts', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'outcome', outcome, 'count', n)),
                      '[]'::jsonb)
      from (select provider, outcome, sum(n) as n
            from (select provider, outcome, count(*) as n from public.provider_attempts group by 1, 2
                  union all
                  select provider, outcome, attempts from public.retired_attempt_totals) a
            group by 1, 2) t),
    'retries', (select coalesce(sum(retries), 0) from ended),
    'breakerOpenings', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'count', n)), '[]'::jsonb)
      from (select provider, count(*) as n from public.breaker_openings group by 1) t),
    'cost', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'model', model, 'usd', usd::text)),
                      '[]'::jsonb)
      from (select provider, model, sum(cost) as usd from ended
            group by 1, 2 having bool_or(outcome <> 'released')) t),
    'tokens', (
      select jsonb_build_object('input', coalesce(sum(input_tokens), 0), 'output', coalesce(sum(output_tokens), 0))
      from ended)
  );
$$;

revoke execute on function public.metrics_snapshot(integer[]) from public, anon, authenticated;
grant execute on function public.metrics_snapshot(integer[]) to service_role;
