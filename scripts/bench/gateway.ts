// Gateway overhead: one non-streaming chat request (gpt-4o-mini, a short unique prompt) sent to
//   - direct:          the simulated OpenAI provider itself (the baseline);
//   - nexus:           POST /chat at the chat function's own process (auth, admission, routing,
//                      provider call, metering; no conversationId, so each request also stores
//                      a new conversation and its messages), as Portkey's single process is reached;
//   - nexusViaOrigin:  the same through the local stack's origin (its proxy and verify_jwt gate
//                      stand in for Supabase's edge routing);
//   - portkey:         the open-source Portkey gateway pointed at the same simulator;
//   - bare:            a bare pass-through proxy (bare-proxy.ts: Deno.serve + fetch, nothing
//                      else), the floor under any gateway here: one more HTTP hop.
// At 1 client (p50/p99 latency) and 50 clients (throughput). Every answer is checked: status
// 200 and the simulator's reply quoting this request's prompt. The targets take turns in
// rounds (order rotated each round) so background noise on the machine falls on all of them.
// At 50 clients the CPU each part of the system uses is counted per target (processes.ts): on
// a saturated machine, requests/s is cores over CPU per request, so this says where it goes.

import { closedLoop, percentile, round, Sample, sorted, type Summary } from "./stats.ts";
import type { BenchUser } from "./users.ts";
import { log } from "./log.ts";
import { chatFunction, cpuDuring, postgresServer, type ProcessInfo } from "./processes.ts";

export const TARGETS = ["direct", "nexus", "nexusViaOrigin", "portkey", "bare"] as const;
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
  /** the bare pass-through proxy's origin (it forwards /v1/* to the simulator) */
  bare: string;
  users: BenchUser[];
  /** where each part runs: for CPU per request */
  processes: { stackPid: number; dbPort: number; portkeyPid: number; barePid: number };
}

/** The parts of the system whose CPU is counted, each a way to find its processes. */
function cpuGroups(p: GatewayEndpoints["processes"]): Record<CpuPart, (all: ProcessInfo[]) => ProcessInfo[]> {
  const own = (pid: number) => (all: ProcessInfo[]) => all.filter((x) => x.pid === pid);
  return {
    chatFunction: (all) => [chatFunction(p.stackPid, all)].filter((x) => x !== undefined),
    postgres: (all) => postgresServer(p.dbPort, all),
    // the stack's own process: the simulated providers, the origin's proxy, the realtime stand-in
    stack: own(p.stackPid),
    portkey: own(p.portkeyPid),
    bare: own(p.barePid),
    client: own(Deno.pid),
  };
}
export const CPU_PARTS = ["chatFunction", "postgres", "stack", "portkey", "bare", "client"] as const;
export type CpuPart = typeof CPU_PARTS[number];

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
    bare: openAI(`${e.bare}/v1`, {}),
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
  /** CPU per request (ms) of each part of the system, per target, at 50 clients */
  cpuPerRequestMs: Record<TargetName, Record<CpuPart, number>>;
}

export async function benchGateway(e: GatewayEndpoints, plan: GatewayPlan): Promise<GatewayRun> {
  const phases = new PhaseRecorder();
  const calls = targets(e, phases);
  const out = { c1: {}, c50: {}, curves: { c1: {}, c50: {} } } as GatewayRun;
  const groups = cpuGroups(e.processes);
  const cpuMs = Object.fromEntries(
    TARGETS.map((t) => [t, Object.fromEntries(CPU_PARTS.map((part) => [part, 0]))]),
  ) as Record<TargetName, Record<CpuPart, number>>;
  for (
    const [key, clients, requests] of [["c1", 1, plan.c1Requests], ["c50", 50, plan.c50Requests]] as const
  ) {
    const samples = Object.fromEntries(TARGETS.map((t) => [t, new Sample()])) as Record<TargetName, Sample>;
    for (const t of TARGETS) await closedLoop(clients, Math.max(clients, plan.warmup), calls[t]);
    phases.on = clients === 1;
    for (let r = 0; r < plan.rounds; r++) {
      const order = TARGETS.map((_, i) => TARGETS[(i + r) % TARGETS.length]);
      for (const t of order) {
        const work = () => closedLoop(clients, Math.ceil(requests / plan.rounds), calls[t], samples[t]);
        if (clients === 1) {
          await work();
          continue;
        }
        const used = (await cpuDuring(groups, work)).cpuMs;
        for (const part of CPU_PARTS) cpuMs[t][part] += used[part];
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
  out.cpuPerRequestMs = Object.fromEntries(TARGETS.map((t) => {
    const n = out.c50[t].requests;
    return [t, Object.fromEntries(CPU_PARTS.map((part) => [part, n ? round(cpuMs[t][part] / n, 3) : 0]))];
  })) as GatewayRun["cpuPerRequestMs"];
  return out;
}

/** The issue's figures: latency at 1 client, throughput at 50, overheads against direct. */
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
  const bare = overhead("bare");
  const throughputVsPortkey = round(run.c50.nexus.rps / run.c50.portkey.rps);
  const cpuTotal = (t: TargetName) =>
    round(CPU_PARTS.reduce((sum, part) => sum + run.cpuPerRequestMs[t][part], 0), 3);
  const cores = navigator.hardwareConcurrency;
  return {
    direct: figure("direct"),
    nexus: figure("nexus"),
    nexusViaOrigin: figure("nexusViaOrigin"),
    portkey: figure("portkey"),
    bare: figure("bare"),
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
    /** the floor: a bare pass-through proxy's overhead and throughput on this machine */
    bareOverheadP50Ms: bare.p50,
    bareOverheadP99Ms: bare.p99,
    bareThroughputVsPortkey: round(run.c50.bare.rps / run.c50.portkey.rps),
    /** CPU per request (ms) at 50 clients, per target and part of the system, and in all */
    cpuPerRequestMs: Object.fromEntries(
      TARGETS.map((t) => [t, { ...run.cpuPerRequestMs[t], total: cpuTotal(t) }]),
    ) as Record<TargetName, Record<CpuPart | "total", number>>,
    /** all the CPU one request may use, everything included, for 4× Portkey's rate on `cores` */
    cpuBudgetAt4xMs: round((cores * 1000) / (4 * run.c50.portkey.rps), 3),
    cores,
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
