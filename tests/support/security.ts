// What the security tests share: a fingerprint of every row the database holds for some users
// (to prove a refused request changed nothing), the API's two error shapes, and the secrets no
// response may quote.

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import type { JWK } from "jose";
import { database } from "./users.ts";
import { stack } from "./stack.ts";
import { ERROR_STATUS, type ErrorCode } from "../../supabase/functions/_shared/http/errors.ts";

/**
 * Every table in `public` with a foreign key to auth.users, or to public.conversations (rows
 * about a user's conversations written by someone else), read from the catalog: a table added
 * later is covered without editing the tests.
 */
async function referencingColumns(): Promise<{ table: string; column: string; target: string }[]> {
  return [
    ...await database()`
    select c.conrelid::regclass::text as table, a.attname as column, c.confrelid::regclass::text as target
    from pg_constraint c
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
    where c.contype = 'f' and c.connamespace = 'public'::regnamespace
      and c.confrelid in ('auth.users'::regclass, 'public.conversations'::regclass)
      and cardinality(c.conkey) = 1
    order by 1, 2`,
  ] as { table: string; column: string; target: string }[];
}

let snapshotQuery: Promise<string> | undefined;

/** One statement that fingerprints every referencing table: $1 holds the user ids. */
async function buildSnapshotQuery(): Promise<string> {
  const parts = (await referencingColumns()).map(({ table, column, target }) => {
    const ids = target === "auth.users" ? "users" : "conv";
    const key = `${table}.${column}`.replace(/'/g, "''");
    return `select '${key}' as key, count(*)::int as n,
              md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest
            from ${table} t where t."${column.replace(/"/g, '""')}" in (select id from ${ids})`;
  });
  return `with users as (select unnest($1::uuid[]) as id),
            conv as (select id from public.conversations where owner_id in (select id from users))
          ${parts.join("\nunion all\n")}`;
}

/**
 * "table.column" → "<row count>:<md5 of the rows>" over the rows that reference the users or
 * their conversations, in one round trip. Any insert, update (even of a timestamp) or delete
 * changes it.
 */
export async function rowSnapshot(userIds: string[]): Promise<Record<string, string>> {
  snapshotQuery ??= buildSnapshotQuery();
  const rows = await database().unsafe(await snapshotQuery, [userIds]);
  return Object.fromEntries(rows.map((r) => [r.key, `${r.n}:${r.digest}`]));
}

export async function assertNothingChanged(
  userIds: string[],
  before: Record<string, string>,
  what: string,
): Promise<void> {
  const after = await rowSnapshot(userIds);
  const changed = Object.keys(before).filter((k) => before[k] !== after[k]);
  assert.deepEqual(changed, [], `${what}: rows changed in ${changed.join(", ")}`);
}

/**
 * The documented error body for a status: `{"error":{"code","message","details"?}}` (DESIGN.md
 * §4), or OpenAI's `{"error":{"message","type","param","code"}}` on the OpenAI-compatible
 * surface. Returns the error object.
 */
export function assertErrorShape(
  status: number,
  text: string,
  opts: { openai?: boolean; what: string },
): { code: string; message: string } {
  let body: { error?: Record<string, unknown> };
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${opts.what}: ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  const error = body.error;
  assert.ok(error && typeof error === "object", `${opts.what}: an error object: ${text.slice(0, 300)}`);
  assert.equal(typeof error.message, "string", `${opts.what}: a message`);
  assert.ok((error.message as string).trim().length > 0, `${opts.what}: a non-empty message`);
  if (opts.openai) {
    assert.equal(typeof error.type, "string", `${opts.what}: an OpenAI error type`);
    assert.ok("param" in error && "code" in error, `${opts.what}: OpenAI's param and code`);
  } else {
    assert.ok(
      typeof error.code === "string" && ERROR_STATUS[error.code as ErrorCode] === status,
      `${opts.what}: code ${error.code} is documented for ${status}`,
    );
  }
  return error as { code: string; message: string };
}

/** The stack's private signing key (the JWK with `d`), from its state directory. */
export function signingKey(): JWK & { kid: string; d: string } {
  const stateDir = dirname(Deno.env.get("NEXUS_STACK_FILE") ?? ".local/test/stack.json");
  return JSON.parse(Deno.readTextFileSync(join(stateDir, "signing-key.json")));
}

/** Values that must never appear in anything a client receives. */
export function serverSecrets(): Record<string, string> {
  const { serviceRoleKey, dbUrl } = stack();
  const url = new URL(dbUrl);
  return {
    "service-role key": serviceRoleKey,
    "service-role key signature": serviceRoleKey.split(".")[2],
    "database URL": dbUrl,
    "database credentials": `${url.username}:${url.password}@`,
    "private signing key": signingKey().d,
  };
}

export function assertNoSecrets(text: string, what: string): void {
  for (const [name, secret] of Object.entries(serverSecrets())) {
    assert.ok(!text.includes(secret), `${what} quotes the ${name}`);
  }
}
