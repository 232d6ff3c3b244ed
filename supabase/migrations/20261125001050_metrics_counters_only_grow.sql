-- Metrics a Prometheus server can rate() correctly.
--
-- nexus_requests_total counted requests still in flight under outcome="in_flight": a number that
-- falls as they end, inside a counter, which Prometheus reads as a restart (rate() then counts the
-- fall as growth, inflating every request rate in proportion to traffic). The counter now counts
-- ended requests only; requests in flight are a gauge of their own (inFlight ->
-- nexus_requests_in_flight). And cache hits, settled with a latency of 0, are left out of the
-- latency histogram: a high hit rate made provider latency look better than it was.

create or replace function public.metrics_snapshot(p_latency_buckets_ms integer[]) returns jsonb
language sql stable security definer set search_path = '' as $$
  select jsonb_build_object(
    'requests', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'model', model, 'outcome', outcome,
                                                   'count', n)), '[]'::jsonb)
      from (select r.provider, r.model,
                   case when r.status = 'settled' then coalesce(u.status, 'complete') else 'released' end
                     as outcome,
                   count(*) as n
            from public.requests r left join public.usage_records u on u.request_id = r.id
            where r.status <> 'admitted'
            group by 1, 2, 3) t),
    'inFlight', (
      select coalesce(jsonb_agg(jsonb_build_object('provider', provider, 'model', model, 'count', n)), '[]'::jsonb)
      from (select provider, model, count(*) as n from public.requests where status = 'admitted' group by 1, 2) t),
    -- one pass: width_bucket over (latency - 1) gives how many bounds lie below the latency, so
    -- index i means "at most bound i" (Prometheus's `le`); the endpoint sums them cumulatively.
    'latency', (
      select jsonb_build_object(
        'bucketCounts', (select coalesce(jsonb_object_agg(i, n), '{}'::jsonb)
                         from (select width_bucket(latency_ms - 1, p_latency_buckets_ms) as i, count(*) as n
                               from public.usage_records
                               where latency_ms is not null and status <> 'cached' group by 1) b),
        'count', count(*),
        'sumMs', coalesce(sum(latency_ms), 0))
      from public.usage_records where latency_ms is not null and status <> 'cached'),
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

revoke execute on function public.metrics_snapshot(integer[]) from public, anon, authenticated;
grant execute on function public.metrics_snapshot(integer[]) to service_role;
