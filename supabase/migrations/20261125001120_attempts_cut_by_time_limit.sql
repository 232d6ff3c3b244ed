-- A provider call our own request time limit cut short (the request ran out of time while it
-- waited) is logged as time_limit: it was made and took time, so it belongs in the attempt log,
-- but it is no failure of the provider's (nexus_provider_errors_total leaves it out, and the
-- provider's circuit breaker does not count it).

alter table public.provider_attempts drop constraint provider_attempts_outcome_check;
alter table public.provider_attempts add constraint provider_attempts_outcome_check
  check (outcome in ('ok', 'rate_limited', 'overloaded', 'timeout', 'server_error', 'client_error', 'network',
                     'circuit_open', 'stream_error', 'time_limit'));
