// Brings a database to the product's schema: the Supabase base (what a Supabase project already
// has), then our migrations through the real Supabase CLI, exactly as a deploy would.

import postgres from "postgres";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("../../", import.meta.url));
const BASE_SQL = fromFileUrl(new URL("./supabase-base.sql", import.meta.url));

export function connect(url: string, max = 4) {
  return postgres(url, { max, onnotice: () => {}, connection: { application_name: "nexus-stack" } });
}

export async function applySupabaseBase(url: string): Promise<void> {
  const sql = connect(url, 1);
  try {
    await sql.unsafe(await Deno.readTextFile(BASE_SQL)).simple();
  } finally {
    await sql.end();
  }
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
