-- profiles (20261125001100): no stored display name holds control or invisible characters,
-- whoever writes it (sign-up metadata, the user through the Data API). Rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(4);

\set dee 'a0000025-0000-4000-8000-000000000001'

insert into auth.users (id, email, raw_user_meta_data)
values (:'dee', 'pgtap-dee-25@example.test', jsonb_build_object('display_name', E'Dee\u202e nimda\u200b'));
select is((select display_name from public.profiles where id = :'dee'), 'Dee nimda',
  'a name from sign-up metadata loses its bidi override and zero-width space');

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', :'dee', 'role', 'authenticated')::text, true);
update public.profiles set display_name = E'Ana\n\u0007 (owner)' where id = :'dee';
reset role;
select is((select display_name from public.profiles where id = :'dee'), 'Ana (owner)',
  'a name the user writes himself loses its control characters');
update public.profiles set display_name = E'\u200b\u200e' where id = :'dee';
select is((select display_name from public.profiles where id = :'dee'), null, 'nothing visible: no name');
update public.profiles set display_name = 'Zoë 李 🚀' where id = :'dee';
select is((select display_name from public.profiles where id = :'dee'), 'Zoë 李 🚀', 'any visible name stays as it is');

select * from finish();
rollback;
