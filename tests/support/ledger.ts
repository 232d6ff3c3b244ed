// The money invariants after any load or fault (scripts/lib/ledger.ts), as assertions.

import assert from "node:assert/strict";
import { database } from "./users.ts";
import { allEnded, checkLedger, type Ledger } from "../../scripts/lib/ledger.ts";

/** Waits until every request of the users ended, asserts the ledger is exact, returns its totals. */
export async function assertLedgerExact(userIds: string[]): Promise<Ledger> {
  await allEnded(database(), userIds);
  const ledger = await checkLedger(database(), userIds);
  assert.deepEqual(ledger.violations, [], "the ledger is exact");
  return ledger;
}
