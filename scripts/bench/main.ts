// `npm run bench`: gateway overhead, measured side by side in one run. The same non-streaming
// chat request goes (a) straight to the simulated OpenAI provider and (b) through
// POST /functions/v1/chat (auth, admission, provider, metering), at 1 and at 50 concurrent
// clients; it prints p50/p99 latency and throughput for both and their ratio, and writes
// bench/results/latest.json. The simulator answers without pacing, so what differs is us.
// Bounded: a fixed number of requests per scenario. No thresholds: figures are for watching.
//
// deno run -A scripts/bench/main.ts [--quick]

import { parseArgs } from "node:util";
import { join } from "node:path";
import postgres from "postgres";
import { createClient } from "@supabase/supabase-js";
import { ROOT, startStack } from "../lib/stack-process.ts";

const { values } = parseArgs({ args: Deno.args, options: { quick: { type: "boolean", default: false } } });
const SCALE = values.quick ? 0.25 : 1;
const SCENARIOS = [
  { concurrency: 1, requests: Math.round(400 * SCALE), warmup: 50 },
  { concurrency: 50, requests: Math.round(3000 * SCALE), warmup: 200 },
];

interface Figures {
  p50Ms: number;
  p99Ms: number;
  rps: number;
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `requests` calls of `call` with `concurrency` workers; `call(i)` returns whether it succeeded. */
async function measure(
  concurrency: number,
  requests: number,
  call: (worker: number) => Promise<boolean>,
): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    while (next < requests) {
      next++;
      const t0 = performance.now();
      const ok = await call(worker).catch(() => false);
      latencies.push(performance.now() - t0);
      if (!ok) errors++;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    rps: round(requests / seconds),
    errors,
  };
}

const body = (i: number) => ({
  messages: [{ role: "user", content: `Benchmark request ${i}: say something short.` }],
});

console.log("[bench] starting a fresh local stack (simulated providers, no pacing)…");
const stack = await startStack({
  name: "bench",
  ports: { api: "54341", db: "54342", web: "3002" },
  env: { NEXUS_SIMULATOR_TPS: "0", NEXUS_SIMULATOR_FIRST_TOKEN_MS: "0" },
});
const results: Record<string, unknown> = {};
try {
  const { apiUrl, anonKey, dbUrl, simulators } = stack.info;
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });

  // One enterprise user per client, so the per-user rate limit is not what we measure.
  const maxConcurrency = Math.max(...SCENARIOS.map((s) => s.concurrency));
  const tokens: string[] = [];
  for (let i = 0; i < maxConcurrency; i++) {
    const client = createClient(apiUrl, anonKey, {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const { data, error } = await client.auth.signUp({
      email: `bench-${i}-${Date.now()}@example.test`,
      password: "benchmark-password",
    });
    if (error || !data.session) throw new Error(`signUp: ${error?.message}`);
    await sql`select public.set_user_tier(${data.user!.id}, 'enterprise')`;
    tokens.push(data.session.access_token);
  }
  await sql.end();

  let n = 0;
  const direct = async () => {
    const res = await fetch(`${simulators.openai}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer simulated", "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", max_completion_tokens: 4096, ...body(n++) }),
    });
    await res.arrayBuffer();
    return res.ok;
  };
  const gateway = async (worker: number) => {
    const res = await fetch(`${apiUrl}/functions/v1/chat`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${tokens[worker]}`,
        apikey: anonKey,
        "content-type": "application/json",
      },
      body: JSON.stringify({ model: "gpt-4o-mini", stream: false, ...body(n++) }),
    });
    await res.arrayBuffer();
    return res.ok;
  };

  const rows: string[] = [];
  for (const s of SCENARIOS) {
    await measure(s.concurrency, s.warmup, direct);
    await measure(s.concurrency, s.warmup, gateway);
    const d = await measure(s.concurrency, s.requests, direct);
    const g = await measure(s.concurrency, s.requests, gateway);
    results[`c${s.concurrency}`] = {
      direct: d,
      nexus: g,
      overheadP50Ms: Math.round((g.p50Ms - d.p50Ms) * 100) / 100,
      overheadP99Ms: Math.round((g.p99Ms - d.p99Ms) * 100) / 100,
      latencyRatioP50: Math.round((g.p50Ms / d.p50Ms) * 100) / 100,
      throughputRatio: Math.round((g.rps / d.rps) * 100) / 100,
    };
    rows.push(
      `| ${s.concurrency} | direct | ${d.p50Ms} | ${d.p99Ms} | ${d.rps} | ${d.errors} |`,
      `| ${s.concurrency} | NEXUS /chat | ${g.p50Ms} | ${g.p99Ms} | ${g.rps} | ${g.errors} |`,
      `| ${s.concurrency} | ratio NEXUS/direct | ${(g.p50Ms / d.p50Ms).toFixed(2)}× | ${
        (g.p99Ms / d.p99Ms).toFixed(2)
      }× | ${(g.rps / d.rps).toFixed(2)}× | |`,
    );
  }
  const report = [
    "",
    "POST /functions/v1/chat (non-streaming, gpt-4o-mini, simulated provider) vs the provider directly",
    "",
    "| clients | target | p50 ms | p99 ms | req/s | errors |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
  console.log(report);
  const out = join(ROOT, "bench", "results");
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeTextFile(
    join(out, "latest.json"),
    JSON.stringify({ when: new Date().toISOString(), quick: values.quick, gateway: results }, null, 2) + "\n",
  );
  await Deno.writeTextFile(join(out, "latest.md"), report);
  console.log(`[bench] wrote bench/results/latest.json and latest.md`);
} finally {
  await stack.stop();
}
