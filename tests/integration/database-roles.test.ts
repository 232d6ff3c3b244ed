// The local stack reaches Postgres as a hosted project's services do (README, "The local
// database's roles"): the functions, the migrations and stack.json's dbUrl as postgres, which
// is no superuser; the Auth stand-in as supabase_auth_admin (GoTrue's role); the Realtime
// stand-in as supabase_admin (Realtime's database user on Supabase). A sign-up through the Auth
// stand-in goes through the product's trigger on auth.users as it does there.

import assert from "node:assert/strict";
import { database, functionsUrl, newUser } from "../support/users.ts";
import { stack } from "../support/stack.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name:
    "the stack connects as postgres (no superuser), supabase_auth_admin and supabase_admin, as on Supabase",
  ...opts,
  fn: async () => {
    assert.equal(new URL(stack().dbUrl).username, "postgres");
    const user = await newUser("roles"); // through the Auth stand-in's pool
    const res = await fetch(functionsUrl("account"), {
      headers: { Authorization: `Bearer ${user.accessToken}` },
    });
    await res.body?.cancel();
    assert.equal(res.status, 200);

    const [me] = await database()`select current_user as role, r.rolsuper as superuser
                                  from pg_roles r where r.rolname = current_user`;
    assert.deepEqual({ ...me }, { role: "postgres", superuser: false });

    const rows = await database()`
      select distinct a.application_name as app, a.usename::text as role, r.rolsuper as superuser
      from pg_stat_activity a join pg_roles r on r.oid = a.usesysid
      where a.application_name in ('nexus-functions', 'nexus-auth', 'nexus-realtime-replication')
      order by 1`;
    assert.deepEqual(rows.map((r) => ({ ...r })), [
      { app: "nexus-auth", role: "supabase_auth_admin", superuser: false },
      { app: "nexus-functions", role: "postgres", superuser: false },
      { app: "nexus-realtime-replication", role: "supabase_admin", superuser: true },
    ]);

    // the sign-up trigger (SECURITY DEFINER, owned by postgres) ran for GoTrue's role
    const [profile] = await database()`select count(*)::int as n from public.profiles where id = ${user.id}`;
    assert.equal(profile.n, 1);
  },
});
