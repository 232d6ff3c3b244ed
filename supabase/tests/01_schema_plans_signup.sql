-- Schema-wide guarantees, the seeded plans (DESIGN §3) and the sign-up trigger.
-- Self-contained: everything below is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(38);

\set alice 'a0000001-0000-4000-8000-000000000001'
\set bob   'a0000001-0000-4000-8000-000000000002'

-- ---------------------------------------------------------------------------------------------
-- RLS everywhere: asserted generically, so a table added later without RLS fails here.

select ok(
  (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p')) >= 10,
  'public holds the product''s tables (sanity check for the RLS assertions below)'
);

select is_empty(
  $$ select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity $$,
  'every table in public has row level security enabled'
);

-- A view owned by postgres would read its tables past RLS unless it is security_invoker.
select is_empty(
  $$ select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('v', 'm')
       and not coalesce(c.reloptions @> array['security_invoker=true'], false)
       and (has_table_privilege('anon', c.oid, 'select') or has_table_privilege('authenticated', c.oid, 'select')) $$,
  'no view in public exposes its tables past RLS to anon or authenticated'
);

-- RLS does not apply to TRUNCATE, and API roles must never write a table RLS does not guard.
select is_empty(
  $$ select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p')
       and (has_table_privilege('anon', c.oid, 'truncate, references, trigger')
            or has_table_privilege('authenticated', c.oid, 'truncate, references, trigger')) $$,
  'anon and authenticated hold no TRUNCATE, REFERENCES or TRIGGER privilege on any public table'
);
select is_empty(
  $$ select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p')
       and (has_table_privilege('anon', c.oid, 'insert, update, delete')
            or has_any_column_privilege('anon', c.oid, 'insert, update')) $$,
  'anon can insert, update or delete nothing in public'
);

-- Security-definer functions run as their owner: each must pin its search_path, and API roles
-- may call only the few meant for them.
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('public', 'private') and p.prosecdef
       and not exists (select 1 from unnest(p.proconfig) cfg where cfg like 'search_path=%') $$,
  'every security-definer function in public and private sets its search_path'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'public' and p.prosecdef and has_function_privilege('anon', p.oid, 'execute') $$,
  'anon can execute no security-definer function in public'
);
select is_empty(
  $$ select p.proname::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'public' and p.prosecdef and has_function_privilege('authenticated', p.oid, 'execute')
       and p.proname not in ('get_user_quota', 'can_make_request', 'is_conversation_member',
                             'conversation_member_profiles') $$,
  'authenticated can execute no security-definer function in public but the quota helpers and the membership checks'
);

-- ---------------------------------------------------------------------------------------------
-- Plans, exactly as DESIGN §3: tier, requests/min, monthly quota, max cost/request.

select set_eq(
  $$ select tier, requests_per_minute::bigint, monthly_quota::bigint, max_cost_per_request::numeric
     from public.plans $$,
  $$ values ('free'::text, 20::bigint, 100::bigint, 0.01::numeric),
            ('pro', 100, 10000, 0.10),
            ('team', 500, 100000, 1.00),
            ('enterprise', 10000, null::bigint, null::numeric) $$,
  'plans are seeded exactly as DESIGN §3 (enterprise: unlimited quota and cost = null)'
);

select hasnt_column('public', 'profiles', 'tier', 'profiles has no tier column a user could edit');

-- ---------------------------------------------------------------------------------------------
-- Sign-up: the trigger on auth.users.

insert into auth.users (id, email, raw_user_meta_data)
values (:'alice', 'pgtap-alice-01@example.test', '{"display_name": "Alice Liddell"}');
insert into auth.users (id, email, raw_user_meta_data)
values (:'bob', 'pgtap-bob-01@example.test', '{}');

select is((select count(*) from public.profiles where id = :'alice'), 1::bigint,
  'sign-up creates one profile');
select is((select email from public.profiles where id = :'alice'), 'pgtap-alice-01@example.test',
  'the profile carries the user''s email');
select is((select display_name from public.profiles where id = :'alice'), 'Alice Liddell',
  'the profile''s display_name comes from the sign-up metadata');
select isnt((select display_name from public.profiles where id = :'bob'), null,
  'a user who gave no display_name still gets one');
select is((select smart_router from public.profiles where id = :'alice'), true,
  'the smart router is on by default');

select is((select count(*) from public.subscriptions where user_id = :'alice'), 1::bigint,
  'sign-up creates one subscription');
select is((select tier from public.subscriptions where user_id = :'alice'), 'free',
  'a new user is on the free tier');
select is((select status from public.subscriptions where user_id = :'alice'), 'active',
  'the new subscription is active');

select is((select count(*) from public.request_counters where user_id = :'alice'), 1::bigint,
  'sign-up creates one counters row');
select is((select minute_count + period_requests from public.request_counters where user_id = :'alice'), 0,
  'the new counters start at zero');
