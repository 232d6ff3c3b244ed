// The benchmark's users. Gateway clients sign up through supabase-js (they need real access
// tokens); the admission benchmark only needs rows, so it inserts its users into auth.users
// directly and the sign-up trigger gives them a profile, a subscription and counters.

import type postgres from "postgres";
import { createClient } from "@supabase/supabase-js";

export interface BenchUser {
  id: string;
  token: string;
}

/** `count` users signed up through the Auth stand-in, each on `tier`. */
export async function signUpUsers(
  stack: { apiUrl: string; anonKey: string },
  sql: postgres.Sql,
  count: number,
  tier: string,
): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  const run = Date.now().toString(36);
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, async (_, k) => {
      const client = createClient(stack.apiUrl, stack.anonKey, {
        auth: { persistSession: false, autoRefreshToken: false },
      });
      const { data, error } = await client.auth.signUp({
        email: `bench-${run}-${i + k}@example.test`,
        password: "benchmark-password",
      });
      if (error || !data.session || !data.user) throw new Error(`signUp: ${error?.message}`);
      await sql`select public.set_user_tier(${data.user.id}, ${tier})`;
      return { id: data.user.id, token: data.session.access_token };
    });
    users.push(...await Promise.all(batch));
  }
  return users;
}

/** `tiers.length` users made directly in auth.users, user i on tiers[i]; returns their ids. */
export async function insertUsers(sql: postgres.Sql, tiers: string[]): Promise<string[]> {
  const run = Date.now().toString(36);
  const ids = tiers.map(() => crypto.randomUUID());
  await sql.begin(async (tx) => {
    for (const [i, id] of ids.entries()) {
      await tx`insert into auth.users (id, aud, role, email, created_at, updated_at)
               values (${id}, 'authenticated', 'authenticated', ${`bench-admission-${run}-${i}@example.test`},
                       now(), now())`;
      await tx`select public.set_user_tier(${id}, ${tiers[i]})`;
    }
  });
  return ids;
}
