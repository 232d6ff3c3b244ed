// Admission: the admit_request RPC (the one database round trip before a provider is called)
// at a fixed rate over many users, as the chat functions call it (postgres.js, several pooled
// connections, the service connection). Open loop, so latency counts from each request's
// scheduled start. Its baseline: a trivial query through the same pool at the same rate.
// Users get the four tiers in turn, so the free (20/min) and, in a longer run,
// the pro (100/min) users hit their limits while the others do not.
//
// Then every admitted request is ended: even ones settled with a distinct exact cost, odd ones
// released; a sample is ended a second time (each way) and must change nothing. "exact" means
// every invariant below held:
//   ledger       the requests admitted are exactly the rows left 'admitted' in the ledger
//   counters     each user's period counter equals the number admitted to them
//   rateLimit    no user's minute window holds more than the plan's limit, and any window in
//                which a request was refused as rate_limited holds exactly the limit (min(N, R))
//   quota        a quota_exceeded refusal only once the month holds exactly the quota
//   endedOnce    every admitted request settled or released by the first call, never a second
//   afterEnd     counters equal the settled count (releases gave their counts back), one usage
//                record per settled request, nothing left 'admitted'
//   money        per user, the sum of usage costs equals the sum of the costs settled, exactly

import postgres from "postgres";
import { formatUnits, toUnits } from "../../supabase/functions/_shared/money.ts";
import { openLoop } from "./stats.ts";
import { insertUsers } from "./users.ts";

export interface AdmissionPlan {
  rate: number;
  seconds: number;
  users: number;
  connections: number;
}

const TIERS = ["free", "pro", "team", "enterprise"];
const CANDIDATES = [{ model: "gpt-4o-mini", provider: "openai", worstCaseCost: "0.0012", tiers: null }];

interface Outcome {
  user: string;
  id: string;
  admitted: boolean;
  code?: string;
  /** epoch seconds of the minute window the answer speaks of */
  window?: number;
}

/** A distinct exact cost per request (12 decimals, as real per-token prices give). */
const costOf = (i: number) => formatUnits(BigInt(((i * 7919) % 999_983) + 1) * 10n ** 6n);

