-- The housekeeping jobs, scheduled with pg_cron (Supabase's scheduler) wherever it is preloaded,
-- as on every hosted project: operators no longer have to remember them, and forgetting them
-- only showed in production (abandoned requests holding quota and key reservations for good).
--   release_stale_requests: requests whose function instance died before it could end them
--     (released after the 15-minute grace; checked every minute);
--   purge_expired: expired response-cache entries and idempotency keys (every 10 minutes);
--   reset_monthly_requests: tidies counters on the 1st (admission rolls months over by itself).
-- Jobs run as the role that scheduled them (postgres), which the service-only functions accept.
-- Scheduling the same job name again replaces it, so this is safe to apply again. Where pg_cron
-- is not available (a bare Postgres), nothing is scheduled and the operator runs the three
-- statements another way (the local stack also sweeps by itself).

do $$
begin
  if not exists (select 1 from pg_available_extensions where name = 'pg_cron')
     or current_setting('shared_preload_libraries', true) not like '%pg_cron%' then
    raise notice 'pg_cron is not available: schedule release_stale_requests, purge_expired and '
                 'reset_monthly_requests yourself';
    return;
  end if;
  create extension if not exists pg_cron with schema pg_catalog;
  perform cron.schedule('nexus-release-stale-requests', '* * * * *', 'select public.release_stale_requests()');
  perform cron.schedule('nexus-purge-expired', '*/10 * * * *', 'select public.purge_expired()');
  perform cron.schedule('nexus-reset-monthly-requests', '5 0 1 * *', 'select public.reset_monthly_requests()');
end
$$;
