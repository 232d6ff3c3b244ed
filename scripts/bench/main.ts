// `npm run bench`: gateway overhead, measured side by side in one run. The same chat request
// goes (a) straight to the simulated OpenAI provider and (b) through POST /functions/v1/chat
// (auth, admission, provider, metering):
//   - non-streaming at 1 and 50 concurrent clients: p50/p99 latency, throughput, ratios;
//   - streaming at 1 client: time to first token, direct vs through us;
//   - 500 concurrent streams held to completion (paced at 20 tokens/s): errors, and the chat
//     function's memory growth per open stream.
// Writes bench/results/latest.json and latest.md. The simulator answers without pacing except
// where a scenario sets it, so what differs is us. Bounded: fixed request counts. No
// thresholds: figures are for watching.
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

/** Resident memory of the bench stack's chat function process (found below the stack's pid). */
function chatFunctionRssKb(stackPid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry.name)]);
    } catch { /* exited */ }
  }
  for (const pid of children.get(stackPid) ?? []) {
    try {
      if (!Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("/functions/chat/index.ts")) continue;
      const rss = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
      if (rss) return Number(rss[1]);
    } catch { /* exited */ }
  }
  return 0;
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
  ports: { api: "25441", db: "25442", web: "25443" },
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
  // Streaming: time to the first token, direct vs through /chat.
  const ttft = async (url: string, init: RequestInit, isToken: (data: string) => boolean) => {
    const t0 = performance.now();
    const res = await fetch(url, init);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    let first = NaN;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      buffered += r.value;
      if (
        Number.isNaN(first) &&
        buffered.split("\n").some((line) => line.startsWith("data: ") && isToken(line.slice(6)))
      ) {
        first = performance.now() - t0;
      }
    }
    return first;
  };
  const ttftRuns = Math.round(200 * SCALE);
  const directTtft: number[] = [];
  const nexusTtft: number[] = [];
  for (let i = 0; i < ttftRuns; i++) {
    directTtft.push(
      await ttft(`${simulators.openai}/chat/completions`, {
        method: "POST",
        headers: { authorization: "Bearer simulated", "content-type": "application/json" },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          stream: true,
          stream_options: { include_usage: true },
          ...body(n++),
        }),
      }, (d) => d.includes('"content"')),
    );
    nexusTtft.push(
      await ttft(`${apiUrl}/functions/v1/chat`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${tokens[0]}`,
          apikey: anonKey,
          "content-type": "application/json",
        },
        body: JSON.stringify({ model: "gpt-4o-mini", ...body(n++) }),
      }, (d) => d.includes('"delta"')),
    );
  }
  const p = (xs: number[], q: number) => Math.round(percentile([...xs].sort((a, b) => a - b), q) * 100) / 100;
  results.streaming = {
    ttftDirectP50Ms: p(directTtft, 50),
    ttftNexusP50Ms: p(nexusTtft, 50),
    ttftOverheadMs: Math.round((p(nexusTtft, 50) - p(directTtft, 50)) * 100) / 100,
  };
  rows.push(`| 1 | stream TTFT direct | ${p(directTtft, 50)} | ${p(directTtft, 99)} | | |`);
  rows.push(`| 1 | stream TTFT NEXUS | ${p(nexusTtft, 50)} | ${p(nexusTtft, 99)} | | |`);

  // Many streams held open at once: pace the provider so each lasts ~2 s.
  const held = Math.round(500 * SCALE);
  const pace = (body: Record<string, number>) =>
    fetch(new URL("/__simulator/pace", simulators.openai), {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    })
      .then((r) => r.body?.cancel());
  await pace({ tokensPerSecond: 20, firstTokenLatencyMs: 0 });
  const rssBefore = chatFunctionRssKb(stack.pid);
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, chatFunctionRssKb(stack.pid))), 100);
  let streamErrors = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: held }, async (_, i) => {
    try {
      const res = await fetch(`${apiUrl}/functions/v1/chat`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${tokens[i % tokens.length]}`,
          apikey: anonKey,
          "content-type": "application/json",
        },
        body: JSON.stringify({ model: "gpt-4o-mini", ...body(n++) }),
      });
      const text = await res.text();
      if (!res.ok || !text.includes("[DONE]") || text.includes('"error"')) streamErrors++;
    } catch {
      streamErrors++;
    }
  }));
  clearInterval(sampler);
  await pace({ tokensPerSecond: 0, firstTokenLatencyMs: 0 });
  results.streaming = {
    ...results.streaming as object,
    concurrentStreams: held,
    errors: streamErrors,
    heldSeconds: Math.round((performance.now() - t0) / 100) / 10,
    memoryPerStreamKb: Math.round(((peak - rssBefore) / held) * 10) / 10,
  };
  rows.push(
    `| ${held} | streams held to completion | errors ${streamErrors} | memory/stream ${
      (results.streaming as { memoryPerStreamKb: number }).memoryPerStreamKb
    } KB | | |`,
  );

  // Realtime: broadcast fan-out to 100 subscribers, and a typing round trip between two clients.
  const realtimeClient = () =>
    createClient(apiUrl, anonKey, { auth: { persistSession: false, autoRefreshToken: false } });
  const subscribed = (channel: ReturnType<ReturnType<typeof realtimeClient>["channel"]>) =>
    new Promise<void>((resolve, reject) =>
      channel.subscribe((status) =>
        status === "SUBSCRIBED" ? resolve() : status === "CHANNEL_ERROR" && reject(new Error(status))
      )
    );
  const subscribers = Math.round(100 * Math.max(SCALE, 0.5));
  const fanout: number[] = [];
  const receivers = Array.from({ length: subscribers }, () => realtimeClient());
  const sender = realtimeClient();
  try {
    const channels = receivers.map((c) =>
      c.channel("bench:fanout").on(
        "broadcast",
        { event: "tick" },
        ({ payload }) => fanout.push(performance.now() - payload.t),
      )
    );
    for (let i = 0; i < channels.length; i += 25) {
      await Promise.all(channels.slice(i, i + 25).map(subscribed));
    }
    const out = sender.channel("bench:fanout");
    await subscribed(out);
    const ticks = Math.round(20 * Math.max(SCALE, 0.5));
    for (let i = 0; i < ticks; i++) {
      await out.send({ type: "broadcast", event: "tick", payload: { t: performance.now() } });
      await new Promise((r) => setTimeout(r, 50));
    }
    const deadline = Date.now() + 5000;
    while (fanout.length < ticks * subscribers && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }

    // typing: A → B, B answers at once; A measures the round trip
    const [a, b] = [realtimeClient(), realtimeClient()];
    receivers.push(a, b);
    const rtt: number[] = [];
    let pending: ((t: number) => void) | undefined;
    const chA = a.channel("bench:typing").on(
      "broadcast",
      { event: "typing-ack" },
      ({ payload }) => pending?.(payload.t),
    );
    const chB = b.channel("bench:typing");
    chB.on(
      "broadcast",
      { event: "typing" },
      ({ payload }) => chB.send({ type: "broadcast", event: "typing-ack", payload }),
    );
    await Promise.all([subscribed(chA), subscribed(chB)]);
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      const back = new Promise<number>((resolve) => (pending = resolve));
      await chA.send({ type: "broadcast", event: "typing", payload: { t } });
      await Promise.race([
        back.then(() => rtt.push(performance.now() - t)),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
    }
    results.realtime = {
      subscribers,
      deliveries: fanout.length,
      fanoutP50Ms: p(fanout, 50),
      fanoutP99Ms: p(fanout, 99),
      typingRoundTripP50Ms: p(rtt, 50),
      typingRoundTripP99Ms: p(rtt, 99),
    };
    rows.push(
      `| ${subscribers} | realtime fan-out (send → receipt) | ${p(fanout, 50)} | ${p(fanout, 99)} | | |`,
    );
    rows.push(`| 2 | typing round trip | ${p(rtt, 50)} | ${p(rtt, 99)} | | |`);
  } finally {
    await Promise.all([...receivers, sender].map((c) => c.removeAllChannels()));
  }

  const report = [
    "",
    "POST /functions/v1/chat vs the simulated provider directly (gpt-4o-mini)",
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
