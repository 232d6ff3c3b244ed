// The Markdown report and its SVG plots, written beside latest.json. Ratios are given next to
// every figure and each target of the issue is stated as met or NOT met: nothing fails the run.

import { join } from "node:path";
import { barChart, lineChart } from "./svg.ts";
import { CPU_PARTS, type CpuPart, type GatewayFigures, type TargetName, TARGETS } from "./gateway.ts";
import type { Results } from "./main.ts";

const LABELS: Record<TargetName, string> = {
  direct: "direct (simulator)",
  nexus: "NEXUS /chat (function)",
  nexusViaOrigin: "NEXUS /chat via origin",
  portkey: "Portkey gateway",
  bare: "bare proxy (no features)",
};

const CPU_LABELS: Record<CpuPart, string> = {
  chatFunction: "chat function",
  postgres: "Postgres",
  stack: "stack (simulator, origin, realtime)",
  portkey: "Portkey",
  bare: "bare proxy",
  client: "load client",
};

/** One load level's figures of every target. */
const pick = (g: GatewayFigures, key: "c1" | "c50") =>
  Object.fromEntries(TARGETS.map((t) => [t, g[t][key]])) as Record<
    TargetName,
    GatewayFigures["direct"]["c1"]
  >;

const ratio = (a: number, b: number) => (b ? `${(a / b).toFixed(2)}×` : "—");
const met = (ok: boolean | null) =>
  ok === null ? "inconclusive (the baseline was slower here: machine noise)" : ok ? "met" : "**NOT met**";
const sign = (x: number) => (x >= 0 ? `+${x}` : `${x}`);

function gatewayTables(g: GatewayFigures, d: Results["database"]): string[] {
  const run = { c1: pick(g, "c1"), c50: pick(g, "c50") };
  const rows1 = TARGETS.map((t) => {
    const s = run.c1[t];
    return `| ${LABELS[t]} | ${s.p50Ms} | ${s.p99Ms} | ${
      t === "direct"
        ? "—"
        : `${sign(Math.round((s.p50Ms - run.c1.direct.p50Ms) * 100) / 100)} / ${
          sign(Math.round((s.p99Ms - run.c1.direct.p99Ms) * 100) / 100)
        }`
    } | ${s.rps} | ${s.requests} | ${s.errors} |`;
  });
  const rows50 = TARGETS.map((t) => {
    const s = run.c50[t];
    return `| ${LABELS[t]} | ${s.rps} | ${ratio(s.rps, run.c50.direct.rps)} | ${
      ratio(s.rps, run.c50.portkey.rps)
    } | ${s.p50Ms} | ${s.p99Ms} | ${s.requests} | ${s.errors} |`;
  });
  return [
    "## Gateway overhead",
    "",
    "The same non-streaming request (gpt-4o-mini, a short unique prompt) to the simulated OpenAI provider",
    "directly, to `POST /functions/v1/chat` at the chat function's own process (auth, admission, routing,",
    "provider call and metering all on; no conversationId, so each request also stores a new conversation",
    "and its messages, as the API does), to the same through the local stack's origin, and through the",
    "open-source Portkey gateway pointed at the same simulator, and through a bare pass-through proxy (Deno.serve",
    "+ fetch and nothing else: no auth, no database, no logging), the floor under any gateway here. Every answer",
    "was checked (status 200, the simulator's reply to that prompt). Targets take turns in rounds so machine",
    "noise falls on all of them.",
    "",
    "**1 client** (latency)",
    "",
    "| target | p50 ms | p99 ms | overhead vs direct p50 / p99 ms | req/s | requests | errors |",
    "|---|---|---|---|---|---|---|",
    ...rows1,
    "",
    "**50 clients** (throughput)",
    "",
    "| target | req/s | vs direct | vs Portkey | p50 ms | p99 ms | requests | errors |",
    "|---|---|---|---|---|---|---|---|",
    ...rows50,
    "",
    `NEXUS at the function: p50 overhead **${g.overheadP50Ms} ms** (target ≤ 1 ms: ${
      met(g.targets.overheadP50.met)
    }), p99 overhead **${g.overheadP99Ms} ms** (target ≤ 5 ms: ${met(g.targets.overheadP99.met)}), ` +
    `throughput at 50 clients **${g.throughputVsPortkey}×** Portkey's (target ≥ 4×: ${
      met(g.targets.throughputVsPortkey.met)
    }), while doing auth, admission and metering that Portkey's open-source gateway does not. ` +
    `Through the origin: p50 overhead ${g.viaOrigin.overheadP50Ms} ms, p99 ${g.viaOrigin.overheadP99Ms} ms, ` +
    `${g.viaOrigin.throughputVsPortkey}× Portkey. Portkey's own overhead: p50 ${g.portkeyOverheadP50Ms} ms, ` +
    `p99 ${g.portkeyOverheadP99Ms} ms.`,
    "",
    `The floor on this machine: a Postgres round trip takes p50 ${d.roundTripP50Ms} ms (p99 ${d.roundTripP99Ms}), ` +
    `a durable commit (WAL flushed, synchronous_commit ${d.synchronousCommit}) p50 ${d.commitP50Ms} ms ` +
    `(p99 ${d.commitP99Ms})` +
    (d.commitAfterPauseP50Ms === undefined
      ? ""
      : `, and after an idle pause of ${d.pauseMs} ms (as admissions arrive at one client) p50 ` +
        `${d.commitAfterPauseP50Ms} ms (p99 ${d.commitAfterPauseP99Ms})`) +
    `. /chat commits its admission before it calls the provider, so its overhead cannot ` +
    `go below the commit figure here, plus the bare proxy's hop (p50 ${g.bareOverheadP50Ms} ms, p99 ` +
    `${g.bareOverheadP99Ms} ms).`,
    "",
    ...cpuTable(g),
    "",
    `Where /chat's time goes at 1 client (p50 of its Server-Timing phases, ms; settling runs after the answer): ${
      Object.entries(g.nexusPhasesP50Ms).map(([k, v]) => `${k} ${v}`).join(", ")
    }.`,
    "",
    "![latency at 1 client](gateway-latency-c1.svg)",
    "![latency at 50 clients](gateway-latency-c50.svg)",
    "![throughput at 50 clients](gateway-throughput-c50.svg)",
    "",
  ];
}

