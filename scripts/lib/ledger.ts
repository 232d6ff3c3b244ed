// The money invariants, checked in the database for a set of users (the fault tests and the
// soak run share them): every admitted request ended, each settled request has exactly one
// usage record and each released one none, and each user's monthly counter equals the
// requests that count. Returns what is wrong (nothing, when exact) and the totals.

import type postgres from "postgres";

export interface Ledger {
  settled: number;
  released: number;
  open: number;
  usageRecords: number;
  violations: string[];
}

export async function checkLedger(sql: postgres.Sql, userIds: string[]): Promise<Ledger> {
  const rows = await sql`
    select r.user_id,
           count(*) filter (where r.status = 'settled')::int as settled,
           count(*) filter (where r.status = 'released')::int as released,
           count(*) filter (where r.status = 'admitted')::int as open,
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
  const ledger: Ledger = { settled: 0, released: 0, open: 0, usageRecords: 0, violations: [] };
  for (const row of rows) {
    const wrong = (what: string) => ledger.violations.push(`user ${row.user_id}: ${what}`);
    if (row.open) wrong(`${row.open} requests still admitted`);
    if (row.usage_of_unsettled) wrong(`${row.usage_of_unsettled} released requests have usage records`);
    if (row.settled_without_usage) wrong(`${row.settled_without_usage} settled requests lack a usage record`);
    if (row.usage !== row.settled) wrong(`${row.usage} usage records for ${row.settled} settled requests`);
    if (row.period_requests !== row.counted) {
      wrong(`monthly counter ${row.period_requests}, requests that count ${row.counted}`);
    }
    ledger.settled += row.settled;
    ledger.released += row.released;
    ledger.open += row.open;
    ledger.usageRecords += row.usage;
  }
  return ledger;
}

/** Waits (up to `timeoutMs`) until none of the users' requests is still admitted. */
export async function allEnded(sql: postgres.Sql, userIds: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const [{ open }] = await sql`select count(*)::int as open from public.requests
                                 where user_id = any(${userIds}::uuid[]) and status = 'admitted'`;
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} requests still admitted after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
