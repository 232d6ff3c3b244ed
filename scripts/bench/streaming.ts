// Streaming through /chat:
//   - time to first token: the same streamed request, direct to the simulated provider vs at
//     the chat function's own process, taking turns, one at a time, provider unpaced;
//   - held streams: N streams started within about a second against a provider paced at a few
//     tokens per second, so they are all open together, each read to its end ([DONE], no error
//     event). The chat function's resident memory is sampled meanwhile; memory per stream is
//     its growth at the peak divided by the most streams open at once. Afterwards every one of
//     those requests must be settled (metering kept up).

import type postgres from "postgres";
import { prompt, quotes } from "./gateway.ts";
import { openLoop, percentile, round, sleep, sorted } from "./stats.ts";
import type { BenchUser } from "./users.ts";
import { chatFunction } from "./processes.ts";

export interface StreamingPlan {
  ttftRuns: number;
  heldStreams: number;
  /** provider pace while streams are held */
  tokensPerSecond: number;
}

export interface StreamingEndpoints {
  simulator: string;
  chatFunction: string;
  anonKey: string;
  users: BenchUser[];
  /** the stack's process id: the chat function runs below it */
  stackPid: number;
  sql: postgres.Sql;
}

/** Reads an SSE response to its end; the time to the first data line `isToken` accepts. */
async function readStream(res: Response, t0: number, isToken: (data: string) => boolean) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let first = NaN;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    text += r.value;
    if (Number.isNaN(first) && text.split("\n").some((l) => l.startsWith("data: ") && isToken(l.slice(6)))) {
      first = performance.now() - t0;
    }
  }
  return { text, ttft: first };
}

function chatRequest(e: StreamingEndpoints, user: BenchUser, text: string): Promise<Response> {
  return fetch(e.chatFunction, {
    method: "POST",
    headers: { authorization: `Bearer ${user.token}`, apikey: e.anonKey, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: text }] }),
  });
}

/** A complete, correct stream of /chat: deltas quoting the prompt, a cost event, [DONE], no error. */
function streamIsComplete(sse: string, text: string): boolean {
  const events = sse.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
  if (events.at(-1) !== "[DONE]") return false;
  const parsed = events.slice(0, -1).map((d) => JSON.parse(d));
  const content = parsed.map((p) => p.delta ?? "").join("");
  return !parsed.some((p) => p.error) && parsed.some((p) => typeof p.cost === "number") &&
    quotes(content, text);
}

export async function benchTtft(e: StreamingEndpoints, runs: number) {
  const direct: number[] = [], nexus: number[] = [];
  let errors = 0;
  for (let i = 0; i < runs; i++) {
    let text = prompt();
    let t0 = performance.now();
    const d = await readStream(
      await fetch(`${e.simulator}/chat/completions`, {
        method: "POST",
        headers: { authorization: "Bearer simulated", "content-type": "application/json" },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: text }],
          stream: true,
          stream_options: { include_usage: true },
        }),
      }),
      t0,
      (data) => data.includes('"content":"'),
    );
    direct.push(d.ttft);
    text = prompt();
    t0 = performance.now();
    const n = await readStream(
      await chatRequest(e, e.users[0], text),
      t0,
      (data) => data.includes('"delta"'),
    );
    nexus.push(n.ttft);
    if (Number.isNaN(d.ttft) || Number.isNaN(n.ttft) || !streamIsComplete(n.text, text)) errors++;
  }
  const p = (xs: number[], q: number) => round(percentile(sorted(xs.filter((x) => !Number.isNaN(x))), q));
  return {
    ttftDirectP50Ms: p(direct, 50),
    ttftDirectP99Ms: p(direct, 99),
    ttftNexusP50Ms: p(nexus, 50),
    ttftNexusP99Ms: p(nexus, 99),
    ttftOverheadMs: round(p(nexus, 50) - p(direct, 50)),
    ttftRuns: runs,
    ttftErrors: errors,
  };
}

/** Resident memory (KB) of the chat function process, found below the stack's process. */
export function chatFunctionRssKb(stackPid: number): number {
  const fn = chatFunction(stackPid);
  try {
    const rss = fn && /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${fn.pid}/status`));
    return rss ? Number(rss[1]) : 0;
  } catch {
    return 0; // exited meanwhile
  }
}

async function setPace(simulator: string, pace: { tokensPerSecond: number; firstTokenLatencyMs: number }) {
  const res = await fetch(new URL("/__simulator/pace", simulator), {
    method: "POST",
    body: JSON.stringify(pace),
    headers: { "content-type": "application/json" },
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`simulator pace: ${res.status}`);
}

export async function benchHeldStreams(e: StreamingEndpoints, plan: StreamingPlan) {
  await setPace(e.simulator, { tokensPerSecond: plan.tokensPerSecond, firstTokenLatencyMs: 0 });
  const since = new Date();
  const rssBefore = chatFunctionRssKb(e.stackPid);
  let peakRss = rssBefore, open = 0, peakOpen = 0, errors = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, chatFunctionRssKb(e.stackPid))), 100);
  const started = performance.now();
  try {
    // all started within about a second (open loop), each read to its end
    await openLoop(plan.heldStreams, plan.heldStreams, async (i) => {
      const text = prompt();
      const res = await chatRequest(e, e.users[i % e.users.length], text);
      peakOpen = Math.max(peakOpen, ++open);
      try {
        const { text: sse } = await readStream(res, 0, () => false);
        if (res.status !== 200 || !streamIsComplete(sse, text)) errors++;
      } finally {
        open--;
      }
      return true;
    }).then((sample) => (errors += sample.errors));
  } finally {
    clearInterval(sampler);
    await setPace(e.simulator, { tokensPerSecond: 0, firstTokenLatencyMs: 0 });
  }
  const heldSeconds = round((performance.now() - started) / 1000, 1);

  // Metering runs after each response: give it a moment, then count what is still open.
  const users = e.users.map((u) => u.id);
  let unsettled = 0;
  for (let wait = 0; wait < 100; wait++) {
    const [row] = await e.sql`select count(*)::int as n from public.requests
      where user_id = any(${users}::uuid[]) and admitted_at >= ${since} and status = 'admitted'`;
    unsettled = row.n;
    if (!unsettled) break;
    await sleep(100);
  }
  return {
    concurrentStreams: plan.heldStreams,
    peakOpenStreams: peakOpen,
    errors,
    unsettled,
    heldSeconds,
    rssBeforeKb: rssBefore,
    rssPeakKb: peakRss,
    memoryPerStreamKb: round((peakRss - rssBefore) / Math.max(1, peakOpen), 1),
    providerTokensPerSecond: plan.tokensPerSecond,
  };
}
