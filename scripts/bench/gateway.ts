// Gateway overhead: one non-streaming chat request (gpt-4o-mini, a short unique prompt) sent to
//   - direct:          the simulated OpenAI provider itself (the baseline);
//   - nexus:           POST /chat at the chat function's own process (auth, admission, routing,
//                      provider call, metering; no conversationId, so each request also stores
//                      a new conversation and its messages), as Portkey's single process is reached;
//   - nexusViaOrigin:  the same through the local stack's origin (its proxy and verify_jwt gate
//                      stand in for Supabase's edge routing);
//   - portkey:         the open-source Portkey gateway pointed at the same simulator.
// At 1 client (p50/p99 latency) and 50 clients (throughput). Every answer is checked: status
// 200 and the simulator's reply quoting this request's prompt. The targets take turns in
// rounds (order rotated each round) so background noise on the machine falls on all of them.

import { closedLoop, percentile, round, Sample, sorted, type Summary } from "./stats.ts";
import type { BenchUser } from "./users.ts";
import { log } from "./log.ts";

export const TARGETS = ["direct", "nexus", "nexusViaOrigin", "portkey"] as const;
export type TargetName = typeof TARGETS[number];

export interface GatewayPlan {
  rounds: number;
  c1Requests: number;
  c50Requests: number;
  warmup: number;
}

export interface GatewayEndpoints {
  /** the simulated OpenAI base URL (…/v1) */
  simulator: string;
  /** the chat function's own process (…/chat) */
  chatFunction: string;
  /** the stack's origin */
  apiUrl: string;
  anonKey: string;
  portkey: string;
  users: BenchUser[];
}

type Call = (client: number) => Promise<boolean>;

let serial = 0;
/** A short prompt, unique in the run (the response cache must never answer it). */
export function prompt(): string {
  return `Benchmark ${++serial}: say hi.`;
}
/** The simulator's reply quotes the prompt: proof the answer came from it, for this request. */
export const quotes = (content: unknown, text: string) =>
  typeof content === "string" && content.includes(`You said: "${text}"`);

/** Server-Timing phases (auth, parse, route, admit, provider, answer) of /chat answers, while `on`. */
export class PhaseRecorder {
  on = false;
  phases: Record<string, number[]> = {};

  record(header: string | null) {
    if (!this.on || !header) return;
    for (const entry of header.split(",")) {
      const match = /^\s*([\w-]+);dur=([\d.]+)/.exec(entry);
      if (match) (this.phases[match[1]] ??= []).push(Number(match[2]));
    }
  }

  p50s(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.phases).map(([name, xs]) => [name, round(percentile(sorted(xs), 50))]),
    );
  }
}

