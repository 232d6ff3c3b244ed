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

function add(reason: string, count: number): void {
  pending.set(reason, (pending.get(reason) ?? 0) + count);
  if (scheduled) return;
  scheduled = true;
  inBackground(new Promise((resolve) => setTimeout(resolve, FLUSH_AFTER_MS)).then(flushRefusals));
}

export function countRefusal(reason: string): void {
  add(reason, 1);
}

export async function flushRefusals(): Promise<void> {
  scheduled = false;
  if (!pending.size) return;
  const tallies = [...pending].map(([reason, count]) => ({ reason, count }));
  pending = new Map();
  try {
    await db()`select public.record_refusals(${functionName}, ${db().json(tallies)})`;
  } catch (e) {
    // Kept for the next flush (the database may be restarting): a counter must not lose counts.
    // The map holds one entry per reason (error codes), so it stays small however long this lasts.
    for (const t of tallies) add(t.reason, t.count);
    throw e;
  }
}

export function recordBreakerOpening(provider: string): void {
  inBackground(db()`select public.record_breaker_opening(${provider})`);
}
