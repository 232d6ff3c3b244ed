// The soak's memory verdict for one function: the growth of the memory it retains — V8 heap
// used plus external memory (ArrayBuffers' backing stores live outside the heap), read after a
// full collection (scripts/stack/heap-probe.ts) — per 1,000 requests it served, over the second
// half of the run: the least-squares slope of retained bytes over requests served.
//
// Why these measures: a leak keeps something for each request it serves, so it shows as memory
// that survives collection and grows with the requests served, not with time; RSS does not
// show it (V8 grows its heap lazily, the allocator keeps freed pages). Warm-up is left out: the
// soak warms the lightly used functions up before its clock starts, and judges only the second
// half of the run (compiled code, inline caches and connection pools fill, then stop).

import type { HeapReading } from "../stack/heap-probe.ts";

export interface HeapPoint extends HeapReading {
  /** minutes since the run started */
  minute: number;
}

/**
 * The most a function's retained memory may grow per 1,000 requests: 256 KiB, i.e. 256 bytes
 * kept per request. A leak keeps at least a request's smallest objects — a header, a closure, a
 * log line, a cached row — and usually kilobytes; a warmed-up function's retained memory is flat
 * to within a few KiB per 1,000 requests (the account function: 2.7 over 38,000 requests). And
 * 256 bytes a request is what a function at 100 requests/s would lose in 90 MB a day.
 */
export const MAX_HEAP_GROWTH_KB_PER_1K_REQUESTS = 256;
/**
 * Judged only when the measure can tell that growth from none: the slope's standard error at
 * most a third of the threshold (a function that keeps nothing is then called growing about
 * once in a thousand runs). Noise is what was in flight at a probe; fewer requests, more noise.
 */
const MAX_STANDARD_ERROR = MAX_HEAP_GROWTH_KB_PER_1K_REQUESTS / 3;
/**
 * And only over this many requests at least: over fewer, a single step that is no trend — the
 * pool opening a connection, a cache taking an entry, a function compiled late — reads as the
 * threshold's growth (a 3-minute soak gives the reads' functions ~250 each in its second half).
 */
export const MIN_JUDGED_REQUESTS = 500;
const MIN_JUDGED_SAMPLES = 5;

export interface HeapVerdict {
  /** requests the function served over the judged window, and the probes taken in it */
  requests: number;
  samples: number;
  windowMin: number;
  /** heap used + external after a full collection */
  retainedMb: { first: number; last: number; min: number; max: number };
  rssMb: { first: number; last: number };
  /** the slope, and its standard error (null: no requests, or too few probes) */
  growthKbPer1kRequests: number | null;
  standardErrorKb: number | null;
  judged: boolean;
  growing: boolean;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20 * 100) / 100;
const kbPer1k = (bytesPerRequest: number) => Math.round(bytesPerRequest * 1000 / 1024 * 10) / 10;

/** Judges the points taken at or after `fromMinute`. */
export function judgeHeap(points: HeapPoint[], fromMinute: number): HeapVerdict {
  const window = points.filter((p) => p.minute >= fromMinute);
  const first = window[0];
  const last = window.at(-1);
  const retained = window.map((p) => p.heapUsed + p.external);
  const fit = window.length >= MIN_JUDGED_SAMPLES
    ? fitLine(window.map((p, i) => ({ x: p.served, y: retained[i] })))
    : null;
  const growth = fit ? kbPer1k(fit.slope) : null;
  const standardError = fit ? kbPer1k(fit.standardError) : null;
  const requests = first && last ? last.served - first.served : 0;
  const judged = requests >= MIN_JUDGED_REQUESTS && standardError !== null &&
    standardError <= MAX_STANDARD_ERROR;
  return {
    requests,
    samples: window.length,
    windowMin: first && last ? Math.round((last.minute - first.minute) * 100) / 100 : 0,
    retainedMb: {
      first: mb(retained[0] ?? 0),
      last: mb(retained.at(-1) ?? 0),
      min: mb(retained.length ? Math.min(...retained) : 0),
      max: mb(retained.length ? Math.max(...retained) : 0),
    },
    rssMb: { first: mb(first?.rss ?? 0), last: mb(last?.rss ?? 0) },
    growthKbPer1kRequests: growth,
    standardErrorKb: standardError,
    judged,
    growing: judged && growth! > MAX_HEAP_GROWTH_KB_PER_1K_REQUESTS,
  };
}

/** The verdicts as the console shows them, a function a line. */
export function describeHeapVerdicts(verdicts: Record<string, HeapVerdict>): string {
  const lines = Object.entries(verdicts).map(([name, v]) => {
    const heap = `retained ${v.retainedMb.first.toFixed(2)} → ${v.retainedMb.last.toFixed(2)} MB`;
    const rss = `rss ${v.rssMb.first.toFixed(0)} → ${v.rssMb.last.toFixed(0)} MB`;
    const growth = v.growthKbPer1kRequests === null
      ? ""
      : `${v.growthKbPer1kRequests} ± ${v.standardErrorKb} KiB per 1,000 requests: `;
    const verdict = v.judged
      ? (v.growing ? "GROWING" : "flat")
      : v.requests < MIN_JUDGED_REQUESTS
      ? `not judged (under ${MIN_JUDGED_REQUESTS} requests)`
      : "not judged (too noisy)";
    const requests = `${String(v.requests).padStart(7)} requests`;
    return `  ${name.padEnd(14)} ${requests}  ${heap} (${rss})  ${growth}${verdict}`;
  });
  const title = `memory over the second half (heap used + external after GC; at most ` +
    `${MAX_HEAP_GROWTH_KB_PER_1K_REQUESTS} KiB more per 1,000 requests; judged over ${MIN_JUDGED_REQUESTS}+ ` +
    `requests, known to ±${Math.round(MAX_STANDARD_ERROR)}):`;
  return [title, ...lines].join("\n");
}

/** Least-squares line of y over x: its slope and the slope's standard error. */
export function fitLine(points: { x: number; y: number }[]): { slope: number; standardError: number } | null {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  if (n < 3 || sxx === 0) return null;
  const slope = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
  const residuals = points.reduce((s, p) => s + (p.y - my - slope * (p.x - mx)) ** 2, 0);
  return { slope, standardError: Math.sqrt(residuals / (n - 2) / sxx) };
}
