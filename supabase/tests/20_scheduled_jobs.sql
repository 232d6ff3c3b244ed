-- The housekeeping jobs are scheduled with pg_cron (20261125001040_scheduled_jobs.sql), as they
-- are on a hosted project, and each runs as the role that scheduled them. Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(5);

select has_extension('pg_cron', 'pg_cron is installed (preloaded by the local stack, as on Supabase)');
select is(
  (select string_agg(jobname || ' | ' || schedule || ' | ' || command, E'\n' order by jobname)
   from cron.job where jobname like 'nexus-%'),
  E'nexus-purge-expired | */10 * * * * | select public.purge_expired()\n'
  'nexus-release-stale-requests | * * * * * | select public.release_stale_requests()\n'
  'nexus-reset-monthly-requests | 5 0 1 * * | select public.reset_monthly_requests()',
  'the sweeper every minute, the purge every 10 minutes, the monthly reset on the 1st');
select is((select count(distinct username)::int from cron.job where jobname like 'nexus-%'), 1,
  'all run as one role');
select ok((select bool_and(username = 'postgres') from cron.job where jobname like 'nexus-%'),
  'the role that applied the migrations, which the service-only functions accept');
select lives_ok($$select public.release_stale_requests(); select public.purge_expired();
                  select public.reset_monthly_requests()$$,
  'each job''s command runs as that role');

select * from finish();
rollback;
