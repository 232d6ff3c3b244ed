-- An Idempotency-Key replays an answer, not a failure.
--
-- A request settled with a partial answer (its client left mid-stream, or its provider broke
-- off or ran out of time) was replayed, truncated, to every retry under the same key: the very
-- retry a client makes after a dropped connection got the broken answer back as a success. Now
-- such a settlement frees the key, as a release always did: the next retry is a new request,
-- admitted and charged as one (the broken one stays charged for what it produced). Complete and
-- cached answers keep replaying.

-- (found by request: also what a request's deletion cascades through)
create index idempotency_keys_request_id on public.idempotency_keys (request_id);

create function private.free_key_of_broken_answer() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  delete from public.idempotency_keys where request_id = new.request_id;
  return null;
end
$$;

create trigger usage_records_free_key_of_broken_answer after insert on public.usage_records
  for each row when (new.status not in ('complete', 'cached'))
  execute function private.free_key_of_broken_answer();

revoke execute on function private.free_key_of_broken_answer() from public, anon, authenticated;
