// Private-channel authorization, as Realtime.Tenants.Authorization does it: RLS policies on
// realtime.messages decide, probed inside a transaction that is always rolled back.
//
// Read: probe rows (one per extension checked) are inserted by the service's own role, then the
// transaction takes on the user's role, `request.jwt.claims` and `realtime.topic`, and selects
// the probes back: what RLS lets the user see is what the user may read.
// Write: as the user, one insert per extension, each in a savepoint: an insert RLS accepts is
// write permission, insufficient_privilege (42501) is none, anything else is an error.

import type postgres from "postgres";
import type { Claims } from "./tokens.ts";

export type Extension = "broadcast" | "presence";

/** `null` means not evaluated yet. */
export interface Policies {
  broadcast: { read: boolean | null; write: boolean | null };
  presence: { read: boolean | null; write: boolean | null };
}

export interface AuthorizationContext {
  /** The channel's sub-topic, what `realtime.topic()` returns. */
  topic: string;
  claims: Claims;
  /** The upgrade request's x- headers, for `request.headers`. */
  headers: Record<string, string>;
}

/** An RLS policy raised an error: Realtime treats it as "not authorized". */
export class PolicyError extends Error {}
/** The database could not be reached. */
export class DatabaseUnavailable extends Error {}

export function emptyPolicies(): Policies {
  return { broadcast: { read: null, write: null }, presence: { read: null, write: null } };
}

export async function readPolicies(
  sql: postgres.Sql,
  ctx: AuthorizationContext,
  policies: Policies,
  opts: { presence: boolean },
): Promise<Policies> {
  const extensions: Extension[] = opts.presence ? ["broadcast", "presence"] : ["broadcast"];
  const probes = extensions.map((extension) => ({ id: crypto.randomUUID(), topic: ctx.topic, extension }));
  return await rolledBack(sql, async (tx) => {
    await tx`insert into realtime.messages ${tx(probes, "id", "topic", "extension")}`;
    await setConnConfig(tx, ctx);
    const rows = await tx`select id from realtime.messages where id in ${tx(probes.map((p) => p.id))}`;
    const visible = new Set(rows.map((r) => r.id as string));
    const next = clone(policies);
    for (const probe of probes) next[probe.extension].read = visible.has(probe.id);
    return next;
  });
}

export async function writePolicies(
  sql: postgres.Sql,
  ctx: AuthorizationContext,
  policies: Policies,
  opts: { presence: boolean } = { presence: true },
): Promise<Policies> {
  return await rolledBack(sql, async (tx) => {
    await setConnConfig(tx, ctx);
    const next = clone(policies);
    for (const extension of ["broadcast", "presence"] as const) {
      if (extension === "presence" && !opts.presence) {
        next.presence.write = false;
        continue;
      }
      await tx`savepoint realtime_write_check`;
      try {
        await tx`insert into realtime.messages (topic, extension) values (${ctx.topic}, ${extension})`;
        await tx`release savepoint realtime_write_check`;
        next[extension].write = true;
      } catch (e) {
        if (sqlState(e) !== "42501") throw e;
        await tx`rollback to savepoint realtime_write_check`;
        next[extension].write = false;
      }
    }
    return next;
  });
}

/** Authorization.set_conn_config: the user's role and claims, local to the transaction. */
async function setConnConfig(tx: postgres.Sql, ctx: AuthorizationContext) {
  const { claims } = ctx;
  const sub = typeof claims.sub === "string" ? claims.sub : null;
  await tx`select
    set_config('role', ${claims.role}, true),
    set_config('realtime.topic', ${ctx.topic}, true),
    set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
    set_config('request.jwt.claim.sub', ${sub}, true),
    set_config('request.jwt.claim.role', ${claims.role}, true),
    set_config('request.headers', ${JSON.stringify(ctx.headers)}, true)`;
}

/** Runs `fn` in a transaction on a reserved connection and always rolls it back. */
async function rolledBack<T>(sql: postgres.Sql, fn: (tx: postgres.Sql) => Promise<T>): Promise<T> {
  let conn: postgres.ReservedSql;
  try {
    conn = await sql.reserve();
  } catch (e) {
    throw new DatabaseUnavailable(String(e));
  }
  try {
    await conn`begin`;
    try {
      return await fn(conn);
    } finally {
      await conn`rollback`;
    }
  } catch (e) {
    if (sqlState(e)) throw new PolicyError(e instanceof Error ? e.message : String(e));
    throw new DatabaseUnavailable(e instanceof Error ? e.message : String(e));
  } finally {
    conn.release();
  }
}

function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function clone(p: Policies): Policies {
  return { broadcast: { ...p.broadcast }, presence: { ...p.presence } };
}
