// `npm run bench [-- --quick]`: starts its own local stack (simulated providers, unpaced) and
// the Portkey gateway, measures every figure beside its baseline in the same run, and writes
// bench/results/latest.json, latest.md and the SVG plots beside them:
//   router    smart router decision time (router.ts)
//   web       the web client's gzipped size (web.ts)
//   database  the floor under the gateway: a round trip and a durable commit (database.ts)
//   gateway   /chat vs the provider directly vs Portkey vs a bare proxy, 1 and 50 clients,
//             with CPU per request by part of the system (gateway.ts)
//   streaming time to first token; N streams held open at once, memory per stream (streaming.ts)
//   admission the admit_request RPC at 2,000 requests/s over 100 users, and its exactness
//   realtime  broadcast fan-out and typing round trip (realtime.ts)
// Bounded by request counts and a watchdog; everything binds 127.0.0.1 and stops by itself.
// No thresholds: the report says which of the targets are met.
//
// deno run -A scripts/bench/main.ts [--quick] [--api-port 25441] [--db-port 25442] [--web-port 25443]
// (or NEXUS_BENCH_API_PORT / _DB_PORT / _WEB_PORT)

import { parseArgs } from "node:util";
import { join } from "node:path";
import postgres from "postgres";
import { ROOT, type StackProcess, startStack } from "../lib/stack-process.ts";
import { benchRouter } from "./router.ts";
import { benchWeb } from "./web.ts";
import { benchGateway, gatewayFigures, type GatewayPlan } from "./gateway.ts";
import { startPortkey } from "./portkey.ts";
import { type Peer, startPeer } from "./peer-process.ts";
import { benchHeldStreams, benchTtft, type StreamingPlan } from "./streaming.ts";
import { type AdmissionPlan, benchAdmission } from "./admission.ts";
import { benchRealtime, type RealtimePlan } from "./realtime.ts";
import { writeReport } from "./report.ts";
import { signUpUsers } from "./users.ts";
import { round } from "./stats.ts";
import { elapsedSeconds, log } from "./log.ts";
import { benchDatabaseFloor } from "./database.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    "api-port": { type: "string", default: Deno.env.get("NEXUS_BENCH_API_PORT") ?? "25441" },
    "db-port": { type: "string", default: Deno.env.get("NEXUS_BENCH_DB_PORT") ?? "25442" },
    "web-port": { type: "string", default: Deno.env.get("NEXUS_BENCH_WEB_PORT") ?? "25443" },
  },
});

interface Plan {
  gateway: GatewayPlan;
  streaming: StreamingPlan;
  admission: AdmissionPlan;
  realtime: RealtimePlan;
  /** round trips and durable commits timed for the database floor */
  databaseRuns: number;
  /** the whole run is stopped after this long, whatever it is doing */
  watchdogSeconds: number;
}

const PLANS: Record<"quick" | "full", Plan> = {
  quick: {
    gateway: { rounds: 2, c1Requests: 150, c50Requests: 600, warmup: 30 },
    streaming: { ttftRuns: 40, heldStreams: 1000, tokensPerSecond: 15 },
    admission: { rate: 2000, seconds: 3, users: 100, connections: 16 },
    realtime: { subscribers: 50, ticks: 10, roundTrips: 20 },
    databaseRuns: 200,
    watchdogSeconds: 300,
  },
  full: {
    gateway: { rounds: 4, c1Requests: 600, c50Requests: 3000, warmup: 100 },
    streaming: { ttftRuns: 200, heldStreams: 1000, tokensPerSecond: 15 },
    admission: { rate: 2000, seconds: 15, users: 100, connections: 16 },
    realtime: { subscribers: 100, ticks: 20, roundTrips: 50 },
    databaseRuns: 500,
    watchdogSeconds: 900,
  },
};
const plan = PLANS[values.quick ? "quick" : "full"];

export interface Results {
  when: string;
  quick: boolean;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; loadAverage: number[] };
  gateway: ReturnType<typeof gatewayFigures>;
  database: Awaited<ReturnType<typeof benchDatabaseFloor>>;
  streaming: Awaited<ReturnType<typeof benchTtft>> & Awaited<ReturnType<typeof benchHeldStreams>>;
  admission: Awaited<ReturnType<typeof benchAdmission>>;
  router: ReturnType<typeof benchRouter>;
  realtime: Awaited<ReturnType<typeof benchRealtime>>;
  web: Awaited<ReturnType<typeof benchWeb>>;
}

const machine = {
  cpus: navigator.hardwareConcurrency,
  cpuModel: /model name\s*:\s*(.+)/.exec(await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))?.[1] ??
    "unknown",
  loadAverage: Deno.loadavg().map((x) => round(x)),
};

