// Brings a database to the product's schema: the Supabase base (what a Supabase project already
// has), then our migrations through the real Supabase CLI, exactly as a deploy would.
//
// Roles, as on a hosted project: the base is applied by a superuser (supabase_admin); the
// migrations, the functions and the tests connect as `postgres`, which is no superuser there;
// the Auth stand-in connects as supabase_auth_admin (GoTrue's role) and the Realtime stand-in as
// the superuser (Realtime's DB_USER on Supabase is supabase_admin).

import postgres from "postgres";
import { fileURLToPath as fromFileUrl } from "node:url";
import { PASSWORD } from "./postgres.ts";

const ROOT = fromFileUrl(new URL("../../", import.meta.url));
const BASE_SQL = fromFileUrl(new URL("./supabase-base.sql", import.meta.url));

export function connect(url: string, max = 4, applicationName = "nexus-stack") {
  return postgres(url, { max, onnotice: () => {}, connection: { application_name: applicationName } });
}

/** Connection strings per role, all to the same database. */
export interface DatabaseRoles {
  /** The superuser that applied the base (supabase_admin); the Realtime stand-in's. */
  superuser: string;
  /** `postgres`: migrations, functions (SUPABASE_DB_URL), tests. */
  postgres: string;
  /** supabase_auth_admin: the Auth stand-in's. */
  auth: string;
  /** False where `postgres` is itself a superuser and everything runs as the given connection. */
  hostedRoles: boolean;
}

/**
 * Applies the Supabase base through a superuser's connection and returns each role's. Where the
 * role `postgres` is itself a superuser (a cluster of the old layout, or a DATABASE_URL whose
 * cluster's postgres is one) it cannot be made what it is on a hosted project: everything then
 * runs as the given connection, as it did before, and `hostedRoles` is false.
 */
export async function applySupabaseBase(superuserUrl: string): Promise<DatabaseRoles> {
  const sql = connect(superuserUrl, 1);
  let postgresIsSuperuser: boolean;
  try {
    const [me] = await sql<
      { superuser: boolean }[]
    >`select rolsuper as superuser from pg_roles where rolname = current_user`;
    if (!me?.superuser) {
      throw new Error(
        `the Supabase base must be applied by a superuser, not ${new URL(superuserUrl).username}`,
      );
    }
    await sql.unsafe(await Deno.readTextFile(BASE_SQL)).simple();
    const [pg] = await sql<
      { superuser: boolean }[]
    >`select rolsuper as superuser from pg_roles where rolname = 'postgres'`;
    postgresIsSuperuser = pg.superuser;
  } finally {
    await sql.end();
  }
  if (postgresIsSuperuser) {
    return { superuser: superuserUrl, postgres: superuserUrl, auth: superuserUrl, hostedRoles: false };
  }
  return {
    superuser: superuserUrl,
    postgres: asRole(superuserUrl, "postgres"),
    auth: asRole(superuserUrl, "supabase_auth_admin"),
    hostedRoles: true,
  };
}

function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = PASSWORD;
  return u.toString();
}

export async function migrate(url: string): Promise<string> {
  const cli = `${ROOT}node_modules/.bin/supabase`;
  const out = await new Deno.Command(cli, {
    args: ["db", "push", `--remote=${withSslDisabled(url)}`, "--yes", "--workdir", ROOT],
    cwd: ROOT,
    env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`supabase db push failed:\n${text}`);
  return text;
}

function withSslDisabled(url: string): string {
  const u = new URL(url);
  if (["127.0.0.1", "localhost", "::1"].includes(u.hostname) && !u.searchParams.has("sslmode")) {
    u.searchParams.set("sslmode", "disable");
  }
  return u.toString();
}
