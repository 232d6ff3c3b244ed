// Runs one Supabase Edge Function the way the edge runtime does: the function module calls
// `Deno.serve(handler)` and the runtime owns the listener. Here the listener is a loopback port
// of the OS's choosing, announced on stdout for the functions host, and `EdgeRuntime.waitUntil`
// keeps background work (metering) alive until it finishes, including across a shutdown. A
// shutdown is announced to the function first with `beforeunload`, as the runtime announces a
// worker's retirement (its wall-clock, CPU or memory limit, or termination), and background
// work then has a bounded grace (NEXUS_WORKER_GRACE_MS, default 10 s): the runtime kills what
// is still pending with the worker.
//
// usage: deno run … function-runner.ts <path/to/index.ts>

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { withHeapProbe } from "./heap-probe.ts";

const entry = Deno.args[0];
if (!entry) {
  console.error("usage: function-runner.ts <entry>");
  Deno.exit(2);
}

const pending = new Set<Promise<unknown>>();
(globalThis as { EdgeRuntime?: unknown }).EdgeRuntime = {
  waitUntil(promise: Promise<unknown>) {
    const tracked = promise.catch((e) => console.error("background task failed:", e))
      .finally(() => pending.delete(tracked));
    pending.add(tracked);
  },
};

type Handler = (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response | Promise<Response>;
let server: Deno.HttpServer | undefined;
const realServe = Deno.serve.bind(Deno);

// deno-lint-ignore no-explicit-any
(Deno as any).serve = (...args: unknown[]) => {
  const handler = args.find((a) => typeof a === "function") as Handler | undefined ??
    (args[0] as { handler?: Handler })?.handler;
  if (!handler) throw new Error("Deno.serve: no handler");
  if (server) throw new Error("Deno.serve called twice in one function");
  server = realServe({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(`NEXUS_LISTENING ${port}`),
  }, withHeapProbe(handler));
  return server;
};

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  dispatchEvent(new CustomEvent("beforeunload", { detail: { reason: "termination" } }));
  const grace = Number(Deno.env.get("NEXUS_WORKER_GRACE_MS")) || 10_000; // unset or not a number: 10 s
  const timeUp = new Promise((r) => setTimeout(r, grace));
  await Promise.race([server?.shutdown(), timeUp]);
  await Promise.race([Promise.allSettled([...pending]), timeUp]);
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);

await import(pathToFileURL(resolve(entry)).href);
