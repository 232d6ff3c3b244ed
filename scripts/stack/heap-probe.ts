// The local stack's opt-in heap probe (NEXUS_FUNCTIONS_HEAP_PROBE): how much of a function's V8
// heap is still in use after a full garbage collection, and how many requests it has served.
// That, not RSS, says whether a function leaks: V8 grows its heap lazily and the allocator keeps
// freed pages, so RSS rises with warm-up and load peaks and need never come down.
//
// The runner answers GET /__heap on the function's own loopback port (stack.json's `functions`).
// No function's route can be /__heap (each lives under /<name>), and the functions host only
// forwards /functions/v1/<name>/…, so the probe is not reachable through the API origin.

export const HEAP_PROBE_PATH = "/__heap";
/** Marks the probe's answer (without the probe, /__heap is whatever the function answers). */
const PROBE_HEADER = "x-nexus-heap-probe";

export interface HeapReading {
  /** V8 heap in use after a full collection, bytes */
  heapUsed: number;
  heapTotal: number;
  external: number;
  rss: number;
  /** Requests the function has been handed (probes not counted) */
  served: number;
}

type Handler<I> = (req: Request, info: I) => Response | Promise<Response>;

/** The function's handler with the probe in front, when gc() is exposed (--expose-gc); else as is. */
export function withHeapProbe<I>(handler: Handler<I>): Handler<I> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") return handler;
  let served = 0;
  return (req, info) => {
    if (!req.url.endsWith(HEAP_PROBE_PATH) || new URL(req.url).pathname !== HEAP_PROBE_PATH) {
      served++;
      return handler(req, info);
    }
    // Twice: objects kept alive only by weak callbacks of the first pass go in the second.
    gc();
    gc();
    const { heapUsed, heapTotal, external, rss } = Deno.memoryUsage();
    const reading: HeapReading = { heapUsed, heapTotal, external, rss, served };
    return Response.json(reading, { headers: { [PROBE_HEADER]: "1" } });
  };
}

/** A function's heap reading from its own origin (as stack.json's `functions` gives it). */
export async function readHeap(functionUrl: string): Promise<HeapReading> {
  const res = await fetch(new URL(HEAP_PROBE_PATH, functionUrl));
  if (!res.ok || !res.headers.has(PROBE_HEADER)) {
    await res.body?.cancel();
    throw new Error(`no heap probe at ${functionUrl} (${res.status}): is NEXUS_FUNCTIONS_HEAP_PROBE set?`);
  }
  return await res.json();
}