/** CPU per request at 50 clients: what each target's throughput is made of. */
function cpuTable(g: GatewayFigures): string[] {
  const used = (t: TargetName) => CPU_PARTS.filter((part) => g.cpuPerRequestMs[t][part] >= 0.05);
  const rows = TARGETS.map((t) =>
    `| ${LABELS[t]} | ${g.cpuPerRequestMs[t].total} | ${
      used(t).map((part) => `${CPU_LABELS[part]} ${g.cpuPerRequestMs[t][part]}`).join(", ")
    } |`
  );
  const nexus = g.cpuPerRequestMs.nexus, bare = g.cpuPerRequestMs.bare;
  return [
    `**CPU per request at 50 clients** (ms, all processes of the system on ${g.cores} cores; with the`,
    "cores saturated, requests/s ≈ cores / CPU per request):",
    "",
    "| target | CPU ms/request | of which |",
    "|---|---|---|",
    ...rows,
    "",
    `Portkey's 4× is ${
      Math.round(4 * g.portkey.rps)
    } req/s here: ${g.cpuBudgetAt4xMs} ms of CPU per request ` +
    `for everything, load client and simulated provider included. The bare proxy's request alone uses ` +
    `${bare.total} ms (its ceiling: ${g.bareThroughputVsPortkey}× Portkey), which leaves ` +
    `${Math.round((g.cpuBudgetAt4xMs - bare.total) * 1000) / 1000} ms for auth, admission, routing and ` +
    `metering; /chat's Postgres work alone is ${nexus.postgres} ms and its function ${nexus.chatFunction} ms.`,
  ];
}

