// The local stack (DESIGN.md §6): Postgres, the Supabase base and migrations, the Auth and
// Realtime stand-ins and the Edge Functions on one origin, simulated providers for every
// provider without a key, and the web client on its own origin.
//
// deno run -A scripts/stack/main.ts [--reset] [--state-dir .local] [--api-port 54321]
//   [--db-port 54322] [--web-port 3000]
// Ready: prints the URLs and keys and writes <state-dir>/stack.json. SIGINT/SIGTERM stop
// everything it started.

import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { initCluster, startCluster, stopCluster } from "./postgres.ts";
import { applySupabaseBase, connect, migrate } from "./database.ts";
import { loadProjectKeys } from "./keys.ts";
import { discoverFunctions, FunctionsHost } from "./functions-host.ts";
import { wireProviders } from "./providers.ts";
import { serveWeb } from "./web-server.ts";
import { createAuthService } from "./auth/service.ts";
import { loadAuthSettings } from "./auth/config.ts";
import { createRealtimeService } from "./realtime/service.ts";
import { buildWeb } from "../../web/build.ts";
import { type Cleanup, createShutdown } from "./shutdown.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    "state-dir": { type: "string", default: join(ROOT, ".local") },
    "api-port": { type: "string", default: Deno.env.get("NEXUS_API_PORT") ?? "54321" },
    "db-port": { type: "string", default: Deno.env.get("NEXUS_DB_PORT") ?? "54322" },
    "web-port": { type: "string", default: Deno.env.get("NEXUS_WEB_PORT") ?? "3000" },
    reset: { type: "boolean", default: false },
  },
});

const stateDir = resolve(args["state-dir"]!);
const apiPort = Number(args["api-port"]);
const webPort = Number(args["web-port"]);
const apiUrl = `http://127.0.0.1:${apiPort}`;
const webUrl = `http://127.0.0.1:${webPort}`;
const dataDir = join(stateDir, "db");
const cleanups: Cleanup[] = [];

const log = (msg: string) => console.log(`[stack] ${msg}`);

/** Stops what was started, once however many signals arrive, each cleanup bounded in time. */
const shutdown = createShutdown(cleanups, { log });

