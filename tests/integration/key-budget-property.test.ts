// API-key budgets under real concurrency, at the database: random interleavings of admissions
// through two budgeted keys, a key without a budget and the user's own session, with ends in
// batches (end_requests), one by one, twice at once and by the sweeper, from several
// connections. A budget is never exceeded, not even for a moment (spent + reserved, read while
// the run goes on), no lock waits in a circle (a deadlock is an error here), and afterwards
// nothing is reserved and each key's spend is exactly its usage records. Seeded and bounded; it
// prints the seed when it fails.

import assert from "node:assert/strict";
import postgres from "postgres";
import { newUser } from "../support/users.ts";
import { stack } from "../support/stack.ts";
import { assertLedgerExact } from "../support/ledger.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const SEED = Number(Deno.env.get("NEXUS_PROPERTY_SEED") ?? Date.now() % 100_000);
const WORKERS = 8;
const OPERATIONS = 500;
const WORST_CASES = ["0.001", "0.0025", "0.004"];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

Deno.test({
  name:
    `random interleavings through API keys never exceed a budget and return every reservation (seed ${SEED})`,
  ...opts,
  fn: async () => {
    const sql = postgres(stack().dbUrl, { max: WORKERS + 2, onnotice: () => {} });
    try {
      const user = await newUser("key-prop");
      await sql`select public.set_user_tier(${user.id}, 'enterprise')`; // no rate limit or quota in the way
      const keys = await sql`
        insert into public.api_keys (user_id, name, prefix, key_hash, monthly_budget)
        select ${user.id}, 'prop ' || n, 'nx_prop' || n, md5(${user.id} || n) || md5(n || ${user.id}),
               budget
        from (values (1, 0.02), (2, 0.0105), (3, null)) as b(n, budget)
        returning id, key_hash, monthly_budget`;

      const random = rng(SEED);
      const open: string[] = [];
      const outcomes = { admitted: 0, refused: 0, ended: 0, noop: 0, swept: 0 };
      let running = true;
      let next = 0;

      // Reads every budgeted key while the workers run: spent + reserved never exceeds the budget.
      let overBudget = 0;
      const monitor = (async () => {
        let reads = 0;
        while (running || reads === 0) {
          const over = await sql`select id from public.api_keys
                                 where user_id = ${user.id} and period_spend + reserved_spend > monthly_budget`;
          overBudget += over.length;
          reads++;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();

      const candidate = (
        i: number,
      ) => [{ model: "gpt-4o-mini", provider: "openai", worstCaseCost: WORST_CASES[i] }];
      const ending = (id: string, settle: boolean, worst: string) =>
        settle
          ? {
            kind: "settle",
            requestId: id,
            inputTokens: 3,
            outputTokens: 5,
            // at most the worst case, as the pipeline's costs are
            cost: (Number(worst) * 0.6).toFixed(6),
            priceVersion: "prop",
            latencyMs: 1,
            status: "complete",
            content: "ok",
          }
          : { kind: "release", requestId: id, reason: "prop" };
      const worstOf = new Map<string, string>();

      const work = async () => {
        while (next < OPERATIONS) {
          const op = random();
          const pick = random();
          next++;
          if (op < 0.5 || open.length === 0) {
            const id = crypto.randomUUID();
            const i = Math.floor(pick * WORST_CASES.length);
            const via = Math.floor(random() * 4); // 0-2: a key, 3: the user's own session
            const [{ r }] = via < 3
              ? await sql`select public.admit_key_request(${keys[via].key_hash}, ${id}, ${
                sql.json(candidate(i))
              }) as r`
              : await sql`select public.admit_request(${user.id}, ${id}, ${sql.json(candidate(i))}) as r`;
            if (r.admitted) {
              outcomes.admitted++;
              open.push(id);
              worstOf.set(id, WORST_CASES[i]);
            } else {
              outcomes.refused++;
              assert.equal(r.code, "quota_exceeded", JSON.stringify(r));
              assert.match(r.message, /budget/);
            }
          } else if (op < 0.8) {
            // a batch of up to four ends, settles and releases mixed, maybe of requests already ended
            const batch = Array.from(
              { length: 1 + Math.floor(pick * 4) },
              () => open[Math.floor(random() * open.length)],
            );
            const endings = [...new Set(batch)].map((id) => ending(id, random() < 0.6, worstOf.get(id)!));
            const [{ n }] = await sql`select public.end_requests(${sql.json(endings)}) as n`;
            outcomes[n > 0 ? "ended" : "noop"] += Math.max(n, 1);
          } else if (op < 0.97) {
            const id = open[Math.floor(pick * open.length)];
            const settle = () =>
              sql`select (public.settle_request(${id}, 3, 5, ${
                (Number(worstOf.get(id)) * 0.3).toFixed(6)
              }, 'prop', 1, 'complete', 'ok') ->> 'settled')::boolean as ok`;
            const release = () => sql`select public.release_request(${id}, 'prop') as ok`;
            const batch = () =>
              sql`select public.end_requests(${sql.json([ending(id, true, worstOf.get(id)!)])}) = 1 as ok`;
            const calls = op > 0.92 ? [settle(), release(), batch()] : [op < 0.86 ? settle() : release()];
            const ended = (await Promise.all(calls)).filter(([row]) => row.ok).length;
            assert.ok(ended <= 1, "a request ends at most once");
            outcomes[ended ? "ended" : "noop"]++;
          } else {
            const [{ n }] = await sql`select public.release_stale_requests(interval '0 seconds') as n`;
            outcomes.swept += n;
          }
        }
      };
      try {
        await Promise.all(Array.from({ length: WORKERS }, work));
      } finally {
        running = false;
        await monitor;
      }
      assert.equal(overBudget, 0, `a key was seen over its budget mid-run (seed ${SEED})`);
      await sql`select public.release_stale_requests(interval '0 seconds')`;

      const money = await sql`
        select k.monthly_budget::text as budget, k.reserved_spend = 0 as nothing_held,
               k.period_spend <= coalesce(k.monthly_budget, k.period_spend) as within_budget,
               exists (select 1 from public.requests r where r.api_key_id = k.id) as used
        from public.api_keys k where k.user_id = ${user.id} order by k.monthly_budget nulls last`;
      for (const key of money) {
        assert.equal(key.nothing_held, true, `nothing held once all ended (seed ${SEED})`);
        assert.equal(key.within_budget, true, `spent within the budget (seed ${SEED})`);
        assert.equal(key.used, true, "every key was used");
      }
      await assertLedgerExact([user.id]);
      assert.ok(
        outcomes.admitted > 0 && outcomes.refused > 0 && outcomes.ended > 0 && outcomes.noop > 0,
        `exercised every path: ${JSON.stringify(outcomes)} (seed ${SEED})`,
      );
    } finally {
      await sql.end();
    }
  },
});
