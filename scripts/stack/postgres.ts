// A private PostgreSQL cluster for the local stack, built from the machine's own binaries.
// Postgres refuses to run as root, so when we are root the cluster belongs to the `postgres`
// system user (created by Debian's package) and every pg command runs as that user.
//
// As on a hosted Supabase project, the cluster's superuser is `supabase_admin` (initdb's
// bootstrap user); the `postgres` role the product connects as is created by the Supabase base
// (supabase-base.sql) without SUPERUSER. Clusters created before the stack did so were
// bootstrapped as `postgres`, which cannot lose SUPERUSER: the stack still runs them, everything
// as that superuser, and says so (`npm start -- --reset` makes a new one).

import { dirname, join, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { existsSync } from "node:fs";

export interface Cluster {
  dataDir: string;
  port: number;
  /** The cluster's superuser (supabase_admin, or postgres in a cluster of the old layout). */
  superuserUrl: string;
}

/** The password of every role the local stack logs in as (as `supabase start` has it; the
 * Supabase base sets it for postgres and supabase_auth_admin). */
export const PASSWORD = "postgres";

/** initdb's bootstrap user: Supabase's superuser. */
const SUPERUSER = "supabase_admin";

/** Names the bootstrap user in the data directory (clusters without it were bootstrapped as postgres). */
const SUPERUSER_FILE = "nexus_superuser";

function superuserOf(dataDir: string): string {
  try {
    return Deno.readTextFileSync(join(dataDir, SUPERUSER_FILE)).trim() || "postgres";
  } catch {
    return "postgres";
  }
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? [...Deno.readDirSync(root)].map((e) => Number(e.name)).filter((v) => v >= 15).sort((a, b) => b - a)
    : [];
  if (!versions.length) {
    throw new Error("PostgreSQL 15+ server binaries not found (apt-get install postgresql)");
  }
  return join(root, String(versions[0]), "bin");
}

function isRoot(): boolean {
  return Deno.uid?.() === 0;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const [file, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  const out = await new Deno.Command(file, { args: argv, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

async function chownToPostgres(path: string) {
  if (!isRoot()) return;
  const out = await new Deno.Command("chown", { args: ["-R", "postgres:postgres", path] }).output();
  if (!out.success) throw new Error(`chown ${path} failed`);
}

/** Creates the cluster on first use; returns whether it was created now. */
export async function initCluster(dataDir: string): Promise<boolean> {
  dataDir = resolve(dataDir);
  if (existsSync(join(dataDir, "PG_VERSION"))) return false;
  await Deno.mkdir(dataDir, { recursive: true });
  await Deno.chmod(dataDir, 0o700);
  const pwfile = join(dirname(dataDir), ".pgpass-init");
  await Deno.writeTextFile(pwfile, PASSWORD + "\n");
  await chownToPostgres(dataDir);
  await chownToPostgres(pwfile);
  try {
    await run(join(binDir(), "initdb"), [
      "-D",
      dataDir,
      "-U",
      SUPERUSER,
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      `--pwfile=${pwfile}`,
    ]);
  } finally {
    await Deno.remove(pwfile).catch(() => {});
  }
  await Deno.writeTextFile(join(dataDir, SUPERUSER_FILE), SUPERUSER + "\n");
  await chownToPostgres(join(dataDir, SUPERUSER_FILE));
  return true;
}

export async function startCluster(dataDir: string, port: number): Promise<Cluster> {
  dataDir = resolve(dataDir);
  const socketDir = join(dirname(dataDir), "db-socket");
  await Deno.mkdir(socketDir, { recursive: true });
  await chownToPostgres(socketDir);
  const logFile = join(dirname(dataDir), "postgres.log");
  await Deno.writeTextFile(logFile, "", { append: true });
  await chownToPostgres(logFile);
  await stopCluster(dataDir); // a cluster left running by a killed stack
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${socketDir}`,
    "-c max_connections=200",
    "-c shared_buffers=256MB",
    "-c fsync=on",
    "-c log_min_messages=warning",
    // Realtime reads realtime.messages from logical replication, as on Supabase: one walsender
    // and one temporary slot per Realtime stand-in, with room for a restart's overlap. Set on
    // the command line, so an existing cluster takes them on at its next start.
    "-c wal_level=logical",
    "-c max_replication_slots=10",
    "-c max_wal_senders=10",
    // pg_cron, preloaded as on Supabase, when installed: the migrations schedule the sweeper
    // with it (jobs run in background workers, no connection needed).
    ...(existsSync(join(dirname(binDir()), "lib", "pg_cron.so"))
      ? [
        "-c shared_preload_libraries=pg_cron",
        "-c cron.database_name=postgres",
        "-c cron.use_background_workers=on",
        "-c max_worker_processes=20",
      ]
      : []),
  ].join(" ");
  await run(join(binDir(), "pg_ctl"), [
    "-D",
    dataDir,
    "-o",
    options,
    "-l",
    logFile,
    "-w",
    "-t",
    "60",
    "start",
  ]);
  const superuser = superuserOf(dataDir);
  return { dataDir, port, superuserUrl: `postgresql://${superuser}:${PASSWORD}@127.0.0.1:${port}/postgres` };
}

export async function stopCluster(dataDir: string): Promise<void> {
  dataDir = resolve(dataDir);
  if (!existsSync(join(dataDir, "postmaster.pid"))) return;
  await run(join(binDir(), "pg_ctl"), ["-D", dataDir, "-m", "fast", "-w", "stop"])
    .catch(() => {});
}

export const BASE_SQL_PATH = fromFileUrl(new URL("./supabase-base.sql", import.meta.url));
