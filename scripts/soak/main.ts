// `npm run soak`: sustained mixed load against a fresh local stack (simulated providers), for
// --minutes (default 10), then the verdict (issue #8):
//   - zero 5xx answers of our own; a provider storm (every other gpt-4o-mini call 429/500,
//     --storm-seconds, default 60, starting at a fifth of the run) may only cause the clean
//     provider errors of DESIGN.md (502/503/504, or an error event in a stream), none outside
//     the storm, and requests succeed again after it (recovery);
//   - no memory growth trend in any function process: the memory it retains after a full
//     collection (V8 heap used + external, read every 5 s through the stack's heap probe) grows
//     by at most 256 KiB per 1,000 requests it served over the second half of the run
//     (scripts/soak/heap-trend.ts says why);
//   - usage exact: the ledger invariants hold for every soak user, and every completed
//     request's cost as the client was told it equals its usage record's, digit for digit.
// Mixed: streamed and JSON chats over several providers, the router, the OpenAI-compatible
// surface with an API key, response-cache hits, clients leaving mid-stream, reads of models,
// account and conversations. Exits 1 when a criterion fails. Not part of `npm test` or CI.
//
// deno run -A scripts/soak/main.ts [--minutes 10] [--clients 16] [--storm-seconds 60]
//   [--api-port 25471] [--db-port 25472] [--web-port 25473] (or NEXUS_SOAK_API_PORT, _DB_PORT, _WEB_PORT)

import { parseArgs } from "node:util";
import { join } from "node:path";
import postgres from "postgres";
import { ROOT } from "../lib/stack-process.ts";
import { allEnded, checkLedger } from "../lib/ledger.ts";
import { readHeap } from "../stack/heap-probe.ts";
import {
  describeHeapVerdicts,
  type HeapPoint,
  judgeHeap,
  MAX_HEAP_GROWTH_KB_PER_1K_REQUESTS,
} from "./heap-trend.ts";
import { PORT_OPTIONS, signUpSoakUsers, startSoakStack } from "./setup.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "10" },
    clients: { type: "string", default: "16" },
    "storm-seconds": { type: "string", default: "60" },
    ...PORT_OPTIONS,
  },
});
const MINUTES = Number(values.minutes);
const CLIENTS = Number(values.clients);
const STORM_MS = Number(values["storm-seconds"]) * 1000;
/** After a storm, circuits opened by it close again (NEXUS_BREAKER_OPEN_MS below) before we judge. */
const RECOVERY_MS = 8_000;
const USERS = 20;
/** What people ask (the router reads the words: random noise would not be a chat). */
const PROMPTS = [
  "Summarize the plot of Hamlet in three sentences.",
  "Write a TypeScript function that removes duplicates from an array.",
  "What is the derivative of x^3 + 2x?",
  "Suggest a name for a coffee shop by the sea.",
  "Explain how a circuit breaker protects a service from a failing dependency.",
  "Translate 'good morning, how are you?' into Spanish.",
];
const prompt = (random: () => number) =>
  `${PROMPTS[Math.floor(random() * PROMPTS.length)]} (${Math.floor(random() * 1e9)})`;
/** The reads among the load (GET, below /functions/v1/). */
const READS = ["models", "account", "conversations", "account/usage"];
/** Requests of each read before the run's clock starts (see the warm-up below). */
const WARM_UP_PER_READ = 1000;
const MODELS = [
  "gpt-4o-mini",
  "claude-haiku-4-5",
  "gemini-2.0-flash",
  "deepseek-chat",
  "mistral-small",
  "auto",
];

/** A small seeded PRNG (mulberry32), so a run's mix can be repeated. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tally {
  requests: number;
  byStatus: Record<string, number>;
  byKind: Record<string, number>;
  /** request id → the cost the client was told, as its exact digits */
  told: Map<string, string>;
  problems: string[];
  /** Clean provider errors while the storm blew (allowed), and after it ended (not allowed). */
  stormErrors: number;
  okAfterStorm: number;
  /** 5xx answers that are not a storm's provider errors: ours. */
  ours5xx: number;
}

