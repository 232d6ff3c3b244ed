// The database floor under the gateway figures, measured on the bench's own cluster: one
// client, taking turns, a read round trip (`select 1`) and a durable commit (a transactional
// WAL message, flushed to disk at commit as any write is, with synchronous_commit on). /chat
// commits its admission before it calls the provider, so its overhead cannot go below the
// commit figure on the same machine. The commit is timed twice: back to back, and after an idle
// pause as long as a gateway request's cycle, which is how admissions arrive at one client (an
// idle machine, and a virtual one most of all, answers its first wake-up and flush more slowly).

import type postgres from "postgres";
import { percentile, round, sorted } from "./stats.ts";

/** About one gateway request's cycle at one client. */
const PAUSE_MS = 5;

export async function benchDatabaseFloor(sql: postgres.Sql, runs: number) {
  const read: number[] = [], commit: number[] = [], commitAfterPause: number[] = [];
  const timed = async (into: number[], query: () => Promise<unknown>) => {
    const t0 = performance.now();
    await query();
    into.push(performance.now() - t0);
  };
  for (let i = 0; i < runs; i++) {
    await timed(read, () => sql`select 1`);
    await timed(commit, () => sql`select pg_logical_emit_message(true, 'nexus-bench', 'commit')`);
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    await timed(commitAfterPause, () => sql`select pg_logical_emit_message(true, 'nexus-bench', 'commit')`);
  }
  const [r, c, p] = [sorted(read), sorted(commit), sorted(commitAfterPause)];
  const [{ synchronous_commit }] = await sql`show synchronous_commit`;
  return {
    roundTripP50Ms: round(percentile(r, 50)),
    roundTripP99Ms: round(percentile(r, 99)),
    commitP50Ms: round(percentile(c, 50)),
    commitP99Ms: round(percentile(c, 99)),
    pauseMs: PAUSE_MS,
    commitAfterPauseP50Ms: round(percentile(p, 50)),
    commitAfterPauseP99Ms: round(percentile(p, 99)),
    synchronousCommit: synchronous_commit as string,
  };
}
