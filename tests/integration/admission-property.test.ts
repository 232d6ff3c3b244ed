// A property test of the admission RPCs under real concurrency: random interleavings of
// admit / settle / release (including the same request ended twice at once) from several
// connections never leave a counter off by one, never admit past a limit, and end every
// request at most once. Seeded, bounded, and it prints the seed when it fails.

import assert from "node:assert/strict";
import postgres from "postgres";
import { newUser } from "../support/users.ts";
import { stack } from "../support/stack.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const SEED = Number(Deno.env.get("NEXUS_PROPERTY_SEED") ?? Date.now() % 100_000);
const WORKERS = 8;
const OPERATIONS = 600;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const candidate = [{ model: "gpt-4o-mini", provider: "openai", worstCaseCost: "0.002" }];

Deno.test({
  name: `random interleavings of admit/settle/release keep counters exact (seed ${SEED})`,
  ...opts,
  fn: async () => {
    // Keep the run inside one minute window so the per-minute invariant is exact.
    const second = new Date().getUTCSeconds();
    if (second > 35) await new Promise((r) => setTimeout(r, (61 - second) * 1000));

    const sql = postgres(stack().dbUrl, { max: WORKERS + 2, onnotice: () => {} });
    try {
      const users = await Promise.all([newUser("prop-a"), newUser("prop-b"), newUser("prop-c")]);
      const ids = users.map((u) => u.id);
      await sql`select public.set_user_tier(${ids[2]}, 'pro')`;
      // user b starts near the end of its monthly quota
      await sql`update public.request_counters set period_requests = 95 where user_id = ${ids[1]}`;

      const random = rng(SEED);
      const plan = Array.from(
        { length: OPERATIONS },
        () => ({ op: random(), user: ids[Math.floor(random() * ids.length)], pick: random() }),
      );
      const open: string[] = []; // admitted request ids, possibly ended already
      const outcomes = { admitted: 0, refused: 0, ended: 0, noop: 0 };

      let next = 0;
      await Promise.all(Array.from({ length: WORKERS }, async () => {
        while (next < plan.length) {
          const { op, user, pick } = plan[next++];
          if (op < 0.5 || open.length === 0) {
            const id = crypto.randomUUID();
            const [{ r }] = await sql`select public.admit_request(${user}, ${id}, ${
              sql.json(candidate)
            }) as r`;
            if (r.admitted) {
              outcomes.admitted++;
              open.push(id);
            } else {
              outcomes.refused++;
              assert.ok(["rate_limited", "quota_exceeded"].includes(r.code), JSON.stringify(r));
            }
          } else {
            const id = open[Math.floor(pick * open.length)];
            const both = op > 0.9; // the same request ended twice, concurrently
            const settle = () =>
              sql`select (public.settle_request(${id}, 10, 20, 0.000123, 'prop', 5, 'complete', 'ok') ->> 'settled')::boolean as ok`;
            const release = () => sql`select public.release_request(${id}, 'prop') as ok`;
            const calls = both ? [settle(), release()] : [op < 0.7 ? settle() : release()];
            const results = await Promise.all(calls);
            const ended = results.filter(([row]) => row.ok).length;
            assert.ok(ended <= 1, "a request ends at most once");
            outcomes[ended ? "ended" : "noop"]++;
          }
        }
      }));

      // Invariants, per user.
      for (const user of ids) {
        const [c] = await sql`select * from public.request_counters where user_id = ${user}`;
        const [plan] =
          await sql`select p.* from public.subscriptions s join public.plans p using (tier) where s.user_id = ${user}`;
        const [live] = await sql`
          select count(*) filter (where period_start = ${c.period_start})::int as period,
                 count(*) filter (where minute_window = ${c.minute_window})::int as minute
          from public.requests where user_id = ${user} and status <> 'released'`;
        const base = user === ids[1] ? 95 : 0;
        assert.equal(c.period_requests, base + live.period, `period counter of ${user} (seed ${SEED})`);
        assert.equal(c.minute_count, live.minute, `minute counter of ${user} (seed ${SEED})`);
        assert.ok(c.minute_count <= plan.requests_per_minute, "never over the rate limit");
        assert.ok(c.period_requests <= plan.monthly_quota, "never over the monthly quota");

        const [ledger] = await sql`
          select count(*) filter (where r.status = 'settled' and u.id is null)::int as settled_without_record,
                 count(*) filter (where r.status <> 'settled' and u.id is not null)::int as record_without_settle,
                 count(u.id)::int as records,
                 count(*) filter (where r.status = 'settled')::int as settled
          from public.requests r left join public.usage_records u on u.request_id = r.id
          where r.user_id = ${user}`;
        assert.equal(ledger.settled_without_record, 0);
        assert.equal(ledger.record_without_settle, 0);
        assert.equal(ledger.records, ledger.settled, "one usage record per settled request");
        const [money] = await sql`
          select coalesce(sum(cost), 0) = count(*) * 0.000123 as exact from public.usage_records where user_id = ${user}`;
        assert.equal(money.exact, true, "the money sum is exact");
      }
      assert.ok(
        outcomes.admitted > 0 && outcomes.refused > 0 && outcomes.ended > 0 && outcomes.noop > 0,
        `exercised every path: ${JSON.stringify(outcomes)}`,
      );
    } finally {
      await sql.end();
    }
  },
});