async function main() {
  await Deno.mkdir(stateDir, { recursive: true });
  await Deno.remove(join(stateDir, "stack.json")).catch(() => {});

  // 1. Postgres: DATABASE_URL (a superuser's connection), or a private cluster under the state dir.
  let superuserUrl = Deno.env.get("DATABASE_URL");
  if (!superuserUrl) {
    if (args.reset) {
      await stopCluster(dataDir);
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      log("reset: database removed");
    }
    const created = await initCluster(dataDir);
    const cluster = await startCluster(dataDir, Number(args["db-port"]));
    cleanups.push({ name: "postgres", run: () => stopCluster(dataDir) });
    superuserUrl = cluster.superuserUrl;
    log(`postgres ${created ? "created" : "started"} on port ${cluster.port}`);
  } else if (args.reset) {
    throw new Error("--reset refuses to wipe an external DATABASE_URL; drop its schemas yourself");
  }

  // 2. Schema: the Supabase base (applied by the superuser), then our migrations through the
  // real Supabase CLI as postgres, which is no superuser, as on a hosted project.
  const roles = await applySupabaseBase(superuserUrl);
  if (!roles.hostedRoles) {
    const superuser = new URL(superuserUrl).username;
    const remedy = Deno.env.get("DATABASE_URL")
      ? "Give DATABASE_URL another superuser, of a cluster whose postgres is none (README, Configuration)."
      : "This cluster predates the hosted roles: start once with --reset to make a new one (its data is lost).";
    log(
      `WARNING: the role postgres is a superuser in this database, so the stack runs everything as ${superuser}: ` +
        `a migration or function that needs superuser powers passes here and fails on a hosted project. ${remedy}`,
    );
  }
  const dbUrl = roles.postgres;
  await migrate(dbUrl);
  log("migrations applied (supabase db push)");

  const sql = connect(dbUrl, 2);
  cleanups.push({ name: "database pool", run: () => sql.end({ timeout: 5 }) });
  // GoTrue's own role on a hosted project
  const authSql = connect(roles.auth, 8, "nexus-auth");
  cleanups.push({ name: "auth database pool", run: () => authSql.end({ timeout: 5 }) });

  // 3. Keys, the Auth stand-in, with config.toml's [auth] settings (its emails, confirmation
  // links, are kept in a mailbox on the API origin and shown here), and the Realtime stand-in,
  // which connects as supabase_admin, as Supabase's Realtime does.
  const issuer = `${apiUrl}/auth/v1`;
  const keys = await loadProjectKeys(stateDir, issuer);
  const authSettings = loadAuthSettings(join(ROOT, "supabase", "config.toml"));
  const auth = createAuthService({
    sql: authSql,
    issuer,
    keys,
    ...authSettings,
    onMail: (mail) => log(`email to ${mail.to}: ${mail.subject}: ${mail.actionLink}`),
  });
  const realtime = createRealtimeService({ dbUrl: roles.superuser, keys, issuer });

  // 4. Providers: real where a key is set, simulated otherwise.
  const providers = await wireProviders(Deno.env.toObject());
  cleanups.push({ name: "simulated providers", run: providers.close });

  // 5. Edge Functions, each its own Deno process.
  const functionEnv: Record<string, string> = {
    ...passThroughEnv(),
    ...providers.env,
    SUPABASE_URL: apiUrl,
    SUPABASE_DB_URL: dbUrl,
    SUPABASE_ANON_KEY: keys.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
    SUPABASE_JWKS: JSON.stringify(keys.jwks),
  };
  const functions = new FunctionsHost(
    discoverFunctions(join(ROOT, "supabase")),
    functionEnv,
    keys.jwks,
    join(ROOT, "deno.json"),
  );
  cleanups.push({ name: "functions", run: () => functions.stop() });
  await functions.start();
  log(`functions: ${functions.names.join(", ")}`);

  // 6. The API origin.
  const api = Deno.serve({ hostname: "127.0.0.1", port: apiPort, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/functions/v1/")) {
      return await functions.handle(req, url) ?? notFound();
    }
    if (url.pathname.startsWith("/auth/v1/")) {
      if (req.method === "OPTIONS") return withCors(req, new Response(null, { status: 204 }));
      return withCors(req, await auth.fetch(req));
    }
    if (url.pathname === "/__mailbox") {
      // No CORS: a web page the developer visits must not read the links sent (the tests and
      // the developer read it directly).
      return auth.mailbox.handle(req, url);
    }
    if (url.pathname.startsWith("/realtime/v1/")) {
      if (req.method === "OPTIONS") return withCors(req, new Response(null, { status: 204 }));
      const res = await realtime.fetch(req);
      return res.status === 101 ? res : withCors(req, res); // a WebSocket upgrade goes out as is
    }
    return notFound();
  });
  cleanups.push({ name: "API server", run: () => api.shutdown() });
  cleanups.push({ name: "realtime", run: () => realtime.close() });

  // 7. The web client on its own origin.
  const dist = await buildWeb();
  const web = serveWeb({ dist, port: webPort, apiUrl, anonKey: keys.anonKey });
  cleanups.push({ name: "web server", run: () => web.shutdown() });

  // 8. Admitted requests whose function died before settling are released after a grace period.
  const sweeper = setInterval(() => {
    sql`select public.release_stale_requests()`.catch((e) => console.error(`[stack] sweeper: ${e}`));
  }, 60_000);
  cleanups.push({ name: "sweeper", run: () => Promise.resolve(clearInterval(sweeper)) });

  const info = {
    apiUrl,
    webUrl,
    dbUrl,
    anonKey: keys.anonKey,
    serviceRoleKey: keys.serviceRoleKey,
    simulators: providers.simulatorUrls,
    functions: functions.directUrls,
  };
  await Deno.writeTextFile(join(stateDir, "stack.json"), JSON.stringify(info, null, 2) + "\n", {
    mode: 0o600,
  });
  // stack.json means "running": it goes away with the stack
  cleanups.push({ name: "stack.json", run: () => Deno.remove(join(stateDir, "stack.json")).catch(() => {}) });
  console.log([
    "",
    "NEXUS AI is running.",
    `  Web:               ${webUrl}`,
    `  API:               ${apiUrl}`,
    `  Functions:         ${apiUrl}/functions/v1/{${functions.names.join(",")}}`,
    `  Database:          ${dbUrl}`,
    `  Anon key:          ${keys.anonKey}`,
    `  Service role key:  ${keys.serviceRoleKey}`,
    `  Simulated:         ${providers.simulated.join(", ") || "none"}`,
    `  Email sign-ups:    ${
      authSettings.confirmations
        ? `confirmed by email (links printed here and at ${apiUrl}/__mailbox?email=…)`
        : "confirmed at once (NEXUS_AUTH_CONFIRMATIONS=true to confirm by email)"
    }`,
    `  Written to:        ${join(stateDir, "stack.json")}`,
    "Press Ctrl-C to stop.",
    "",
  ].join("\n"));
}

function notFound() {
  return Response.json({ message: "no route matched with those values" }, { status: 404 });
}

function withCors(req: Request, res: Response): Response {
  const headers = new Headers(res.headers);
  headers.set("access-control-allow-origin", req.headers.get("origin") ?? "*");
  headers.set("access-control-allow-credentials", "true");
  headers.set("access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
  headers.set(
    "access-control-allow-headers",
    req.headers.get("access-control-request-headers") ??
      "authorization, x-client-info, apikey, content-type, x-supabase-api-version",
  );
  headers.set("access-control-expose-headers", "x-supabase-api-version");
  headers.append("vary", "origin");
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/** What a function process inherits: the basics plus our configuration, never the stack's secrets. */
function passThroughEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "TZ", "LANG", "DENO_DIR"];
  const env: Record<string, string> = {};
  for (const key of keep) {
    const value = Deno.env.get(key);
    if (value) env[key] = value;
  }
  for (const [key, value] of Object.entries(Deno.env.toObject())) {
    if (key.startsWith("NEXUS_")) env[key] = value;
  }
  return env;
}

Deno.addSignalListener("SIGINT", () => shutdown(0));
Deno.addSignalListener("SIGTERM", () => shutdown(0));

try {
  await main();
} catch (e) {
  console.error(`[stack] failed to start: ${e instanceof Error ? e.message : e}`);
  await shutdown(1);
}
