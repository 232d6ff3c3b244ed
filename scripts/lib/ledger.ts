// The money invariants, checked in the database for a set of users (the fault tests and the
// soak run share them): every admitted request ended, each settled request has exactly one
// usage record and each released one none, each user's monthly counter equals the
// requests that count, and each of their API keys holds exactly the worst cases of its requests
// in flight and has spent exactly its usage records of its month. Returns what is wrong
// (nothing, when exact) and the totals.

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
  // A key's spend is charged by the month of each settlement (the usage record's created_at);
  // compared in SQL so that 0.30 and 0.3 are the same amount.
  const keys = await sql`
    select k.id, k.reserved_spend::text as reserved, k.period_spend::text as spent, held::text, recorded::text,
           k.reserved_spend <> held as reserved_off, k.period_spend <> recorded as spent_off
    from public.api_keys k
    cross join lateral (select coalesce(sum(r.reserved_cost), 0) as held from public.requests r
                        where r.api_key_id = k.id and r.status = 'admitted') h
    cross join lateral (select coalesce(sum(u.cost), 0) as recorded from public.usage_records u
                        where u.api_key_id = k.id
                          and date_trunc('month', u.created_at at time zone 'utc')::date = k.period_start) c
    where k.user_id = any(${userIds}::uuid[])`;
  for (const key of keys) {
    const wrong = (what: string) => ledger.violations.push(`API key ${key.id}: ${what}`);
    if (key.reserved_off) wrong(`reserves ${key.reserved}, its requests in flight hold ${key.held}`);
    if (key.spent_off) wrong(`spent ${key.spent} this period, its usage records say ${key.recorded}`);
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
