// The metrics snapshot (public.metrics_snapshot) in Prometheus's text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Everything is a total since
// the beginning, read from Postgres, so it is the same whichever function instance answers.

/** Latency histogram bounds, ms (the `le` labels are in seconds). */
export const LATENCY_BUCKETS_MS = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000];

export interface MetricsSnapshot {
  requests: { provider: string; model: string; outcome: string; count: number }[];
  inFlight: { provider: string; model: string; count: number }[];
  latency: { bucketCounts: Record<string, number>; count: number; sumMs: number };
  refusals: { function: string; reason: string; count: number }[];
  attempts: { provider: string; outcome: string; count: number }[];
  retries: number;
  breakerOpenings: { provider: string; count: number }[];
  cost: { provider: string; model: string; usd: string }[];
  tokens: { input: number; output: number };
}

type Labels = Record<string, string>;

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function sample(name: string, labels: Labels, value: number | string): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${value}`;
}

function family(name: string, type: "counter" | "gauge" | "histogram", help: string, samples: string[]) {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples];
}

export function prometheusText(m: MetricsSnapshot): string {
  // width_bucket index i counts latencies at most bound i (index = number of bounds below)
  let cumulative = 0;
  const buckets = LATENCY_BUCKETS_MS.map((bound, i) => {
    cumulative += Number(m.latency.bucketCounts[String(i)] ?? 0);
    return sample("nexus_request_duration_seconds_bucket", { le: String(bound / 1000) }, cumulative);
  });
  const lines = [
    ...family(
      "nexus_requests_total",
      "counter",
      "Admitted requests that ended, by provider, model and how (complete, partial, error, cancelled, cached, released).",
      m.requests.map((r) =>
        sample("nexus_requests_total", { provider: r.provider, model: r.model, outcome: r.outcome }, r.count)
      ),
    ),
    ...family(
      "nexus_requests_in_flight",
      "gauge",
      "Admitted requests not ended yet, by provider and model.",
      m.inFlight.map((r) =>
        sample("nexus_requests_in_flight", { provider: r.provider, model: r.model }, r.count)
      ),
    ),
    ...family(
      "nexus_request_duration_seconds",
      "histogram",
      "Time from admission to the end of the answer, of requests that produced one (cache hits left out).",
      [
        ...buckets,
        sample("nexus_request_duration_seconds_bucket", { le: "+Inf" }, m.latency.count),
        sample("nexus_request_duration_seconds_sum", {}, Number(m.latency.sumMs) / 1000),
        sample("nexus_request_duration_seconds_count", {}, m.latency.count),
      ],
    ),
    ...family(
      "nexus_refusals_total",
      "counter",
      "Requests refused with a 4xx, by function and reason (the API error code).",
      m.refusals.map((r) =>
        sample("nexus_refusals_total", { function: r.function, reason: r.reason }, r.count)
      ),
    ),
    ...family(
      "nexus_provider_attempts_total",
      "counter",
      "Provider calls by provider and outcome (ok, rate_limited, overloaded, timeout, server_error, client_error, network, circuit_open, stream_error: a call that broke after its answer began, time_limit: cut short by the request's own time limit).",
      m.attempts.map((a) =>
        sample("nexus_provider_attempts_total", { provider: a.provider, outcome: a.outcome }, a.count)
      ),
    ),
    ...family(
      "nexus_provider_errors_total",
      "counter",
      "Failed provider calls by provider and error class.",
      // a call our own time limit cut short is no failure of the provider's
      m.attempts.filter((a) => a.outcome !== "ok" && a.outcome !== "time_limit").map((a) =>
        sample("nexus_provider_errors_total", { provider: a.provider, class: a.outcome }, a.count)
      ),
    ),
    ...family(
      "nexus_provider_retries_total",
      "counter",
      "Provider calls beyond the first, over answered requests.",
      [
        sample("nexus_provider_retries_total", {}, m.retries),
      ],
    ),
    ...family(
      "nexus_breaker_openings_total",
      "counter",
      "Times a function instance's circuit breaker for a provider opened.",
      m.breakerOpenings.map((b) => sample("nexus_breaker_openings_total", { provider: b.provider }, b.count)),
    ),
    ...family(
      "nexus_cost_usd_total",
      "counter",
      "Cost charged to users, USD, by provider and model (exact decimal).",
      m.cost.map((c) => sample("nexus_cost_usd_total", { provider: c.provider, model: c.model }, c.usd)),
    ),
    ...family("nexus_tokens_total", "counter", "Billed tokens by direction.", [
      sample("nexus_tokens_total", { direction: "input" }, m.tokens.input),
      sample("nexus_tokens_total", { direction: "output" }, m.tokens.output),
    ]),
  ];
  return lines.join("\n") + "\n";
}
