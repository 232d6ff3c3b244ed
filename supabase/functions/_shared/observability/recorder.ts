// Counts that have no row of their own — refused requests, circuit openings — recorded from
// function instances. Refusals are tallied in memory and flushed in one statement a second
// later, so a flood of refused requests costs the database one write per second per instance,
// not one per request.

import { db } from "../db.ts";
import { inBackground } from "../background.ts";

const FLUSH_AFTER_MS = 1_000;

let functionName = "unknown";
let pending = new Map<string, number>();
let scheduled = false;

/** Names the function whose refusals this instance records. */
export function setRecorderFunction(name: string): void {
  functionName = name;
}

export function countRefusal(reason: string): void {
  pending.set(reason, (pending.get(reason) ?? 0) + 1);
  if (scheduled) return;
  scheduled = true;
  inBackground(new Promise((resolve) => setTimeout(resolve, FLUSH_AFTER_MS)).then(flushRefusals));
}

export async function flushRefusals(): Promise<void> {
  scheduled = false;
  if (!pending.size) return;
  const tallies = [...pending].map(([reason, count]) => ({ reason, count }));
  pending = new Map();
  await db()`select public.record_refusals(${functionName}, ${db().json(tallies)})`;
}

export function recordBreakerOpening(provider: string): void {
  inBackground(db()`select public.record_breaker_opening(${provider})`);
}