export async function writeReport(dir: string, results: Results): Promise<string> {
  const { gateway: g, streaming: s, admission: a, router: r, realtime: rt, web: w } = results;
  const refused = Object.entries(a.refused).map(([k, v]) => `${v} ${k}`).join(", ") || "0";
  const curves = (key: "c1" | "c50") =>
    lineChart({
      title: `Latency by percentile, ${key === "c1" ? "1 client" : "50 clients"}`,
      yLabel: "ms",
      xLabels: g.percentiles.at.map((p) => `p${p}`),
      series: TARGETS.map((t) => ({ name: LABELS[t], values: g.percentiles[key][t] })),
    });
  await Deno.writeTextFile(join(dir, "gateway-latency-c1.svg"), curves("c1"));
  await Deno.writeTextFile(join(dir, "gateway-latency-c50.svg"), curves("c50"));
  await Deno.writeTextFile(
    join(dir, "gateway-throughput-c50.svg"),
    barChart({
      title: "Throughput at 50 clients",
      yLabel: "requests/s",
      bars: TARGETS.map((t) => ({ label: LABELS[t], value: g[t].c50.rps })),
    }),
  );
  await Deno.writeTextFile(
    join(dir, "streaming-ttft.svg"),
    barChart({
      title: "Time to first token (p50)",
      yLabel: "ms",
      bars: [
        { label: "direct (simulator)", value: s.ttftDirectP50Ms },
        { label: "NEXUS /chat (function)", value: s.ttftNexusP50Ms },
      ],
    }),
  );

  const lines = [
    "# Benchmark results",
    "",
    `${results.when} · ${
      results.quick ? "quick run (`--quick`)" : "full run"
    } · ${results.machine.cpus} CPUs ` +
    `(${results.machine.cpuModel}) · load average at start ${results.machine.loadAverage.join(" / ")} · ` +
    `${results.durationSeconds} s`,
    "",
    "Local stack with simulated providers (unpaced unless stated), everything on 127.0.0.1 on this machine; each",
    "figure is measured beside its baseline in the same run. Figures are for watching; none fails the run.",
    "",
    "## Targets",
    "",
    "| figure | target | measured | |",
    "|---|---|---|---|",
    `| gateway p50 overhead, 1 client | ≤ 1 ms | ${g.overheadP50Ms} ms | ${met(g.targets.overheadP50.met)} |`,
    `| gateway p99 overhead, 1 client | ≤ 5 ms | ${g.overheadP99Ms} ms | ${met(g.targets.overheadP99.met)} |`,
    `| throughput at 50 clients vs Portkey | ≥ 4× | ${g.throughputVsPortkey}× | ${
      met(g.targets.throughputVsPortkey.met)
    } |`,
    `| answers checked, all targets | 0 errors | ${g.errors} errors | ${met(g.errors === 0)} |`,
    `| concurrent streams held to completion | 0 errors | ${s.errors} errors, ${s.unsettled} unsettled | ${
      met(s.errors === 0 && s.unsettled === 0)
    } |`,
    `| admission RPC rate reached | ${a.targetRps} req/s | ${a.rps} req/s (p99 ${a.p99Ms} ms) | ${
      met(a.rps >= a.targetRps * 0.95)
    } |`,
    `| admission exactness | all invariants | ${a.exact ? "exact" : "NOT exact"} | ${met(a.exact)} |`,
    "",
    ...gatewayTables(g, results.database),
    "## Streaming",
    "",
    "Time to first token, one stream at a time, direct to the simulator vs `/chat` at the chat function:",
    "",
    "| | p50 ms | p99 ms |",
    "|---|---|---|",
    `| direct | ${s.ttftDirectP50Ms} | ${s.ttftDirectP99Ms} |`,
    `| NEXUS /chat | ${s.ttftNexusP50Ms} | ${s.ttftNexusP99Ms} |`,
    `| overhead | ${s.ttftOverheadMs} | |`,
    "",
    `${s.concurrentStreams} streams started within about a second (provider paced at ${s.providerTokensPerSecond} ` +
    `tokens/s), each read to its end: at most ${s.peakOpenStreams} open at once, ${s.errors} errors, ` +
    `${s.unsettled} left unsettled afterwards, ${s.heldSeconds} s in all. The chat function's memory went from ` +
    `${Math.round(s.rssBeforeKb / 1024)} MB to a peak of ${Math.round(s.rssPeakKb / 1024)} MB: ` +
    `**${s.memoryPerStreamKb} KB per open stream**.`,
    "",
    "![time to first token](streaming-ttft.svg)",
    "",
    "## Admission",
    "",
    `The admit_request RPC at a target of ${a.targetRps} requests/s (open loop, latency from each request's ` +
    `scheduled start) over ${a.users} users on the four tiers, ${a.connections} pooled connections:`,
    "",
    "| | achieved req/s | p50 ms | p99 ms | requests | admitted | refused | errors | exact |",
    "|---|---|---|---|---|---|---|---|---|",
    `| admit_request | ${a.rps} (${ratio(a.rps, a.targetRps)} of target) | ${a.p50Ms} | ${a.p99Ms} | ` +
    `${a.requests} | ${a.admitted} | ${refused} | ${a.errors} | ${a.exact} |`,
    `| baseline \`select $1::uuid\` | ${a.baseline.rps} | ${a.baseline.p50Ms} | ${a.baseline.p99Ms} | ` +
    `${a.requests} | | | ${a.baseline.errors} | |`,
    "",
    `admit_request's p99 is ${ratio(a.p99Ms, a.baseline.p99Ms)} the baseline's at the same rate.`,
    "",
    `Invariants: ${
      Object.entries(a.invariants).map(([k, v]) => `${k} ${v ? "held" : "**FAILED**"}`).join(", ")
    }.`,
    "",
    "## Router",
    "",
    `Decision time of the smart router over ${r.prompts} labeled prompts (as \`npm run router:eval\` times it): ` +
    `p50 **${r.p50Micros} µs**, p99 **${r.p99Micros} µs**.`,
    "",
    "## Realtime",
    "",
    `Broadcast fan-out to ${rt.subscribers} subscribers (${rt.deliveries} of ${rt.expectedDeliveries} deliveries): ` +
    `p50 **${rt.fanoutP50Ms} ms**, p99 **${rt.fanoutP99Ms} ms** from send to receipt. Typing round trip ` +
    `between two clients: p50 ${rt.typingRoundTripP50Ms} ms, p99 ${rt.typingRoundTripP99Ms} ms.`,
    "",
    "## Web client",
    "",
    `JavaScript bundle: ${w.bundleRawKb} KB, **${w.bundleGzipKb} KB gzipped**; with index.html and style.css ` +
    `${w.totalGzipKb} KB gzipped.`,
    "",
  ];
  const md = lines.join("\n");
  await Deno.writeTextFile(join(dir, "latest.md"), md);
  return md;
}

// Re-renders the report and plots from bench/results/latest.json (no measuring).
if (import.meta.main) {
  const dir = new URL("../../bench/results/", import.meta.url).pathname;
  console.log(await writeReport(dir, JSON.parse(await Deno.readTextFile(join(dir, "latest.json")))));
}
