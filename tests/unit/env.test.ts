// Configuration names a hosted project can actually set: SUPABASE_* names are reserved to the
// platform, so our overrides have NEXUS_* names and win over the platform's defaults.

import assert from "node:assert/strict";
import { env } from "../../supabase/functions/_shared/env.ts";

function withVars(vars: Record<string, string | undefined>, fn: () => void) {
  const saved = Object.keys(vars).map((n) => [n, Deno.env.get(n)] as const);
  try {
    for (const [name, value] of Object.entries(vars)) {
      value === undefined ? Deno.env.delete(name) : Deno.env.set(name, value);
    }
    fn();
  } finally {
    for (const [name, value] of saved) {
      value === undefined ? Deno.env.delete(name) : Deno.env.set(name, value);
    }
  }
}

Deno.test("NEXUS_DB_URL (the pooler) wins over the platform's direct SUPABASE_DB_URL", () => {
  const direct = "postgresql://postgres:pw@db.example.supabase.co:5432/postgres";
  const pooler = "postgresql://postgres.ref:pw@aws-0-eu.pooler.supabase.com:6543/postgres";
  withVars({ SUPABASE_DB_URL: direct, NEXUS_DB_URL: pooler }, () => assert.equal(env.dbUrl, pooler));
  withVars({ SUPABASE_DB_URL: direct, NEXUS_DB_URL: undefined }, () => assert.equal(env.dbUrl, direct));
  withVars(
    { SUPABASE_DB_URL: undefined, NEXUS_DB_URL: undefined },
    () => assert.throws(() => env.dbUrl, /SUPABASE_DB_URL/),
  );
});

Deno.test("the legacy JWT secret is read from NEXUS_JWT_SECRET, else SUPABASE_JWT_SECRET (local stacks)", () => {
  withVars(
    { NEXUS_JWT_SECRET: "nexus", SUPABASE_JWT_SECRET: "supabase" },
    () => assert.equal(env.jwtSecret, "nexus"),
  );
  withVars(
    { NEXUS_JWT_SECRET: undefined, SUPABASE_JWT_SECRET: "supabase" },
    () => assert.equal(env.jwtSecret, "supabase"),
  );
  withVars(
    { NEXUS_JWT_SECRET: undefined, SUPABASE_JWT_SECRET: undefined },
    () => assert.equal(env.jwtSecret, undefined),
  );
});