const tally: Tally = {
  requests: 0,
  byStatus: {},
  byKind: {},
  told: new Map(),
  problems: [],
  stormErrors: 0,
  okAfterStorm: 0,
  ours5xx: 0,
};
const storm = { from: Infinity, to: -Infinity };
const inStorm = () => Date.now() >= storm.from && Date.now() <= storm.to + RECOVERY_MS;
/** A failure: allowed during the storm if it is one of the provider errors, else a problem. */
function failed(what: string, status: number, body: string) {
  const providerError = /"code":\s*"provider_(error|unavailable|timeout)"/.test(body) &&
    (status === 200 || [502, 503, 504].includes(status));
  if (providerError && inStorm()) return tally.stormErrors++;
  if (status >= 500) tally.ours5xx++;
  tally.problems.push(`${what} ${status}: ${body.slice(-300)}`);
}
const note = (kind: string, status: number) => {
  tally.requests++;
  tally.byStatus[status] = (tally.byStatus[status] ?? 0) + 1;
  tally.byKind[kind] = (tally.byKind[kind] ?? 0) + 1;
};
/** The cost's digits as sent (JSON.parse would round them to a double). */
const costDigits = (raw: string) => /"cost":\s*(-?[0-9.eE+-]+)/.exec(raw)?.[1];

console.log(
  `[soak] ${MINUTES} min, ${CLIENTS} clients, ${USERS} users; starting a fresh local stack on ports ` +
    `${values["api-port"]}/${values["db-port"]}/${values["web-port"]}…`,
);
const stack = await startSoakStack("soak", values, {
  NEXUS_SIMULATOR_TPS: "400",
  NEXUS_SIMULATOR_FIRST_TOKEN_MS: "20",
  NEXUS_SIMULATOR_REPLY_TOKENS: "60",
  NEXUS_BREAKER_OPEN_MS: "5000",
});
const { apiUrl, dbUrl } = stack.info;
const fn = (path: string) => `${apiUrl}/functions/v1/${path}`;
const sql = postgres(dbUrl, { max: 4, onnotice: () => {} });
let exitCode = 1;

