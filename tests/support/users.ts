// Test users, made the way a person makes one: signing up through supabase-js.

import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { stack } from "./stack.ts";

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  client: SupabaseClient;
}

export function anonClient(): SupabaseClient {
  return createClient(stack().apiUrl, stack().anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
}

export async function newUser(prefix = "user"): Promise<TestUser> {
  const client = anonClient();
  const email = `${prefix}-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const password = "correct horse battery staple";
  const { data, error } = await client.auth.signUp({ email, password });
  if (error || !data.session || !data.user) throw new Error(`signUp failed: ${error?.message}`);
  return { id: data.user.id, email, password, accessToken: data.session.access_token, client };
}

let sql: postgres.Sql | undefined;

/** Direct database access (as postgres) for the assertions a test makes about stored rows. */
export function database(): postgres.Sql {
  sql ??= postgres(stack().dbUrl, { max: 4, onnotice: () => {} });
  return sql;
}

export async function closeDatabase() {
  await sql?.end();
  sql = undefined;
}

/** Waits until every request of the user has been settled or released (metering runs after the response). */
export async function settled(userId: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [{ open }] =
      await database()`select count(*)::int as open from public.requests where user_id = ${userId} and status = 'admitted'`;
    if (open === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`requests of ${userId} still open after ${timeoutMs} ms`);
}

export function functionsUrl(name: string): string {
  return `${stack().apiUrl}/functions/v1/${name}`;
}