export async function benchAdmission(dbUrl: string, plan: AdmissionPlan) {
  const sql = postgres(dbUrl, { max: plan.connections, onnotice: () => {} });
  try {
    const tiers = Array.from({ length: plan.users }, (_, i) => TIERS[i % TIERS.length]);
    const users = await insertUsers(sql, tiers);
    // every connection opened and the statement prepared before the clock starts
    await Promise.all(Array.from({ length: plan.connections }, () => sql`select 1`));
    const limits = new Map<string, { rpm: number; quota: number | null }>();
    for (
      const row of await sql`select s.user_id, p.requests_per_minute, p.monthly_quota
      from public.subscriptions s join public.plans p using (tier) where s.user_id = any(${users}::uuid[])`
    ) {
      limits.set(row.user_id, { rpm: row.requests_per_minute, quota: row.monthly_quota });
    }

    const total = Math.round(plan.rate * plan.seconds);
    // the baseline: a trivial query through the same pool at the same rate (the round trip and
    // the driver, without the RPC's work)
    const baseline = (await openLoop(plan.rate, total, async () => {
      const id = crypto.randomUUID();
      const [row] = await sql`select ${id}::uuid as id`;
      return row.id === id;
    })).summary();
    const outcomes: Outcome[] = new Array(total);
    const sample = await openLoop(plan.rate, total, async (i) => {
      const user = users[i % users.length], id = crypto.randomUUID();
      const [{ r }] = await sql`select public.admit_request(${user}, ${id}, ${sql.json(CANDIDATES)}) as r`;
      outcomes[i] = {
        user,
        id,
        admitted: r.admitted,
        code: r.code,
        window: r.quota ? Number(r.quota.minuteResetAt) - 60 : undefined,
      };
      return r.admitted || r.code === "rate_limited" || r.code === "quota_exceeded";
    });
    const summary = sample.summary();
    const done = outcomes.filter(Boolean);
    const admitted = done.filter((o) => o.admitted);
    const invariants: Record<string, boolean> = {};

    // ledger and counters, before anything is ended
    const open =
      await sql`select id from public.requests where user_id = any(${users}::uuid[]) and status = 'admitted'`;
    const openIds = new Set(open.map((r) => r.id));
    invariants.ledger = openIds.size === admitted.length && admitted.every((o) => openIds.has(o.id));
    const perUser = new Map<string, number>();
    for (const o of admitted) perUser.set(o.user, (perUser.get(o.user) ?? 0) + 1);
    const counters = await sql`select user_id, period_requests from public.request_counters
      where user_id = any(${users}::uuid[])`;
    invariants.counters = counters.length === users.length &&
      counters.every((c) => c.period_requests === (perUser.get(c.user_id) ?? 0));
    const windows = new Map<string, number>();
    for (
      const row
        of await sql`select user_id, extract(epoch from minute_window)::bigint as w, count(*)::int as n
      from public.requests where user_id = any(${users}::uuid[]) group by 1, 2`
    ) {
      windows.set(`${row.user_id}@${row.w}`, row.n);
    }
    invariants.rateLimit = [...windows].every(([key, n]) => n <= limits.get(key.split("@")[0])!.rpm) &&
      done.filter((o) => o.code === "rate_limited").every((o) =>
        windows.get(`${o.user}@${o.window}`) === limits.get(o.user)!.rpm
      );
    invariants.quota = done.filter((o) => o.code === "quota_exceeded")
      .every((o) => perUser.get(o.user) === limits.get(o.user)!.quota);

    // end each admitted request once, then try again (each way) on a sample
    const ender = async (o: Outcome, k: number) => {
      if (k % 2 === 0) {
        const [{ ok }] = await sql`select (public.settle_request(${o.id}, 12, 34, ${
          costOf(k)
        }::numeric, 'bench',
          1, 'complete') ->> 'settled')::boolean as ok`;
        return ok as boolean;
      }
      const [{ ok }] = await sql`select public.release_request(${o.id}, 'bench') as ok`;
      return ok as boolean;
    };
    const first = await inParallel(admitted, plan.connections, ender);
    const again = admitted.slice(0, 400);
    const second = [
      ...await inParallel(again, plan.connections, ender),
      ...await inParallel(again, plan.connections, (o, k) => ender(o, k + 1)),
    ];
    invariants.endedOnce = first.every(Boolean) && !second.some(Boolean);

    const settledByUser = new Map<string, { n: number; cost: bigint }>();
    admitted.forEach((o, k) => {
      if (k % 2) return;
      const s = settledByUser.get(o.user) ?? { n: 0, cost: 0n };
      settledByUser.set(o.user, { n: s.n + 1, cost: s.cost + toUnits(costOf(k)) });
    });
    const after = await sql`select c.user_id, c.period_requests,
        (select count(*)::int from public.usage_records u where u.user_id = c.user_id) as records,
        (select coalesce(sum(cost), 0)::text from public.usage_records u where u.user_id = c.user_id) as cost,
        (select count(*)::int from public.requests r where r.user_id = c.user_id and r.status = 'admitted') as open
      from public.request_counters c where c.user_id = any(${users}::uuid[])`;
    invariants.afterEnd = after.every((row) => {
      const s = settledByUser.get(row.user_id)?.n ?? 0;
      return row.period_requests === s && row.records === s && row.open === 0;
    });
    invariants.money = after.every((row) =>
      toUnits(row.cost) === (settledByUser.get(row.user_id)?.cost ?? 0n)
    );

    const refusals: Record<string, number> = {};
    for (const o of done) if (!o.admitted) refusals[o.code!] = (refusals[o.code!] ?? 0) + 1;
    return {
      targetRps: plan.rate,
      rps: summary.rps,
      p50Ms: summary.p50Ms,
      p99Ms: summary.p99Ms,
      requests: total,
      users: plan.users,
      connections: plan.connections,
      admitted: admitted.length,
      refused: refusals,
      errors: summary.errors + (total - done.length),
      baseline: { rps: baseline.rps, p50Ms: baseline.p50Ms, p99Ms: baseline.p99Ms, errors: baseline.errors },
      exact: Object.values(invariants).every(Boolean),
      invariants,
    };
  } finally {
    await sql.end();
  }
}

/** Runs `fn` over `items` with at most `width` calls at once; results in order. */
async function inParallel<T, R>(
  items: T[],
  width: number,
  fn: (item: T, k: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k], k);
    }
  }));
  return out;
}
