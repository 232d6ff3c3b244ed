-- Conversations under concurrency (review of conversations and members):
-- - An answer in flight when its requester was removed from the conversation was still stored
--   there (and announced to the remaining members). It is now billed, and stored only while its
--   requester is a member.
-- - An answer served from the response cache was dated before its own question: the request's
--   admission time is its transaction's start, its question is stored after the counters' lock
--   wait, and a cache hit's latency is 0. An answer is now never dated before its question.

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

  -- Stored only while its requester is still a member: an answer that arrives after its
  -- requester was removed is billed to him, but adds nothing to the others' conversation.
  -- (read without a lock: a row lock is a write on every settlement, and a removal committing in
  -- the same instant as the answer may as well come after it)
  if r.conversation_id is not null and p_content is not null and exists (
    select 1 from public.conversation_members where conversation_id = r.conversation_id and user_id = r.user_id
  ) then
    insert into public.messages (id, conversation_id, user_id, role, content, model, request_id, cost,
                                 input_tokens, output_tokens, status, created_at)
    values (coalesce(p_message_id, extensions.gen_random_uuid()), r.conversation_id, r.user_id, 'assistant',
            p_content, r.model, r.id, p_cost, p_input_tokens,
            p_output_tokens, case when p_status in ('complete', 'cached') then 'complete'
                                  when p_status = 'error' then 'error' else 'partial' end,
            -- when the answer was produced (the latency runs from after admission to its end),
            -- and never before its question (stored after the admission's lock wait: a cache
            -- hit's latency of 0 dated the answer before it); so before any question asked after it
            greatest(r.admitted_at + make_interval(secs => greatest(p_latency_ms, 0) / 1000.0),
                     (select max(q.created_at) from public.messages q
                      where q.conversation_id = r.conversation_id and q.created_at >= r.admitted_at
                        and q.request_id = r.id and q.role = 'user'))
              + interval '1 microsecond')
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