let stack: StackProcess | undefined;
/** The peer servers running (Portkey, the bare proxy). */
const peers: Peer[] = [];
const stopPeers = async () => {
  for (const peer of peers.splice(0)) await peer.stop();
};
/** Stops what the run started (the peers, the stack) and exits: on the watchdog or a signal. */
async function abandon(why: string, code: number): Promise<never> {
  console.error(`[bench] stopped: ${why}`);
  await stopPeers();
  await stack?.stop();
  Deno.exit(code);
}
const watchdog = setTimeout(
  () => abandon(`the run took longer than ${plan.watchdogSeconds} s`, 1),
  plan.watchdogSeconds * 1000,
);
const onSignal = { SIGINT: () => abandon("SIGINT", 130), SIGTERM: () => abandon("SIGTERM", 143) };
for (const [signal, handler] of Object.entries(onSignal)) {
  Deno.addSignalListener(signal as Deno.Signal, handler);
}

try {
  log("router decision time…");
  const router = benchRouter();
  log(`router: p50 ${router.p50Micros} µs, p99 ${router.p99Micros} µs`);
  const web = await benchWeb();
  log(`web bundle: ${web.bundleGzipKb} KB gzipped`);

  log(
    `starting a fresh local stack on ports ${values["api-port"]}/${values["db-port"]}/${values["web-port"]}…`,
  );
  stack = await startStack({
    name: "bench",
    ports: { api: values["api-port"]!, db: values["db-port"]!, web: values["web-port"]! },
    env: { NEXUS_SIMULATOR_TPS: "0", NEXUS_SIMULATOR_FIRST_TOKEN_MS: "0" },
  });
  const info = stack.info as StackProcess["info"] & { functions?: Record<string, string> };
  const chatFunction = info.functions?.chat;
  if (!chatFunction) throw new Error("stack.json has no functions.chat (the chat function's own URL)");
  const sql = postgres(info.dbUrl, { max: 4, onnotice: () => {} });
  try {
    // one enterprise user per client, so no per-user limit is what we measure
    const users = await signUpUsers(info, sql, 50, "enterprise");
    log("signed up 50 enterprise users");

    const database = await benchDatabaseFloor(sql, plan.databaseRuns);
    log(
      `database floor: round trip p50 ${database.roundTripP50Ms} ms, durable commit p50 ${database.commitP50Ms} ms`,
    );

    const portkey = await startPortkey();
    peers.push(portkey);
    log(`Portkey gateway on ${portkey.url}`);
    const bare = await startPeer("bare-proxy", Deno.execPath(), [
      "run",
      "--allow-net",
      new URL("./bare-proxy.ts", import.meta.url).pathname,
      info.simulators.openai,
    ]);
    peers.push(bare);
    log(`bare proxy on ${bare.url}`);
    const endpoints = {
      simulator: info.simulators.openai,
      chatFunction,
      apiUrl: info.apiUrl,
      anonKey: info.anonKey,
      portkey: portkey.url,
      bare: bare.url,
      users,
      processes: {
        stackPid: stack.pid,
        dbPort: Number(values["db-port"]),
        portkeyPid: portkey.pid,
        barePid: bare.pid,
      },
    };
    let run;
    try {
      run = await benchGateway(endpoints, plan.gateway);
    } finally {
      await stopPeers();
    }

    const streamEnv = { ...endpoints, stackPid: stack.pid, sql };
    log("streaming: time to first token…");
    const ttft = await benchTtft(streamEnv, plan.streaming.ttftRuns);
    log(`TTFT p50 direct ${ttft.ttftDirectP50Ms} ms, NEXUS ${ttft.ttftNexusP50Ms} ms`);
    log(`streaming: ${plan.streaming.heldStreams} streams held to completion…`);
    const held = await benchHeldStreams(streamEnv, plan.streaming);
    log(
      `held ${held.peakOpenStreams} at once, ${held.errors} errors, ${held.unsettled} unsettled, ` +
        `${held.memoryPerStreamKb} KB per stream`,
    );

    log(`admission: ${plan.admission.rate} requests/s for ${plan.admission.seconds} s…`);
    const admission = await benchAdmission(info.dbUrl, plan.admission);
    log(`admission: ${admission.rps} req/s, p99 ${admission.p99Ms} ms, exact ${admission.exact}`);

    log("realtime fan-out…");
    const realtime = await benchRealtime(info, plan.realtime);
    log(`realtime fan-out p50 ${realtime.fanoutP50Ms} ms, p99 ${realtime.fanoutP99Ms} ms`);

    const results: Results = {
      when: new Date().toISOString(),
      quick: values.quick!,
      durationSeconds: Math.round(elapsedSeconds()),
      machine,
      gateway: gatewayFigures(run),
      database,
      streaming: { ...ttft, ...held },
      admission,
      router,
      realtime,
      web,
    };
    const dir = join(ROOT, "bench", "results");
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "latest.json"), JSON.stringify(results, null, 2) + "\n");
    console.log("\n" + await writeReport(dir, results));
    log("wrote bench/results/latest.json, latest.md and the plots beside them");
  } finally {
    await sql.end();
  }
} finally {
  clearTimeout(watchdog);
  await stopPeers();
  await stack?.stop();
  for (const [signal, handler] of Object.entries(onSignal)) {
    Deno.removeSignalListener(signal as Deno.Signal, handler);
  }
}