select is((select period_start from public.request_counters where user_id = :'alice'),
  date_trunc('month', now() at time zone 'utc')::date,
  'the counters'' period is the current calendar month (UTC)');

select is((select count(*) from public.user_activity_log where user_id = :'alice' and action = 'signup'),
  1::bigint, 'sign-up writes one signup row to the activity log');

select is((select count(*) from public.profiles where id = :'bob')
        + (select count(*) from public.subscriptions where user_id = :'bob')
        + (select count(*) from public.request_counters where user_id = :'bob')
        + (select count(*) from public.user_activity_log where user_id = :'bob' and action = 'signup'),
  4::bigint, 'sign-up without metadata creates the same four rows');

-- Email changes made by Auth reach the profile.
update auth.users set email = 'pgtap-alice-01-new@example.test' where id = :'alice';
select is((select email from public.profiles where id = :'alice'), 'pgtap-alice-01-new@example.test',
  'an email change in auth.users is reflected in the profile');

-- On Supabase, GoTrue writes auth.users as supabase_auth_admin: sign-up and deletion work that way.
set local role supabase_auth_admin;
insert into auth.users (id, email, raw_user_meta_data)
values ('a0000001-0000-4000-8000-000000000003', 'pgtap-carol-01@example.test', '{"display_name": "Carol"}');
reset role;
select is((select display_name from public.profiles where id = 'a0000001-0000-4000-8000-000000000003'), 'Carol',
  'a sign-up written by supabase_auth_admin (GoTrue''s role) gets its profile');
do $$
begin
  perform public.admit_request('a0000001-0000-4000-8000-000000000003', extensions.gen_random_uuid(),
    '[{"model":"pgtap-model","provider":"local","worstCaseCost":"0.001"}]', false, null, 'hello');
end
$$;
grant usage on schema extensions to supabase_auth_admin;   -- for pgTAP itself; rolled back
set local role supabase_auth_admin;
select lives_ok($$ delete from auth.users where id = 'a0000001-0000-4000-8000-000000000003' $$,
  'supabase_auth_admin can delete a user who has chatted');
reset role;
select is((select count(*) from public.profiles where id = 'a0000001-0000-4000-8000-000000000003')
        + (select count(*) from public.subscriptions where user_id = 'a0000001-0000-4000-8000-000000000003')
        + (select count(*) from public.request_counters where user_id = 'a0000001-0000-4000-8000-000000000003')
        + (select count(*) from public.conversations where owner_id = 'a0000001-0000-4000-8000-000000000003')
        + (select count(*) from public.requests where user_id = 'a0000001-0000-4000-8000-000000000003'),
  0::bigint, '... and the user''s account rows and conversations go with them');

-- ---------------------------------------------------------------------------------------------
-- Plans are public reading, nobody's writing.

set local role anon;
set local request.jwt.claims = '{"role":"anon"}';
select is((select count(*) from public.plans), 4::bigint, 'anon can read the four plans');
select throws_ok($$ update public.plans set monthly_quota = 1000000 where tier = 'free' $$,
  '42501', null, 'anon cannot change a plan');
select throws_ok($$ insert into public.plans (tier, name, requests_per_minute, sort_order)
                    values ('pgtap', 'x', 1, 99) $$,
  '42501', null, 'anon cannot add a plan');

reset role;
set local role authenticated;
set local request.jwt.claims = '{"sub":"a0000001-0000-4000-8000-000000000001","role":"authenticated"}';
select is((select count(*) from public.plans), 4::bigint, 'an authenticated user can read the four plans');
select throws_ok($$ update public.plans set max_cost_per_request = null where tier = 'free' $$,
  '42501', null, 'an authenticated user cannot change a plan');
select throws_ok($$ delete from public.plans where tier = 'enterprise' $$,
  '42501', null, 'an authenticated user cannot delete a plan');

-- A user cannot sign somebody up behind Auth's back, nor forge the sign-up rows.
select throws_ok($$ insert into public.profiles (id, email) values ('a0000001-0000-4000-8000-000000000009', 'x@y.z') $$,
  '42501', null, 'an authenticated user cannot insert a profile');
select throws_ok($$ insert into public.subscriptions (user_id, tier)
                    values ('a0000001-0000-4000-8000-000000000001', 'enterprise') $$,
  '42501', null, 'an authenticated user cannot insert a subscription');
select throws_ok($$ insert into public.user_activity_log (user_id, action)
                    values ('a0000001-0000-4000-8000-000000000001', 'signup') $$,
  '42501', null, 'an authenticated user cannot write the activity log');
reset role;

-- set_user_tier: the one way to change a tier (grants are tested in 02).
set local role service_role;
set local request.jwt.claims = '{"role":"service_role"}';
select lives_ok($$ select public.set_user_tier('a0000001-0000-4000-8000-000000000001', 'pro') $$,
  'the service role can change a tier');
reset role;
select is((select tier from public.subscriptions where user_id = :'alice'), 'pro',
  'set_user_tier changed the tier');

select * from finish();
rollback;
