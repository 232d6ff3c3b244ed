// The local stack's heap probe and the soak's memory verdict, on a real function process: the
// functions host starts it with gc() exposed only when NEXUS_FUNCTIONS_HEAP_PROBE is set, the
// probe counts the requests the function served, and the verdict (growth of the memory retained
// after a full collection, per 1,000 requests) tells a function that keeps nothing from ones that
// keep a little more than the soak's threshold per request, in the heap or in ArrayBuffers.

import assert from "node:assert/strict";
import { join } from "node:path";
import { FunctionsHost } from "../../scripts/stack/functions-host.ts";
import { HEAP_PROBE_PATH, readHeap } from "../../scripts/stack/heap-probe.ts";
import {
  type HeapPoint,
  judgeHeap,
  MAX_HEAP_GROWTH_KB_PER_1K_REQUESTS,
  MIN_JUDGED_REQUESTS,
} from "../../scripts/soak/heap-trend.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

// /keep-small keeps 64 doubles (512 bytes) per request: twice the soak's threshold.
const FUNCTION = `
const kept = [];
Deno.serve((req) => {
  const path = new URL(req.url).pathname;
  if (path.endsWith("/keep-small")) kept.push(Array.from({ length: 64 }, () => Math.random()));
  if (path.endsWith("/keep-buffer")) kept.push(new Uint8Array(4096));
  return new Response(path === "${HEAP_PROBE_PATH}" ? "the function's own route" : "ok");
});
`;
assert.ok(MAX_HEAP_GROWTH_KB_PER_1K_REQUESTS * 2 <= 512, "keep-small is above the threshold");

async function withFunction(env: Record<string, string>, use: (url: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const entry = join(dir, "index.ts");
  await Deno.writeTextFile(entry, FUNCTION);
  const host = new FunctionsHost(
    [{ name: "probed", entry, verifyJwt: false }],
    env,
    { keys: [] },
    join(ROOT, "deno.json"),
  );
  try {
    await host.start();
    await use(host.directUrls.probed);
  } finally {
    await host.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function get(url: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return await res.text();
}

/** `count` requests to `path`, the heap read every `count / 10`. */
async function phase(url: string, path: string, count: number): Promise<HeapPoint[]> {
  const points: HeapPoint[] = [];
  for (let i = 0; i <= count; i++) {
    if (i % (count / 10) === 0) points.push({ minute: 0, ...await readHeap(url) });
    if (i < count) await get(`${url}/${path}`);
  }
  return points;
}

Deno.test("with the probe on, a function's retained memory per 1,000 requests tells a leak from none", async () => {
  await withFunction({ NEXUS_FUNCTIONS_HEAP_PROBE: "1" }, async (url) => {
    await phase(url, "nothing", 500); // warm-up: compiled code, the server's buffers
    const before = await readHeap(url);
    const flat = judgeHeap(await phase(url, "nothing", 1000), 0);
    const small = judgeHeap(await phase(url, "keep-small", 1000), 0);
    const buffers = judgeHeap(await phase(url, "keep-buffer", 1000), 0);
    // the probe counts the function's requests, not itself
    assert.equal((await readHeap(url)).served - before.served, 3000);

    for (const v of [flat, small, buffers]) assert.ok(v.judged && v.requests === 1000, JSON.stringify(v));
    assert.equal(flat.growing, false, JSON.stringify(flat));
    assert.equal(small.growing, true, JSON.stringify(small));
    assert.equal(buffers.growing, true, JSON.stringify(buffers));
    // 4 KiB of ArrayBuffer per request: external memory, which the verdict counts
    assert.ok(buffers.growthKbPer1kRequests! >= 4000, JSON.stringify(buffers));
  });
});

Deno.test("without NEXUS_FUNCTIONS_HEAP_PROBE there is no probe: /__heap is the function's", async () => {
  await withFunction({}, async (url) => {
    assert.equal(await get(new URL(HEAP_PROBE_PATH, url).href), "the function's own route");
    await assert.rejects(readHeap(url), /NEXUS_FUNCTIONS_HEAP_PROBE/);
  });
});

Deno.test("the verdict: judged over enough requests, when the probes pin the growth down to ±a third of the threshold", () => {
  const series = (requestsPerProbe: number, bytesPerRequest: number, noise: number[]) =>
    noise.map((n, i): HeapPoint => ({
      minute: i,
      served: i * requestsPerProbe,
      heapUsed: 20e6 + i * requestsPerProbe * bytesPerRequest + n,
      external: 1e6,
      heapTotal: 40e6,
      rss: 90e6,
    }));
  const noise = [0, 90e3, -60e3, 40e3, -90e3, 70e3, -20e3, 50e3, -80e3, 10e3];
  // 60 requests between probes: ±90 kB of in-flight noise swamps any per-request figure
  const noisy = judgeHeap(series(60, 0, noise), 0);
  assert.ok(noisy.requests >= MIN_JUDGED_REQUESTS && noisy.standardErrorKb! > 85, JSON.stringify(noisy));
  assert.equal(noisy.judged, false);
  assert.equal(noisy.growing, false);
  // however clean the line, under MIN_JUDGED_REQUESTS it is not a trend to judge
  const few = judgeHeap(series(40, 2000, noise.map(() => 0)), 0);
  assert.deepEqual([few.requests, few.judged, few.growing], [360, false, false]);
  // 1,000 between probes: the same noise is a few KiB per 1,000 requests
  const flat = judgeHeap(series(1000, 0, noise), 0);
  assert.ok(flat.judged && !flat.growing && Math.abs(flat.growthKbPer1kRequests!) < 20, JSON.stringify(flat));
  const leak = judgeHeap(series(1000, 400, noise), 0);
  assert.ok(leak.judged && leak.growing, JSON.stringify(leak));
  assert.ok(Math.abs(leak.growthKbPer1kRequests! - 400 * 1000 / 1024) < 20, JSON.stringify(leak));
  // only the points from the given minute on
  assert.equal(judgeHeap(series(1000, 0, noise), 5).samples, 5);
  // a function nobody called: nothing to judge by
  const idle = judgeHeap(series(0, 0, noise), 0);
  assert.deepEqual([idle.requests, idle.growthKbPer1kRequests, idle.judged, idle.growing], [
    0,
    null,
    false,
    false,
  ]);
});
