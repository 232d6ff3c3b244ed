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

// Errors that mean "the database cannot be reached right now" (a restart, a failover, a
// dropped connection), as opposed to errors of the statement itself.
const UNREACHABLE_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, shutting down)
]);

export function isDatabaseUnavailable(e: unknown): boolean {
  const err = e as { code?: string; errno?: string; name?: string } | null;
  if (!err) return false;
  const code = String(err.code ?? err.errno ?? "");
  return UNREACHABLE_CODES.has(code) || code.startsWith("08") || err.name === "ConnectionRefused";
}

/**
 * A write that referred to a conversation deleted concurrently (a foreign key violation on a
 * conversation_id): what the request names is gone. Other foreign keys are not guessed at.
 */
export function isDeletedMeanwhile(e: unknown): boolean {
  const err = e as { code?: string; constraint_name?: string } | null;
  return err?.code === "23503" && /_conversation_id_fkey$/.test(err.constraint_name ?? "");
}

// Errors of a statement that would succeed if run again: it lost a deadlock or a serialization
// conflict, or the server had no connection or lock for it just then.
const RETRYABLE_CODES = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "53300", // too_many_connections
  "55P03", // lock_not_available
]);

/** Unreachable, or refused for a reason that passes: worth the same statement again. */
export function isTransient(e: unknown): boolean {
  return isDatabaseUnavailable(e) || RETRYABLE_CODES.has(String((e as { code?: string } | null)?.code ?? ""));
}

/**
 * Runs `task` until it gets through while the database is unreachable or refuses it for a
 * passing reason (up to `maxMs`): what settles or releases a request must not be lost to a
 * database restart or a lost deadlock. Safe for tasks that are idempotent, as settle and
 * release are (a request ends once).
 */
export async function untilDatabaseAnswers<T>(task: () => Promise<T>, maxMs = 120_000): Promise<T> {
  const deadline = Date.now() + maxMs;
  for (let wait = 100;; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await task();
    } catch (e) {
      if (!isTransient(e) || Date.now() + wait > deadline) throw e;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
