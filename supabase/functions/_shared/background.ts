// Work that must finish after the response is sent (metering): handed to the edge runtime's
// EdgeRuntime.waitUntil so the instance stays alive for it, on Supabase and in the local host.

import { log } from "./observability/log.ts";

declare const EdgeRuntime: { waitUntil(p: Promise<unknown>): void } | undefined;

export function inBackground(task: Promise<unknown>): void {
  const guarded = task.catch((e) => log.error("background task failed", { error: String(e) }));
  if (typeof EdgeRuntime !== "undefined") EdgeRuntime.waitUntil(guarded);
}
