-- record_attempts, lighter on the common path: a request answered by its first call has no
-- retries and no error class, so its fresh usage record is not rewritten (an UPDATE leaves a
-- dead row version behind on every settlement). Same results as before.

create or replace function public.record_attempts(p_request_id uuid, p_attempts jsonb, p_error_class text,
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

-- The monitoring tables' identity sequences are written only by security-definer functions; the
-- API roles get none of the default privileges new sequences receive in this schema.
revoke all on all sequences in schema public from anon, authenticated;