try {
  const users = await signUpSoakUsers(stack, sql, USERS);

  async function chat(user: typeof users[0], random: () => number, stream: boolean, leave: boolean) {
    const model = MODELS[Math.floor(random() * MODELS.length)];
    const cached = !leave && random() < 0.1;
    const abort = new AbortController();
    const res = await fetch(fn("chat"), {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        model,
        stream,
        ...(cached ? { temperature: 0 } : {}),
        messages: [{ role: "user", content: cached ? PROMPTS[0] : prompt(random) }],
      }),
      signal: abort.signal,
    });
    const kind = leave ? "chat-leave" : cached ? "chat-cache" : stream ? "chat-stream" : "chat-json";
    note(kind, res.status);
    const id = res.headers.get("x-request-id")!;
    if (res.status !== 200) return failed(kind, res.status, await res.text());
    if (leave) {
      const reader = res.body!.getReader();
      await reader.read();
      await reader.read();
      abort.abort();
      return await reader.cancel().catch(() => {});
    }
    const raw = await res.text();
    if (raw.includes('"error"')) return failed(`${kind} (in the answer)`, 200, raw);
    if (Date.now() > storm.to + RECOVERY_MS) tally.okAfterStorm++;
    const cost = costDigits(raw.slice(raw.lastIndexOf('"cost"') - 1));
    if (cost === undefined) return tally.problems.push(`${kind}: no cost in the answer`);
    tally.told.set(id, cost);
  }

  async function openai(user: typeof users[0], random: () => number) {
    const stream = random() < 0.5;
    const res = await fetch(fn("openai/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${user.key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        stream,
        ...(stream ? { stream_options: { include_usage: true } } : {}),
        messages: [{ role: "user", content: prompt(random) }],
      }),
    });
    note("openai", res.status);
    const raw = await res.text();
    if (res.status !== 200) return failed("openai", res.status, raw);
    const cost = stream
      ? costDigits(raw.slice(raw.lastIndexOf('"cost"') - 1))
      : res.headers.get("x-nexus-cost");
    if (!cost) return tally.problems.push("openai: no cost");
    tally.told.set(res.headers.get("x-request-id")!, cost);
  }

  async function get(user: typeof users[0], path: string): Promise<number> {
    const res = await fetch(fn(path), { headers: { authorization: `Bearer ${user.token}` } });
    await res.body?.cancel();
    if (res.status !== 200) tally.problems.push(`GET ${path} ${res.status}`);
    return res.status;
  }
  const read = async (user: typeof users[0], random: () => number) =>
    note("read", await get(user, READS[Math.floor(random() * READS.length)]));

  // Warm-up, before the clock starts: the reads' functions serve a few percent of the load, and
  // a function's retained memory rises over its first ~2,000 requests (compiled code, inline
  // caches, its connection pool) before it stays flat. Without this, the judged second half of
  // a short run would be their warm-up. (The chat functions warm up in the first half.)
  console.log(`[soak] warm-up: ${WARM_UP_PER_READ} of each read (${READS.join(", ")})`);
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = c; i < WARM_UP_PER_READ * READS.length; i += CLIENTS) {
      await get(users[Math.floor(i / READS.length) % USERS], READS[i % READS.length]);
    }
  }));

  // Memory: every function's heap after a full collection, every 5 s, the whole run (the
  // verdict reads the second half). A probe that fails (a function that died) fails the run.
  const started = Date.now();
  const ends = started + MINUTES * 60_000;
  const stormStarts = started + MINUTES * 60_000 * 0.2;
  const heaps = new Map<string, HeapPoint[]>(Object.keys(stack.info.functions).map((name) => [name, []]));
  const probeErrors: string[] = [];

  // The storm: from a fifth of the run, every other gpt-4o-mini call fails (429 and 500 in turn);
  // the plan is renewed every few seconds (each rule is used up by one call), then cleared.
  const faults = new URL("/__simulator/faults", stack.info.simulators.openai);
  const stormPlan = JSON.stringify(Array.from({ length: 400 }, (_, i) => ({
    mode: i % 2 === 0 ? "none" : i % 4 === 1 ? "rate_limit" : "server_error",
    retryAfterSeconds: 0,
    model: "gpt-4o-mini",
  })));
  const stormDone = STORM_MS > 0
    ? (async () => {
      await new Promise((r) => setTimeout(r, stormStarts - Date.now()));
      storm.from = Date.now();
      storm.to = storm.from + STORM_MS;
      console.log(`[soak] storm: every other gpt-4o-mini call fails for ${STORM_MS / 1000} s`);
      while (Date.now() < storm.to) {
        await fetch(faults, {
          method: "POST",
          body: stormPlan,
          headers: { "content-type": "application/json" },
        })
          .then((r) => r.body?.cancel());
        await new Promise((r) => setTimeout(r, 3_000));
      }
      await fetch(faults, { method: "DELETE" }).then((r) => r.body?.cancel());
      console.log("[soak] storm over");
    })()
    : Promise.resolve();
  let probing = false;
  const sampler = setInterval(async () => {
    if (probing) return; // (a slow round: skip a beat rather than pile probes up)
    probing = true;
    for (const [name, url] of Object.entries(stack.info.functions)) {
      try {
        heaps.get(name)!.push({ minute: (Date.now() - started) / 60_000, ...await readHeap(url) });
      } catch (e) {
        probeErrors.push(`${name}: ${e}`);
      }
    }
    probing = false;
  }, 5_000);
  const progress = setInterval(() => {
    const minute = ((Date.now() - started) / 60_000).toFixed(1);
    console.log(
      `[soak] ${minute} min: ${tally.requests} requests, statuses ${JSON.stringify(tally.byStatus)}`,
    );
  }, 30_000);

  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    const random = prng(c + 1);
    while (Date.now() < ends) {
      const user = users[Math.floor(random() * users.length)];
      const r = random();
      try {
        if (r < 0.55) await chat(user, random, true, false);
        else if (r < 0.7) await chat(user, random, false, false);
        else if (r < 0.8) await chat(user, random, true, true);
        else if (r < 0.92) await openai(user, random);
        else await read(user, random);
      } catch (e) {
        tally.problems.push(`client error: ${e}`);
      }
    }
  }));
  await stormDone;
  clearInterval(sampler);
  clearInterval(progress);

  // The verdict.
  const userIds = users.map((u) => u.id);
  await allEnded(sql, userIds, 120_000);
  const ledger = await checkLedger(sql, userIds);
  const stored = await sql`select request_id::text as id, cost::text as cost from public.usage_records
                           where request_id = any(${[...tally.told.keys()]}::uuid[])`;
  const storedCost = new Map(stored.map((r) => [r.id, r.cost]));
  // exact decimals: the same digits once trailing zeros of the fraction are dropped
  const digits = (d: string | undefined) => d?.includes(".") ? d.replace(/0+$/, "").replace(/\.$/, "") : d;
  const costMismatches = [...tally.told].filter(([id, told]) => digits(storedCost.get(id)) !== digits(told));
  const fiveXx = Object.entries(tally.byStatus).filter(([s]) => Number(s) >= 500).reduce(
    (n, [, c]) => n + c,
    0,
  );
  // (probes taken after the clock, while the last requests drain, are not under the load)
  const underLoad = (points: HeapPoint[]) => points.filter((p) => p.minute <= MINUTES);
  const functions = Object.fromEntries(
    [...heaps].map(([name, points]) => [name, judgeHeap(underLoad(points), MINUTES / 2)]),
  );
  const memory = {
    measure:
      "V8 heap used + external after a full GC: growth per 1,000 requests served, second half of the run",
    maxGrowthKbPer1kRequests: MAX_HEAP_GROWTH_KB_PER_1K_REQUESTS,
    probeErrors: probeErrors.slice(0, 20),
    functions,
  };
  const recovered = STORM_MS === 0 || tally.okAfterStorm > 0;
  const report = {
    minutes: MINUTES,
    clients: CLIENTS,
    requests: tally.requests,
    rps: Math.round(tally.requests / ((Date.now() - started) / 1000)),
    byKind: tally.byKind,
    byStatus: tally.byStatus,
    fiveXx,
    ours5xx: tally.ours5xx,
    storm: STORM_MS ? { seconds: STORM_MS / 1000, providerErrors: tally.stormErrors, recovered } : null,
    ledger: { ...ledger, violations: ledger.violations.slice(0, 20) },
    costsChecked: tally.told.size,
    costMismatches: costMismatches.slice(0, 20),
    memory,
    problems: tally.problems.slice(0, 20),
  };
  const passed = tally.ours5xx === 0 && ledger.violations.length === 0 && costMismatches.length === 0 &&
    tally.problems.length === 0 && recovered && probeErrors.length === 0 &&
    !Object.values(functions).some((m) => m.growing);
  await Deno.writeTextFile(join(ROOT, ".local", "soak-report.json"), JSON.stringify(report, null, 2) + "\n");
  // every probe of the run, for a closer look at a verdict
  await Deno.writeTextFile(
    join(ROOT, ".local", "soak-heap.json"),
    JSON.stringify(Object.fromEntries(heaps), null, 1) + "\n",
  );
  console.log(JSON.stringify(report, null, 2));
  console.log(describeHeapVerdicts(functions));
  console.log(
    `[soak] ${
      passed ? "PASSED" : "FAILED"
    } (report: .local/soak-report.json; heap probes: .local/soak-heap.json)`,
  );
  exitCode = passed ? 0 : 1;
} finally {
  await sql.end();
  await stack.stop();
}
Deno.exit(exitCode);
