// The money invariants after any load or fault: every admitted request ended exactly once,
// each settled request has exactly one usage record and each released one none, and the
// users' monthly counters equal the requests that count.

import assert from "node:assert/strict";
import { database } from "./users.ts";

/** Waits (up to `timeoutMs`) until none of the users' requests is still admitted. */
export async function allEnded(userIds: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const [{ open }] = await database()`select count(*)::int as open from public.requests
                                        where user_id = any(${userIds}::uuid[]) and status = 'admitted'`;
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} requests still admitted after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface LedgerTotals {
  settled: number;
  released: number;
  usageRecords: number;
}

/** Asserts the invariants for the users and returns their totals. */
export async function assertLedgerExact(userIds: string[]): Promise<LedgerTotals> {
  await allEnded(userIds);
  const rows = await database()`
    select r.user_id,
           count(*) filter (where r.status = 'settled')::int as settled,
           count(*) filter (where r.status = 'released')::int as released,
           count(u.id)::int as usage,
           count(u.id) filter (where r.status <> 'settled')::int as usage_of_unsettled,
           count(*) filter (where r.status = 'settled' and u.id is null)::int as settled_without_usage,
           count(*) filter (where r.status = 'settled' and r.period_start = c.period_start)::int as counted,
           max(c.period_requests) as period_requests
    from public.requests r
    join public.request_counters c on c.user_id = r.user_id
    left join public.usage_records u on u.request_id = r.id
    where r.user_id = any(${userIds}::uuid[])
    group by r.user_id`;
  const totals: LedgerTotals = { settled: 0, released: 0, usageRecords: 0 };
  for (const row of rows) {
    assert.equal(row.usage_of_unsettled, 0, `user ${row.user_id}: a released request has a usage record`);
    assert.equal(
      row.settled_without_usage,
      0,
      `user ${row.user_id}: a settled request lacks its usage record`,
    );
    assert.equal(row.usage, row.settled, `user ${row.user_id}: one usage record per settled request`);
    assert.equal(
      row.period_requests,
      row.counted,
      `user ${row.user_id}: the monthly counter equals its requests`,
    );
    totals.settled += row.settled;
    totals.released += row.released;
    totals.usageRecords += row.usage;
  }
  return totals;
}
