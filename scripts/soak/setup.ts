// What the soak and the focused heap run share: their ports (flags, else NEXUS_SOAK_*_PORT, else
// 25471-3), a fresh local stack with the functions' heap probe on, and signed-up users on the
// enterprise plan (so the plan's limits are not what is exercised), each with an API key.

import type postgres from "postgres";
import { type StackProcess, startStack } from "../lib/stack-process.ts";

/** parseArgs options for the stack's ports. */
export const PORT_OPTIONS = {
  "api-port": { type: "string", default: Deno.env.get("NEXUS_SOAK_API_PORT") ?? "25471" },
  "db-port": { type: "string", default: Deno.env.get("NEXUS_SOAK_DB_PORT") ?? "25472" },
  "web-port": { type: "string", default: Deno.env.get("NEXUS_SOAK_WEB_PORT") ?? "25473" },
} as const;

export interface SoakStack extends StackProcess {
  info: StackProcess["info"] & { functions: Record<string, string> };
}

export async function startSoakStack(
  name: string,
  ports: { "api-port": string; "db-port": string; "web-port": string },
  env: Record<string, string> = {},
): Promise<SoakStack> {
  return await startStack({
    name,
    ports: { api: ports["api-port"], db: ports["db-port"], web: ports["web-port"] },
    env: { ...env, NEXUS_FUNCTIONS_HEAP_PROBE: "1" },
  }) as SoakStack;
}

export interface SoakUser {
  id: string;
  token: string;
  key: string;
}

export async function signUpSoakUsers(
  stack: SoakStack,
  sql: postgres.Sql,
  count: number,
): Promise<SoakUser[]> {
  const { apiUrl, anonKey } = stack.info;
  const users: SoakUser[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${apiUrl}/auth/v1/signup`, {
      method: "POST",
      headers: { apikey: anonKey, "content-type": "application/json" },
      body: JSON.stringify({ email: `soak-${i}-${Date.now()}@example.test`, password: "soak-password-1" }),
    });
    const session = await res.json();
    await sql`select public.set_user_tier(${session.user.id}, 'enterprise')`;
    const key = await fetch(`${apiUrl}/functions/v1/account/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${session.access_token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "soak" }),
    }).then((r) => r.json());
    users.push({ id: session.user.id, token: session.access_token, key: key.key });
  }
  return users;
}
