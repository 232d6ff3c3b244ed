// Latency statistics and the two load shapes the benchmarks use: closed loop (N clients, each
// sends its next request when the last one is answered: throughput) and open loop (requests
// start on a fixed schedule whatever the answers do: latency at a given rate, measured from the
// scheduled start so a stalled server cannot hide its queue — no coordinated omission).

export interface Summary {
  p50Ms: number;
  p99Ms: number;
  rps: number;
  requests: number;
  errors: number;
}

/** Nearest-rank percentile of an ascending array (0 when empty). */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** Latencies and how long it took to collect them; merges across rounds. */
export class Sample {
  latencies: number[] = [];
  errors = 0;
  seconds = 0;

  summary(): Summary {
    const s = sorted(this.latencies);
    return {
      p50Ms: round(percentile(s, 50)),
      p99Ms: round(percentile(s, 99)),
      rps: round(this.seconds ? s.length / this.seconds : 0, 1),
      requests: s.length,
      errors: this.errors,
    };
  }
}

/**
 * Closed loop: `requests` calls of `call` from `clients` concurrent clients, added to `into`.
 * `call(client)` resolves to whether the answer was right; a throw counts as an error.
 */
export async function closedLoop(
  clients: number,
  requests: number,
  call: (client: number) => Promise<boolean>,
  into = new Sample(),
): Promise<Sample> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    while (next < requests) {
      next++;
      const t0 = performance.now();
      const ok = await call(client).catch(() => false);
      into.latencies.push(performance.now() - t0);
      if (!ok) into.errors++;
    }
  }));
  into.seconds += (performance.now() - started) / 1000;
  return into;
}

/**
 * Open loop: request i starts at i / rate seconds (timers fire in batches every few ms, so
 * starts are grouped, not late). Latency counts from the scheduled start. Returns when every
 * call has finished; `seconds` runs from the first scheduled start to the last answer.
 */
export async function openLoop(
  rate: number,
  requests: number,
  call: (i: number) => Promise<boolean>,
): Promise<Sample> {
  const sample = new Sample();
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  let i = 0;
  while (i < requests) {
    const now = performance.now();
    // start everything whose time has come
    while (i < requests && started + (i * 1000) / rate <= now) {
      const scheduled = started + (i * 1000) / rate;
      inFlight.push(
        call(i).catch(() => false).then((ok) => {
          sample.latencies.push(performance.now() - scheduled);
          if (!ok) sample.errors++;
        }),
      );
      i++;
    }
    if (i < requests) await sleep(Math.max(0, started + (i * 1000) / rate - performance.now()));
  }
  await Promise.all(inFlight);
  sample.seconds = (performance.now() - started) / 1000;
  return sample;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