export function targets(e: GatewayEndpoints, phases = new PhaseRecorder()): Record<TargetName, Call> {
  const openAI = (url: string, headers: Record<string, string>): Call => async () => {
    const text = prompt();
    const res = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer simulated", "content-type": "application/json", ...headers },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: text }],
        max_completion_tokens: 1024,
        stream: false,
      }),
    });
    const json = await res.json();
    return res.status === 200 && quotes(json.choices?.[0]?.message?.content, text);
  };
  const nexus = (url: string): Call => async (client) => {
    const text = prompt();
    const res = await fetch(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${e.users[client % e.users.length].token}`,
        apikey: e.anonKey,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        stream: false,
        messages: [{ role: "user", content: text }],
      }),
    });
    const json = await res.json();
    if (url === e.chatFunction) phases.record(res.headers.get("server-timing"));
    return res.status === 200 && quotes(json.content, text) && typeof json.cost === "number";
  };
  return {
    direct: openAI(e.simulator, {}),
    nexus: nexus(e.chatFunction),
    nexusViaOrigin: nexus(`${e.apiUrl}/functions/v1/chat`),
    portkey: openAI(`${e.portkey}/v1`, {
      "x-portkey-provider": "openai",
      "x-portkey-custom-host": e.simulator,
    }),
  };
}

export const PERCENTILES = [1, 10, 25, 50, 75, 90, 95, 99, 99.9];

export interface GatewayRun {
  c1: Record<TargetName, Summary>;
  c50: Record<TargetName, Summary>;
  /** latency (ms) at each of PERCENTILES, per target, for the plots */
  curves: { c1: Record<TargetName, number[]>; c50: Record<TargetName, number[]> };
  /** p50 of each Server-Timing phase of /chat at the function, 1 client */
  nexusPhasesP50Ms: Record<string, number>;
}

export async function benchGateway(e: GatewayEndpoints, plan: GatewayPlan): Promise<GatewayRun> {
  const phases = new PhaseRecorder();
  const calls = targets(e, phases);
  const out = { c1: {}, c50: {}, curves: { c1: {}, c50: {} } } as GatewayRun;
  for (
    const [key, clients, requests] of [["c1", 1, plan.c1Requests], ["c50", 50, plan.c50Requests]] as const
  ) {
    const samples = Object.fromEntries(TARGETS.map((t) => [t, new Sample()])) as Record<TargetName, Sample>;
    for (const t of TARGETS) await closedLoop(clients, Math.max(clients, plan.warmup), calls[t]);
    phases.on = clients === 1;
    for (let r = 0; r < plan.rounds; r++) {
      const order = TARGETS.map((_, i) => TARGETS[(i + r) % TARGETS.length]);
      for (const t of order) {
        await closedLoop(clients, Math.ceil(requests / plan.rounds), calls[t], samples[t]);
      }
    }
    phases.on = false;
    for (const t of TARGETS) {
      out[key][t] = samples[t].summary();
      const s = sorted(samples[t].latencies);
      out.curves[key][t] = PERCENTILES.map((p) => round(percentile(s, p)));
      log(
        `gateway c${clients} ${t}: p50 ${out[key][t].p50Ms} ms, p99 ${out[key][t].p99Ms} ms, ` +
          `${out[key][t].rps} req/s, ${out[key][t].errors} errors`,
      );
    }
  }
  out.nexusPhasesP50Ms = phases.p50s();
  return out;
}

/** The figures: latency at 1 client, throughput at 50, overheads against direct. */
export function gatewayFigures(run: GatewayRun) {
  const figure = (t: TargetName) => ({
    p50Ms: run.c1[t].p50Ms,
    p99Ms: run.c1[t].p99Ms,
    rps: run.c50[t].rps,
    c1: run.c1[t],
    c50: run.c50[t],
  });
  const direct = run.c1.direct;
  const overhead = (t: TargetName) => ({
    p50: round(run.c1[t].p50Ms - direct.p50Ms),
    p99: round(run.c1[t].p99Ms - direct.p99Ms),
  });
  const nexus = overhead("nexus"), origin = overhead("nexusViaOrigin"), portkey = overhead("portkey");
  const throughputVsPortkey = round(run.c50.nexus.rps / run.c50.portkey.rps);
  return {
    direct: figure("direct"),
    nexus: figure("nexus"),
    nexusViaOrigin: figure("nexusViaOrigin"),
    portkey: figure("portkey"),
    overheadP50Ms: nexus.p50,
    overheadP99Ms: nexus.p99,
    throughputVsPortkey,
    viaOrigin: {
      overheadP50Ms: origin.p50,
      overheadP99Ms: origin.p99,
      throughputVsPortkey: round(run.c50.nexusViaOrigin.rps / run.c50.portkey.rps),
    },
    /** where /chat's time goes at 1 client (its Server-Timing; metering runs after the answer) */
    nexusPhasesP50Ms: run.nexusPhasesP50Ms,
    portkeyOverheadP50Ms: portkey.p50,
    portkeyOverheadP99Ms: portkey.p99,
    errors: TARGETS.reduce((n, t) => n + run.c1[t].errors + run.c50[t].errors, 0),
    /** latency (ms) at each of `at` (percentiles), per target and load: what the plots draw */
    percentiles: { at: PERCENTILES, ...run.curves },
    targets: {
      // a negative overhead means the baseline itself was slower in this run: machine noise, no verdict
      overheadP50: { target: "≤ 1 ms", met: nexus.p50 < 0 ? null : nexus.p50 <= 1 },
      overheadP99: { target: "≤ 5 ms", met: nexus.p99 < 0 ? null : nexus.p99 <= 5 },
      throughputVsPortkey: { target: "≥ 4×", met: throughputVsPortkey >= 4 },
    },
  };
}
export type GatewayFigures = ReturnType<typeof gatewayFigures>;
