-- A provider call that answered and then broke (its stream cut or failed, its body cut) is
-- logged with the class of that failure: stream_error (or timeout) instead of ok. Until now
-- nexus_provider_errors_total counted only failures before the first byte, so a provider whose
-- streams broke halfway looked healthy.

alter table public.provider_attempts drop constraint provider_attempts_outcome_check;
alter table public.provider_attempts add constraint provider_attempts_outcome_check
  check (outcome in ('ok', 'rate_limited', 'overloaded', 'timeout', 'server_error', 'client_error', 'network',
                     'circuit_open', 'stream_error'));
