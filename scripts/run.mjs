#!/usr/bin/env node
// Entry point of the npm scripts. Installs what the command needs on a fresh machine (npm
// dependencies; Debian packages when missing and we are root, otherwise it names them), then
// hands over to Deno (which comes from npm) and relays signals to it.
//
//   node scripts/run.mjs start|test|bench|soak|build-web [args…]

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DENO = join(ROOT, "node_modules", ".bin", "deno");

const COMMANDS = {
  start: { system: ["postgres", "pg_cron"], script: "scripts/stack/main.ts" },
  test: { system: ["postgres", "pg_cron", "pgtap", "pg_prove", "chromium"], script: "scripts/test.ts" },
  bench: { system: ["postgres", "pg_cron"], script: "scripts/bench/main.ts" },
  soak: { system: ["postgres", "pg_cron"], script: "scripts/soak/main.ts" },
  "build-web": { system: [], script: "web/build.ts" },
  "router-eval": { system: [], script: "scripts/router/eval.ts" },
};

const [command, ...args] = process.argv.slice(2);
const spec = COMMANDS[command];
if (!spec) {
  console.error(`usage: node scripts/run.mjs ${Object.keys(COMMANDS).join("|")} [args…]`);
  process.exit(2);
}

ensureNpmDependencies();
ensureSystemPackages(process.env.DATABASE_URL ? spec.system.filter((s) => s !== "postgres") : spec.system);

const child = spawn(DENO, [
  "run",
  "-A",
  "--config",
  join(ROOT, "deno.json"),
  join(ROOT, spec.script),
  ...args,
], {
  cwd: ROOT,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

function ensureNpmDependencies() {
  const marker = join(ROOT, "node_modules", ".package-lock.json");
  const lock = join(ROOT, "package-lock.json");
  const fresh = existsSync(DENO) && existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh) return;
  console.log("Installing npm dependencies…");
  const result = spawnSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: ROOT, stdio: "inherit" });
  if (result.status !== 0) {
    console.error("npm install failed");
    process.exit(1);
  }
}

function postgresVersion() {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).map(Number).filter((v) =>
    v >= 15 && existsSync(join(root, String(v), "bin", "initdb"))
  );
  return versions.length ? Math.max(...versions) : null;
}

/** Debian package name for each need, and how to tell it is there. */
function systemNeeds() {
  const pg = postgresVersion();
  return {
    postgres: { pkg: "postgresql", present: () => postgresVersion() !== null },
    pgtap: {
      pkg: `postgresql-${postgresVersion() ?? pg ?? 15}-pgtap`,
      present: () => existsSync(`/usr/share/postgresql/${postgresVersion()}/extension/pgtap.control`),
    },
    // the scheduler Supabase offers (the migrations schedule the sweeper with it)
    pg_cron: {
      pkg: `postgresql-${postgresVersion() ?? pg ?? 15}-cron`,
      present: () => existsSync(`/usr/lib/postgresql/${postgresVersion()}/lib/pg_cron.so`),
    },
    pg_prove: { pkg: "libtap-parser-sourcehandler-pgtap-perl", present: () => onPath("pg_prove") },
    chromium: { pkg: "chromium", present: () => existsSync("/usr/bin/chromium") },
  };
}

function onPath(bin) {
  return (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(join(dir, bin)));
}

function ensureSystemPackages(needs) {
  // postgres first: the pgtap and pg_cron package names depend on the server's version
  for (const group of [needs.filter((n) => n === "postgres"), needs.filter((n) => n !== "postgres")]) {
    const table = systemNeeds();
    const missing = group.filter((n) => !table[n].present()).map((n) => table[n].pkg);
    if (!missing.length) continue;
    if (process.getuid?.() !== 0) {
      console.error(
        `Missing system packages: ${missing.join(" ")}\nInstall them with: sudo apt-get install -y ${
          missing.join(" ")
        }`,
      );
      process.exit(1);
    }
    console.log(`Installing system packages: ${missing.join(" ")}…`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    const install = update.status === 0 &&
      spawnSync("apt-get", ["install", "-y", "-qq", ...missing], { stdio: "inherit", env });
    if (!install || install.status !== 0) {
      console.error(`Could not install: ${missing.join(" ")}`);
      process.exit(1);
    }
  }
}
