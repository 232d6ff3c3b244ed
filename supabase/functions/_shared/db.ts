// One Postgres pool per function instance (SUPABASE_DB_URL). Prepared statements are used
// except through Supabase's transaction-mode pooler (port 6543), which cannot keep them.

import postgres from "postgres";
import { env } from "./env.ts";

let pool: postgres.Sql | undefined;

export function db(): postgres.Sql {
  if (!pool) {
    const url = env.dbUrl;
    pool = postgres(url, {
      max: Number(env.get("NEXUS_DB_POOL_SIZE") ?? 10),
      prepare: new URL(url).port !== "6543",
      idle_timeout: 60,
      onnotice: () => {},
      connection: { application_name: "nexus-functions" },
    });
  }
  return pool;
}

/**
 * Runs `fn` in a transaction as the signed-in user, so RLS decides what it may see, exactly as
 * a request through Supabase's Data API would.
 */
export function asUser<T>(
  claims: { sub: string },
  fn: (sql: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return db().begin(async (sql) => {
    await sql`select set_config('role', 'authenticated', true),
                     set_config('request.jwt.claims', ${
      JSON.stringify({ ...claims, role: "authenticated" })
    }, true)`;
    return await fn(sql);
  }) as Promise<T>;
}
