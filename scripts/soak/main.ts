// `npm run soak`: sustained mixed load against a fresh local stack (simulated providers), for
// --minutes (default 10), then the verdict (issue #8):
//   - zero 5xx answers of our own; a provider storm (every other gpt-4o-mini call 429/500,
//     --storm-seconds, default 60, starting at a fifth of the run) may only cause the clean
//     provider errors of DESIGN.md (502/503/504, or an error event in a stream), none outside
//     the storm, and requests succeed again after it (recovery);
//   - no memory growth trend in any function process (RSS sampled every 5 s after a warm-up);
//   - usage exact: the ledger invariants hold for every soak user, and every completed
//     request's cost as the client was told it equals its usage record's, digit for digit.
// Mixed: streamed and JSON chats over several providers, the router, the OpenAI-compatible
// surface with an API key, response-cache hits, clients leaving mid-stream, reads of models,
// account and conversations. Exits 1 when a criterion fails. Not part of `npm test` or CI.
//
// deno run -A scripts/soak/main.ts [--minutes 10] [--clients 16] [--storm-seconds 60]

import { parseArgs } from "node:util";
import { join } from "node:path";
import postgres from "postgres";
import { ROOT, startStack } from "../lib/stack-process.ts";
import { allEnded, checkLedger } from "../lib/ledger.ts";
import { functionRssKb, slope } from "../lib/proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "10" },
    clients: { type: "string", default: "16" },
    "storm-seconds": { type: "string", default: "60" },
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
const MODELS = [
  "gpt-4o-mini",
  "claude-3-5-haiku",
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

console.log(`[soak] ${MINUTES} min, ${CLIENTS} clients, ${USERS} users; starting a fresh local stack…`);
const stack = await startStack({
  name: "soak",
  ports: { api: "25471", db: "25472", web: "25473" },
  env: {
    NEXUS_SIMULATOR_TPS: "400",
    NEXUS_SIMULATOR_FIRST_TOKEN_MS: "20",
    NEXUS_SIMULATOR_REPLY_TOKENS: "60",
    NEXUS_BREAKER_OPEN_MS: "5000",
  },
});
const { apiUrl, anonKey, dbUrl } = stack.info;
const fn = (path: string) => `${apiUrl}/functions/v1/${path}`;
const sql = postgres(dbUrl, { max: 4, onnotice: () => {} });
let exitCode = 1;

try {
  // Users (enterprise, so the plan's limits are not what is exercised) and one API key each.
  const users: { id: string; token: string; key: string }[] = [];
  for (let i = 0; i < USERS; i++) {
    const res = await fetch(`${apiUrl}/auth/v1/signup`, {
      method: "POST",
      headers: { apikey: anonKey, "content-type": "application/json" },
      body: JSON.stringify({ email: `soak-${i}-${Date.now()}@example.test`, password: "soak-password-1" }),
    });
    const session = await res.json();
    await sql`select public.set_user_tier(${session.user.id}, 'enterprise')`;
    const key = await fetch(fn("account/keys"), {
      method: "POST",
      headers: { authorization: `Bearer ${session.access_token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "soak" }),
    }).then((r) => r.json());
    users.push({ id: session.user.id, token: session.access_token, key: key.key });
  }

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

  async function read(user: typeof users[0], random: () => number) {
    const path = ["models", "account", "conversations", "account/usage"][Math.floor(random() * 4)];
    const res = await fetch(fn(path), { headers: { authorization: `Bearer ${user.token}` } });
    note("read", res.status);
    await res.body?.cancel();
    if (res.status !== 200) tally.problems.push(`GET ${path} ${res.status}`);
  }

  // Memory samples: every 5 s, after the first fifth of the run (start-up and JIT warm-up).
  const started = Date.now();
  const ends = started + MINUTES * 60_000;
  const warm = started + MINUTES * 60_000 * 0.2;
  const samples = new Map<string, { x: number; y: number }[]>();

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
      await new Promise((r) => setTimeout(r, warm - Date.now()));
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
  const sampler = setInterval(() => {
    if (Date.now() < warm) return;
    for (const [name, kb] of functionRssKb(stack.pid)) {
      samples.set(name, [...(samples.get(name) ?? []), { x: (Date.now() - started) / 60_000, y: kb }]);
    }
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
  const memory = Object.fromEntries([...samples].map(([name, points]) => {
    const mean = points.reduce((s, p) => s + p.y, 0) / points.length;
    const perMinute = slope(points);
    const window = points.length ? points.at(-1)!.x - points[0].x : 0;
    // a trend: the fitted line grows by more than 15% of the mean and 16 MB over the window;
    // a window under 3 minutes is all warm-up noise, too short to judge
    const growing = window >= 3 && perMinute * window > Math.max(0.15 * mean, 16_384);
    return [name, {
      meanKb: Math.round(mean),
      slopeKbPerMin: Math.round(perMinute),
      windowMin: window,
      growing,
    }];
  }));
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
    tally.problems.length === 0 && recovered && !Object.values(memory).some((m) => m.growing);
  await Deno.writeTextFile(join(ROOT, ".local", "soak-report.json"), JSON.stringify(report, null, 2) + "\n");
  console.log(JSON.stringify(report, null, 2));
  console.log(`[soak] ${passed ? "PASSED" : "FAILED"} (report: .local/soak-report.json)`);
  exitCode = passed ? 0 : 1;
} finally {
  await sql.end();
  await stack.stop();
}
Deno.exit(exitCode);
